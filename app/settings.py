"""Every setting of the assistant, declared once: its default, check, meaning, TOML key and
command-line flag (the environment variable is ``PRIVACY_ASSISTANT_`` + its name, upper case).

Precedence: command-line flag > environment variable > TOML file > default, resolved by
pydantic-settings. The TOML file is named by ``--config`` or ``PRIVACY_ASSISTANT_CONFIG``.
`Settings.load` is called once, by the CLI, and the result is passed down. ``Settings()``
reads nothing (unlike a plain pydantic-settings class): it is the declared defaults with any
values given as arguments; `Settings.declared()` is what library code used without the CLI
(tests, benchmarks) gets. The CLI's flags and the table in
docs/settings.md are generated from this declaration (`KNOBS`, `settings_table`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue, PrivateAttr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

from app.errors import InputError
from app.settings_sources import (
    ENV_CONFIG,
    ENV_PREFIX,
    Given,
    MappingEnvSource,
    SectionsTomlSource,
    check_url,
    expected,
    lines,
    networks,
    origins,
    split_list,
)

Text = Annotated[str, AfterValidator(str.strip)]
Lines = Annotated[str, BeforeValidator(lines)]
Url = Annotated[str, AfterValidator(check_url)]
Networks = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_list), AfterValidator(networks)]
Origins = Annotated[tuple[str, ...], NoDecode, BeforeValidator(split_list), AfterValidator(origins)]

LLM_COMMANDS = ("ask", "serve", "eval")


def setting(
    default: Any, toml: str, help: str, *, flag: str = "", on: tuple[str, ...] = (), secret: bool = False, **checks: Any
) -> Any:
    """One setting's declaration: ``toml`` is its "section.key" in the TOML file; ``flag`` the
    command-line option that overrides it, given to the commands ``on`` (none: before the
    command); ``checks`` pydantic's constraints (``ge``, ``le``). A secret is never shown."""
    extra: dict[str, JsonValue] = {"toml": toml, "flag": flag, "on": list(on), "secret": secret}
    if isinstance(default, float) or default is None:  # the float settings: "nan" and "inf" are not numbers here
        checks.setdefault("allow_inf_nan", False)
    return Field(default, description=help, repr=not secret, json_schema_extra=extra, **checks)


