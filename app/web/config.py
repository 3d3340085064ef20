"""The web app's settings (agent credentials, the feedback database, rate limit and trusted
proxies; resolved once by app/settings.py and passed in) and its routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import KNOBS, Settings, from_environ
from app.web.letter import Letter

_ENV = {k.name: k.env for k in KNOBS}
ENV_USER, ENV_PASSWORD = _ENV["agent_user"], _ENV["agent_password"]
DEFAULT_RATE_PER_MINUTE: float = Settings.default_of("rate_per_minute")  # the declared default, not the environment's
AGENT_PATH = "/agent"
# Request bodies (bytes), refused with 413 beyond these before they are read (app/web/edge.py).
# A call to the `ask` API holds a question of at most `max_question_chars` characters, each at
# most 12 bytes once JSON-escaped (a surrogate pair, `\ud83d\ude00`), and a policy id.
API_BODY_OVERHEAD = 4096
# A chat event: a question (as above), or a rating, which carries the rated reply's HTML (at most
# ~5 KB once escaped, measured on long Chinese and English replies with their quotes).
EVENT_BODY_LIMIT = 32 * 1024
AGENT_BODY_LIMIT = 64 * 1024  # its comment, question and sign-in form
EXPORT_ROUTE = AGENT_PATH + "/export/feedback.csv"

# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    """Where the agent login and the feedback database come from."""

    credentials: Credentials | None
    feedback_db: Path
    rate_per_minute: float = DEFAULT_RATE_PER_MINUTE  # customer questions per client; 0: no limit
    # Addresses of reverse proxies whose X-Forwarded-For is believed; none by default, so a
    # client cannot pick its own rate-limit bucket or login identity with a header.
    trusted_proxies: tuple[str, ...] = ()
    database_url: str = field(default="", repr=False)  # PostgreSQL shared by replicas; "": SQLite + memory
    letter: Letter = field(default_factory=Letter.declared)  # the e-mail draft's frame
    # Origins (scheme://host[:port]) whose pages may call this server and read its answers;
    # none by default: same origin only.
    allowed_origins: tuple[str, ...] = ()
    max_question_chars: int = Settings.default_of("max_question_chars")
    event_body_limit: int = EVENT_BODY_LIMIT
    agent_body_limit: int = AGENT_BODY_LIMIT

    @property
    def api_body_limit(self) -> int:
        """The largest body of an `ask` API call that could hold an acceptable question."""
        return API_BODY_OVERHEAD + 12 * self.max_question_chars

    @classmethod
    def from_settings(cls, settings: Settings) -> WebConfig:
        user = settings.agent_user
        credentials = Credentials(user, settings.agent_password) if user and settings.agent_password else None
        s = settings
        return cls(
            credentials, s.feedback_db, s.rate_per_minute, s.trusted_proxies, s.database_url, Letter.from_settings(s),
            allowed_origins=s.allowed_origins, max_question_chars=s.max_question_chars,
        )  # fmt: skip


    @classmethod
    def declared(cls) -> WebConfig:
        """The declared defaults (app/settings.py): no agent console, the default database."""
        return cls.from_settings(Settings.declared())


def load_config(environ: Mapping[str, str]) -> WebConfig:
    """The web settings that ``environ`` (and the TOML file it may name) gives, over the
    defaults: for tests and tools; the CLI passes the settings it loaded to `launch`."""
    return WebConfig.from_settings(from_environ(environ))
