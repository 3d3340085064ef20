"""What stands between a hostile caller and the app: the login guard (lockouts per client
and user name) and the per-client rate limiter."""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import gradio as gr


from app.web.config import DEFAULT_RATE_PER_MINUTE, Credentials

log = logging.getLogger(__name__)

# The client of the login request being checked (set by the server's middleware: Gradio
# calls `auth(user, password)` without the request) and what the guard decided about it.
_LOGIN: ContextVar[dict[str, Any] | None] = ContextVar("privacy_assistant_login", default=None)

MAX_USER_CHARS = 128
MAX_PASSWORD_CHARS = 1024


class LoginGuard:
    """Gradio's `auth` callable: checks the configured credentials, and after
    `max_failures` failed logins for a user name *from one client* within `window_s`
    refuses that client and name (even with the right password) until the window has
    passed. Other clients are not affected, so nobody can lock the real agent out from
    elsewhere. Memory stays bounded: at most `max_entries` (client, name) pairs, oldest
    dropped first, names cut to `MAX_USER_CHARS`, entries forgotten once expired."""

    def __init__(
        self,
        credentials: Credentials,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._credentials = credentials
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(user: str) -> tuple[str, str]:
        login = _LOGIN.get()
        return (str(login.get("client", "unknown")) if login else "unknown", user[:MAX_USER_CHARS])

    def locked_for(self, user: str) -> float:
        """Seconds until this client may try this user name again (0: not locked)."""
        now = self._clock()
        key = self._key(user)
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
            if recent:
                self._failures[key] = recent
            else:
                self._failures.pop(key, None)
            if len(recent) < self.max_failures:
                return 0.0
            return self.window_s - (now - recent[-self.max_failures])

    def locked(self, user: str) -> bool:
        return self.locked_for(user) > 0

    def __call__(self, user: str, password: str) -> bool:
        login = _LOGIN.get()
        if (wait := self.locked_for(user)) > 0:
            if login is not None:
                login["locked_for"] = wait
            log.warning("agent login refused: too many failed attempts from this client for this user name")
            return False
        ok = (
            len(user) <= MAX_USER_CHARS
            and len(password) <= MAX_PASSWORD_CHARS
            and hmac.compare_digest(user.encode(), self._credentials.user.encode())
            & hmac.compare_digest(password.encode(), self._credentials.password.encode())
        )
        if not ok:
            self._record_failure(user)
            log.warning("agent login failed")
        return bool(ok)

    def _record_failure(self, user: str) -> None:
        now = self._clock()
        key = self._key(user)
        with self._lock:
            self._failures.setdefault(key, []).append(now)
            self._failures.move_to_end(key)
            self._failures[key] = self._failures[key][-self.max_failures :]
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


LOCKED_MESSAGE = "Too many failed sign-ins from this device. Try again in {minutes} minute{s}."


class RateLimiter:
    """A token bucket per client key: `per_minute` questions a minute on average, and at
    most `burst` (default: one minute's worth) at once. `per_minute <= 0` never limits.
    Full (idle) buckets are dropped once more than `max_clients` are held, so memory stays
    bounded."""

    def __init__(
        self,
        per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self.burst = max(1.0, burst if burst is not None else per_minute)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def _tokens(self, tokens: float, when: float, now: float) -> float:
        return min(self.burst, tokens + (now - when) * self.per_minute / 60.0)

    def allow(self, key: str) -> bool:
        """Take one token from `key`'s bucket; False (and nothing taken) when it is empty."""
        if self.per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (self.burst, now))
            tokens = self._tokens(tokens, when, now)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets = {
                    k: (t, w) for k, (t, w) in self._buckets.items() if self._tokens(t, w, now) < self.burst
                }
            return allowed

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(request: gr.Request | None) -> str:
    """Who is asking, for the rate limit: the connecting address (behind a reverse proxy
    that is the proxy's; forwarded-for headers are not trusted)."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", "") or "unknown")


RATE_LIMITED = {
    "en": "You're sending questions faster than I can answer them. Please wait a moment and try again.",
    "zh": "您提问的速度有点快，请稍等片刻再试。",
}
