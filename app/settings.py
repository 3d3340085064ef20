"""Every setting of the assistant in one table: its name, default, validation and where it
may be given. Precedence: command-line flag > environment variable > TOML file > default.

The TOML file is named by ``--config`` or ``PRIVACY_ASSISTANT_CONFIG``. `Settings.load` is
called once at start-up (the CLI) and the result is passed down; library code that is
used without the CLI (tests, benchmarks) calls it with no flags. The README's settings
table is this module's `KNOBS`, in order.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from app.errors import InputError

ENV_CONFIG = "PRIVACY_ASSISTANT_CONFIG"


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if not raw.strip().isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"a whole number {low}–{high:,}")
        return int(raw)

    return parse


def _number(low: float, high: float | None = None) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not (value >= low and (high is None or value <= high)):
            raise ValueError(f"a number {low:g} or more" + (f", at most {high:g}" if high is not None else ""))
        return value

    return parse


def _switch(raw: str) -> bool:
    word = raw.strip().lower()
    if word not in ("0", "1", "true", "false", "yes", "no"):
        raise ValueError("1/true/yes or 0/false/no")
    return word in ("1", "true", "yes")


def _url(raw: str) -> str:
    if raw.strip() and not re.match(r"https?://[^\s/]+", raw.strip()):
        raise ValueError("a URL starting with http:// or https://")
    return raw.strip()


def _networks(raw: str) -> tuple[str, ...]:
    found = tuple(p.strip() for p in raw.split(",") if p.strip())
    for proxy in found:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"IP addresses or networks, comma-separated ({proxy!r} is neither)") from None
    return found


def _origins(raw: str) -> tuple[str, ...]:
    found = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in found:
        if not re.fullmatch(r"https?://[^\s/?#*]+", origin):
            raise ValueError(f"origins like https://example.com, comma-separated ({origin!r} is not one)")
    return found


def _text(raw: str) -> str:
    return raw.strip()


def _lines(raw: str) -> str:
    """Text that may span lines: a literal ``\\n`` (as an environment variable must write it) is one."""
    return raw.replace("\\n", "\n").strip()


@dataclass(frozen=True)
class Knob:
    """One setting: where it can be given, its default and how a given value is checked."""

    name: str  # the Settings field
    env: str
    toml: str  # "section.key" in the TOML file
    default: Any
    parse: Callable[[str], Any]
    help: str
    flag: str = ""  # the command-line option that overrides it, where there is one
    secret: bool = False


KNOBS: tuple[Knob, ...] = (
    Knob("documents", "PRIVACY_ASSISTANT_DOCUMENTS", "paths.documents", Path("documents"), Path,
         "policy documents folder (with catalogue.toml)", "--documents"),
    Knob("index", "PRIVACY_ASSISTANT_INDEX", "paths.index", Path("index"), Path, "index folder", "--index"),
    Knob("model", "PRIVACY_ASSISTANT_MODEL", "model.embedding", "", _text,
         "embedding model: a folder or package:NAME (empty: models/privacy-minilm)"),
    Knob("ann_threshold", "PRIVACY_ASSISTANT_ANN_THRESHOLD", "index.ann_threshold", 100_000, _whole(1, 10**12),
         "vector count from which a FAISS index is IVF rather than flat"),
    Knob("max_question_chars", "PRIVACY_ASSISTANT_MAX_QUESTION_CHARS", "limits.max_question_chars", 2000,
         _whole(1, 100_000), "longest question accepted, in characters"),
    Knob("rate_per_minute", "PRIVACY_ASSISTANT_RATE_PER_MINUTE", "limits.rate_per_minute", 60.0, _number(0),
         "customer questions per client per minute (0: no limit)"),
    Knob("reader", "PRIVACY_ASSISTANT_READER", "model.reader", "", _text,
         "the short lead's reader model folder (empty: models/privacy-reader, if any)"),
    Knob("lead_threshold", "PRIVACY_ASSISTANT_LEAD_THRESHOLD", "model.lead_threshold", None, _number(0, 1.01),
         "show a lead at this reader probability or above (empty: the reader's own)"),
    Knob("agent_user", "PRIVACY_ASSISTANT_AGENT_USER", "agent.user", "", _text, "agent console login"),
    Knob("agent_password", "PRIVACY_ASSISTANT_AGENT_PASSWORD", "agent.password", "", str,
         "agent console password (no default: the console is closed without one)", secret=True),
    Knob("feedback_db", "PRIVACY_ASSISTANT_FEEDBACK_DB", "feedback.db", Path("feedback.sqlite3"), Path,
         "feedback and message database (SQLite), when no database_url is set"),
    Knob("database_url", "PRIVACY_ASSISTANT_DATABASE_URL", "database.url", "", _text,
         "PostgreSQL shared by replicas (postgresql://…): feedback, messages, sign-in lockouts, rate limits",
         secret=True),
    Knob("trusted_proxies", "PRIVACY_ASSISTANT_TRUSTED_PROXIES", "server.trusted_proxies", (), _networks,
         "reverse proxies whose X-Forwarded-For is believed"),
    Knob("allowed_origins", "PRIVACY_ASSISTANT_ALLOWED_ORIGINS", "server.allowed_origins", (), _origins,
         "other sites' origins allowed to call the web app and read its answers (CORS); none: same origin only"),
    Knob("host", "PRIVACY_ASSISTANT_HOST", "server.host", "127.0.0.1", _text, "address `serve` listens on", "--host"),
    Knob("port", "PRIVACY_ASSISTANT_PORT", "server.port", 7860, _whole(1, 65_535), "port `serve` listens on",
         "--port"),
    Knob("llm_base_url", "PRIVACY_ASSISTANT_LLM_BASE_URL", "llm.base_url", "", _url,
         "an OpenAI-compatible server for LLM answers (empty: off)", "--llm-base-url"),
    Knob("llm_model", "PRIVACY_ASSISTANT_LLM_MODEL", "llm.model", "", _text,
         "the LLM's model name (empty: the server's first)", "--llm-model"),
    Knob("llm_api_key", "PRIVACY_ASSISTANT_LLM_API_KEY", "llm.api_key", "", str, "the LLM server's key",
         secret=True),
    Knob("llm_timeout", "PRIVACY_ASSISTANT_LLM_TIMEOUT", "llm.timeout", 60.0, _number(0.001),
         "seconds to wait for the LLM"),
    Knob("llm_max_tokens", "PRIVACY_ASSISTANT_LLM_MAX_TOKENS", "llm.max_tokens", 200, _whole(1, 8192),
         "longest LLM reply, in tokens"),
    Knob("llm_system_role", "PRIVACY_ASSISTANT_LLM_SYSTEM_ROLE", "llm.system_role", True, _switch,
         "send the rules as a system message (0: at the top of the user's message)"),
    Knob("draft_greeting", "PRIVACY_ASSISTANT_DRAFT_GREETING", "draft.greeting", "Dear client,", _lines,
         "first line of an agent's e-mail draft in English"),
    Knob("draft_greeting_zh", "PRIVACY_ASSISTANT_DRAFT_GREETING_ZH", "draft.greeting_zh", "尊敬的客户：", _lines,
         "the same in Chinese"),
    Knob("draft_signoff", "PRIVACY_ASSISTANT_DRAFT_SIGNOFF", "draft.signoff", "Kind regards,\nClient Relations",
         _lines, "last lines of an agent's e-mail draft in English (\\n: a new line)"),
    Knob("draft_signoff_zh", "PRIVACY_ASSISTANT_DRAFT_SIGNOFF_ZH", "draft.signoff_zh", "此致\n敬礼\n客户关系部", _lines,
         "the same in Chinese"),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    """The resolved settings (see `KNOBS` for each one's meaning)."""

    documents: Path = Path("documents")
    index: Path = Path("index")
    model: str = ""
    ann_threshold: int = 100_000
    max_question_chars: int = 2000
    rate_per_minute: float = 60.0
    reader: str = ""
    lead_threshold: float | None = None
    agent_user: str = ""
    agent_password: str = field(default="", repr=False)
    feedback_db: Path = Path("feedback.sqlite3")
    database_url: str = field(default="", repr=False)
    trusted_proxies: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 7860
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 60.0
    llm_max_tokens: int = 200
    llm_system_role: bool = True
    draft_greeting: str = "Dear client,"
    draft_greeting_zh: str = "尊敬的客户："
    draft_signoff: str = "Kind regards,\nClient Relations"
    draft_signoff_zh: str = "此致\n敬礼\n客户关系部"
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)  # name -> where it came from

    @classmethod
    def load(
        cls,
        flags: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        config: Path | None = None,
    ) -> Settings:
        """Resolve every knob: ``flags`` (values that are not None) > ``environ`` (default:
        the process environment) > the TOML file (``config``, else $PRIVACY_ASSISTANT_CONFIG)
        > the default. A bad value is an `InputError` naming the setting and where it came from."""
        env = os.environ if environ is None else environ
        table = _read_toml(config if config is not None else (Path(p) if (p := env.get(ENV_CONFIG)) else None))
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for knob in KNOBS:
            flag_value = (flags or {}).get(knob.name)
            if flag_value is not None:
                values[knob.name], sources[knob.name] = flag_value, knob.flag or "argument"
                continue
            raw, where = _given(knob, env, table)
            if raw is None:
                continue
            try:
                values[knob.name] = knob.parse(raw)
            except ValueError as exc:
                shown = "(hidden)" if knob.secret else repr(raw)
                raise InputError(f"{where}={shown}: {knob.name} must be {exc}") from None
            sources[knob.name] = where
        return cls(**values, sources=sources)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, source) of every setting, secrets hidden: for `--verbose` logs."""
        out = []
        for knob in KNOBS:
            value = getattr(self, knob.name)
            shown = ("(set)" if value else "(empty)") if knob.secret else str(value)
            out.append((knob.name, shown, self.sources.get(knob.name, "default")))
        return out


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise InputError(f"{ENV_CONFIG}={path}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{ENV_CONFIG}={path}: invalid TOML ({exc})") from None


def _given(knob: Knob, env: Mapping[str, str], table: Mapping[str, Any]) -> tuple[str | None, str]:
    """The raw text given for ``knob`` and where: the environment, then the TOML file."""
    if raw := env.get(knob.env, ""):
        return raw, knob.env
    section, key = knob.toml.split(".")
    found = table.get(section, {})
    value = found.get(key) if isinstance(found, dict) else None
    if value is None or value == "":
        return None, ""
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if isinstance(value, bool):
        value = "1" if value else "0"
    return str(value), f"[{section}] {key}"


def settings_table() -> str:
    """The README's settings table (Markdown), generated from `KNOBS`."""
    rows = ["| setting | flag | environment | TOML | default | meaning |", "|---|---|---|---|---|---|"]
    names = {f.name for f in fields(Settings)}
    for knob in KNOBS:
        assert knob.name in names, knob.name
        default = "" if knob.default in ("", (), None) else str(knob.default).replace("\n", "\\n")
        flag = f"`{knob.flag}`" if knob.flag else ""
        section, key = knob.toml.split(".")
        shown = f"`{default}`" if default else ""
        rows.append(f"| {knob.name} | {flag} | `{knob.env}` | `[{section}] {key}` | {shown} | {knob.help} |")
    return "\n".join(rows)


def prepare_runtime() -> None:
    """Process-wide switches, set once at start-up (idempotent): nothing may reach a model
    hub, and Gradio's analytics stay off and bounded."""
    for name, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("TOKENIZERS_PARALLELISM", "false"),
        ("GRADIO_ANALYTICS_ENABLED", "False"),
        # Gradio's queue rebuilds a pandas summary of its last 10,000 events after every event
        # (for its /monitoring page, unused here): 3-10 ms of CPU per request under load
        # (bench/load.py). Recompute it every 1,000 events, over at most 1,000.
        ("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000"),
        ("GRADIO_ANALYTICS_MAX_EVENTS", "1000"),
    ):
        os.environ.setdefault(name, value)


def quiet_libraries() -> None:
    """Less chatter from transformers and the hub when not in verbose mode."""
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