class Settings(BaseSettings):
    """The resolved settings: one field per setting, its meaning in its description."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    documents: Path = setting(
        Path("documents"), "paths.documents", "policy documents folder (with catalogue.toml)", flag="--documents"
    )
    index: Path = setting(Path("index"), "paths.index", "index folder", flag="--index")
    model: Text = setting(
        "", "model.embedding", "embedding model: a folder or package:NAME (empty: models/privacy-minilm)"
    )
    ann_threshold: int = setting(
        100_000, "index.ann_threshold", "vector count from which a FAISS index is IVF rather than flat", ge=1, le=10**12
    )
    max_question_chars: int = setting(
        2000, "limits.max_question_chars", "longest question accepted, in characters", ge=1, le=100_000
    )
    rate_per_minute: float = setting(
        60.0, "limits.rate_per_minute", "customer questions per client per minute (0: no limit)", ge=0
    )
    reader: Text = setting(
        "", "model.reader", "the short lead's reader model folder (empty: models/privacy-reader, if any)"
    )
    lead_threshold: float | None = setting(
        None, "model.lead_threshold", "show a lead at this reader probability or above (empty: the reader's own)",
        ge=0, le=1.01,
    )  # fmt: skip
    agent_user: Text = setting("", "agent.user", "agent console login")
    agent_password: str = setting(
        "", "agent.password", "agent console password (no default: the console is closed without one)", secret=True
    )
    feedback_db: Path = setting(
        Path("feedback.sqlite3"), "feedback.db", "feedback and message database (SQLite), when no database_url is set"
    )
    database_url: Text = setting(
        "", "database.url",
        "PostgreSQL shared by replicas (postgresql://…): feedback, messages, sign-in lockouts, rate limits",
        secret=True,
    )  # fmt: skip
    trusted_proxies: Networks = setting(
        (), "server.trusted_proxies", "reverse proxies whose X-Forwarded-For is believed"
    )
    allowed_origins: Origins = setting(
        (), "server.allowed_origins",
        "other sites' origins allowed to call the web app and read its answers (CORS); none: same origin only",
    )  # fmt: skip
    host: Text = setting("127.0.0.1", "server.host", "address `serve` listens on", flag="--host", on=("serve",))
    port: int = setting(7860, "server.port", "port `serve` listens on", flag="--port", on=("serve",), ge=1, le=65_535)
    llm_base_url: Url = setting(
        "", "llm.base_url", "an OpenAI-compatible server for LLM answers (empty: off), e.g. http://127.0.0.1:8080/v1",
        flag="--llm-base-url", on=LLM_COMMANDS,
    )  # fmt: skip
    llm_model: Text = setting(
        "", "llm.model", "the LLM's model name (empty: the server's first)", flag="--llm-model", on=LLM_COMMANDS
    )
    llm_api_key: str = setting("", "llm.api_key", "the LLM server's key", secret=True)
    llm_timeout: float = setting(60.0, "llm.timeout", "seconds to wait for the LLM", ge=0.001)
    llm_max_tokens: int = setting(200, "llm.max_tokens", "longest LLM reply, in tokens", ge=1, le=8192)
    llm_system_role: bool = setting(
        True, "llm.system_role", "send the rules as a system message (0: at the top of the user's message)"
    )
    draft_greeting: Lines = setting(
        "Dear client,", "draft.greeting", "first line of an agent's e-mail draft in English"
    )
    draft_greeting_zh: Lines = setting("尊敬的客户：", "draft.greeting_zh", "the same in Chinese")
    draft_signoff: Lines = setting(
        "Kind regards,\nClient Relations", "draft.signoff",
        "last lines of an agent's e-mail draft in English (\\n: a new line)",
    )  # fmt: skip
    draft_signoff_zh: Lines = setting("此致\n敬礼\n客户关系部", "draft.signoff_zh", "the same in Chinese")

    _sources: dict[str, str] = PrivateAttr(default_factory=dict)  # name -> where its value came from

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments, then (inside `load` only) the environment, then the TOML file."""
        given = _LOADING.get()
        if given is None:  # Settings(...): the arguments over the declared defaults, nothing read
            return (init_settings,)
        return (
            init_settings,
            MappingEnvSource(settings_cls, given.environ, given),
            SectionsTomlSource(settings_cls, given.toml, given),
        )

    @classmethod
    def load(
        cls,
        flags: Mapping[str, object] | None = None,
        environ: Mapping[str, str] | None = None,
        config: Path | None = None,
    ) -> Settings:
        """Resolve every setting: ``flags`` (values that are not None) > ``environ`` (default:
        the process environment) > the TOML file (``config``, else $PRIVACY_ASSISTANT_CONFIG)
        > the default. A bad value is an `InputError` naming the setting and where it came from."""
        return from_environ(os.environ if environ is None else environ, flags, config)

    @classmethod
    def declared(cls) -> Settings:
        """Every setting at its declared default: what code used without the CLI gets."""
        return cls()

    @classmethod
    def default_of(cls, name: str) -> Any:
        """The declared default of one setting (read from the class: no environment, no file)."""
        return cls.model_fields[name].default

    @property
    def sources(self) -> Mapping[str, str]:
        """Where each setting that is not its default came from (a flag, a variable, a TOML key)."""
        return dict(self._sources)

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, source) of every setting, secrets hidden: for `--verbose` logs."""
        out = []
        for knob in KNOBS:
            value = getattr(self, knob.name)
            shown = ("(set)" if value else "(empty)") if knob.secret else str(value)
            out.append((knob.name, shown, self._sources.get(knob.name, "default")))
        return out


_LOADING: ContextVar[Given | None] = ContextVar("settings_loading", default=None)


def from_environ(
    environ: Mapping[str, str], flags: Mapping[str, object] | None = None, config: Path | None = None
) -> Settings:
    """`Settings.load` over an explicit ``environ`` (which may name the TOML file): what the
    CLI does with the process environment, and tests and tools with a mapping of their own."""
    toml = config if config is not None else (Path(p) if (p := environ.get(ENV_CONFIG)) else None)
    given = Given(environ, toml)
    for name, value in (flags or {}).items():
        if value is not None:
            given.note(name, _flag_of(name), value)
            given.flags[name] = value
    token = _LOADING.set(given)
    try:
        settings = Settings(**given.flags)
    except ValidationError as exc:
        raise _input_error(exc, given) from None
    finally:
        _LOADING.reset(token)
    settings._sources.update(given.where)
    return settings


def _flag_of(name: str) -> str:
    knob = next((k for k in KNOBS if k.name == name), None)
    return (knob.flag if knob else "") or "argument"


def _input_error(exc: ValidationError, given: Given) -> InputError:
    """The first bad value as one line: where it was given, the value (unless secret), the rule."""
    error = exc.errors()[0]
    name = str(error["loc"][0]) if error["loc"] else ""
    knob = next((k for k in KNOBS if k.name == name), None)
    if knob is None:
        return InputError(f"settings: {error['msg']}")
    raw = given.raw.get(name, error.get("input"))
    shown = "(hidden)" if knob.secret else repr(raw)
    reason = str(error["ctx"]["error"]) if error["type"] == "value_error" else expected(Settings.model_fields[name])
    return InputError(f"{given.where.get(name, name)}={shown}: {name} {reason}")


@dataclass(frozen=True)
class Knob:
    """One setting as the CLI, the docs and the logs see it (derived from `Settings`' fields)."""

    name: str
    env: str
    toml: str  # "section.key" in the TOML file
    default: Any
    help: str
    flag: str = ""  # the command-line option that overrides it, where there is one
    on: tuple[str, ...] = field(default=())  # the commands that take the flag (none: the top level)
    secret: bool = False


def _knob(name: str, info: FieldInfo) -> Knob:
    extra = info.json_schema_extra
    assert isinstance(extra, dict), name
    flag, toml, on = extra["flag"], extra["toml"], extra["on"]
    assert isinstance(flag, str) and isinstance(toml, str) and isinstance(on, list), name
    return Knob(
        name, ENV_PREFIX + name.upper(), toml, info.default, info.description or "", flag,
        tuple(str(c) for c in on), bool(extra["secret"]),
    )  # fmt: skip


KNOBS: tuple[Knob, ...] = tuple(_knob(name, info) for name, info in Settings.model_fields.items())


def settings_table() -> str:
    """The settings table of docs/settings.md (Markdown), generated from the declaration."""
    rows = ["| setting | flag | environment | TOML | default | meaning |", "|---|---|---|---|---|---|"]
    for knob in KNOBS:
        default = "" if knob.default in ("", (), None) else str(knob.default).replace("\n", "\\n")
        flag = f"`{knob.flag}`" + (f" ({', '.join(knob.on)})" if knob.on else "") if knob.flag else ""
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


if __name__ == "__main__":  # `python -m app.settings`: the table to paste into docs/settings.md
    print(settings_table())
