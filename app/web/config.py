"""The web app's settings: agent credentials, the feedback database, rate limit and trusted
proxies, from the environment or a TOML file."""

from __future__ import annotations

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import InputError

if TYPE_CHECKING:
    pass


ENV_USER = "PRIVACY_ASSISTANT_AGENT_USER"
ENV_PASSWORD = "PRIVACY_ASSISTANT_AGENT_PASSWORD"
ENV_CONFIG = "PRIVACY_ASSISTANT_CONFIG"
ENV_FEEDBACK_DB = "PRIVACY_ASSISTANT_FEEDBACK_DB"
ENV_RATE = "PRIVACY_ASSISTANT_RATE_PER_MINUTE"
ENV_PROXIES = "PRIVACY_ASSISTANT_TRUSTED_PROXIES"
DEFAULT_RATE_PER_MINUTE = 60.0
AGENT_PATH = "/agent"
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


def load_config(environ: Mapping[str, str] | None = None) -> WebConfig:
    """Agent credentials, feedback path and the customer question rate limit: the
    environment first, then the TOML file named by $PRIVACY_ASSISTANT_CONFIG
    (``[agent] user/password``, ``[feedback] db``, ``[limits] rate_per_minute``)."""
    env = os.environ if environ is None else environ
    table: dict[str, Any] = {}
    if path := env.get(ENV_CONFIG):
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except OSError as exc:
            raise InputError(f"{ENV_CONFIG}={path}: cannot be read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{ENV_CONFIG}={path}: invalid TOML ({exc})") from None
    agent = table.get("agent", {})
    user = env.get(ENV_USER) or str(agent.get("user", ""))
    password = env.get(ENV_PASSWORD) or str(agent.get("password", ""))
    db = env.get(ENV_FEEDBACK_DB) or str(table.get("feedback", {}).get("db", "")) or "feedback.sqlite3"
    credentials = Credentials(user.strip(), password) if user.strip() and password else None
    rate = env.get(ENV_RATE) or str(table.get("limits", {}).get("rate_per_minute", "")) or str(DEFAULT_RATE_PER_MINUTE)
    try:
        rate_per_minute = float(rate)
    except ValueError:
        raise InputError(f"{ENV_RATE}={rate!r}: not a number of questions per minute") from None
    if not rate_per_minute >= 0:
        raise InputError(f"{ENV_RATE}={rate!r}: must be 0 (no limit) or more")
    proxies_raw = env.get(ENV_PROXIES) or ",".join(str(p) for p in table.get("server", {}).get("trusted_proxies", []))
    proxies = tuple(p.strip() for p in proxies_raw.split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise InputError(f"{ENV_PROXIES}: {proxy!r} is not an IP address or network") from None
    return WebConfig(credentials, Path(db), rate_per_minute, proxies)
