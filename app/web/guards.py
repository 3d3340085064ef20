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
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import gradio as gr


from app.web.config import DEFAULT_RATE_PER_MINUTE, Credentials

log = logging.getLogger(__name__)

# The client of the login request being checked (set by the server's middleware: Gradio
# calls `auth(user, password)` without the request) and what the guard decided about it.
_LOGIN: ContextVar[dict[str, Any] | None] = ContextVar("privacy_assistant_login", default=None)

MAX_USER_CHARS = 128
MAX_PASSWORD_CHARS = 1024


class FailureLog(Protocol):
    """Where failed sign-ins are kept: in this process, or shared by the replicas (PostgreSQL)."""

    def recent(self, key: tuple[str, str], since: float) -> list[float]:
        """The times of ``key``'s failures after ``since``, oldest first (older ones are forgotten)."""
        ...

    def record(self, key: tuple[str, str], at: float, keep: int) -> None:
        """Add a failure of ``key``; only its last ``keep`` need to be kept."""
        ...


class MemoryFailureLog:
    """Failed sign-ins in this process: at most ``max_entries`` (client, name) pairs, oldest
    dropped first, so memory stays bounded."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def recent(self, key: tuple[str, str], since: float) -> list[float]:
        with self._lock:
            found = [t for t in self._failures.get(key, []) if t > since]
            if found:
                self._failures[key] = found
            else:
                self._failures.pop(key, None)
            return found

    def record(self, key: tuple[str, str], at: float, keep: int) -> None:
        with self._lock:
            self._failures.setdefault(key, []).append(at)
            self._failures.move_to_end(key)
            self._failures[key] = self._failures[key][-keep:]
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


class LoginGuard:
    """Gradio's `auth` callable: checks the configured credentials, and after
    `max_failures` failed logins for a user name *from one client* within `window_s`
    refuses that client and name (even with the right password) until the window has
    passed. Other clients are not affected, so nobody can lock the real agent out from
    elsewhere. The failures are kept in `failures` (default: this process; a shared log
    makes a lockout hold on every replica); names are cut to `MAX_USER_CHARS`."""

    def __init__(
        self,
        credentials: Credentials,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.time,  # wall time: comparable across replicas
        failures: FailureLog | None = None,
    ) -> None:
        self._credentials = credentials
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self.failures = failures if failures is not None else MemoryFailureLog()

    @staticmethod
    def _key(user: str) -> tuple[str, str]:
        login = _LOGIN.get()
        return (str(login.get("client", "unknown")) if login else "unknown", user[:MAX_USER_CHARS])

    def locked_for(self, user: str) -> float:
        """Seconds until this client may try this user name again (0: not locked)."""
        now = self._clock()
        recent = self.failures.recent(self._key(user), now - self.window_s)
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
            self.failures.record(self._key(user), self._clock(), self.max_failures)
            log.warning("agent login failed")
        return bool(ok)


LOCKED_MESSAGE = "Too many failed sign-ins from this device. Try again in {minutes} minute{s}."


class Buckets(Protocol):
    """Where the rate limiter's token buckets are: in this process, or shared (PostgreSQL)."""

    def take(self, key: str, now: float, per_second: float, burst: float) -> bool:
        """Refill ``key``'s bucket for the time passed and take one token: False (nothing
        taken) when it is empty. A new bucket starts full."""
        ...


class MemoryBuckets:
    """Token buckets in this process. Full (idle) buckets are dropped once more than
    `max_clients` are held, so memory stays bounded."""

    def __init__(self, max_clients: int = 10_000) -> None:
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def take(self, key: str, now: float, per_second: float, burst: float) -> bool:
        def refilled(tokens: float, when: float) -> float:
            return min(burst, tokens + (now - when) * per_second)

        with self._lock:
            tokens = refilled(*self._buckets.get(key, (burst, now)))
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets = {k: (t, w) for k, (t, w) in self._buckets.items() if refilled(t, w) < burst}
            return allowed

    def __len__(self) -> int:
        return len(self._buckets)


class RateLimiter:
    """A token bucket per client key: `per_minute` questions a minute on average, and at
    most `burst` (default: one minute's worth) at once. `per_minute <= 0` never limits.
    The buckets are kept in `buckets` (default: this process; shared ones make the limit
    hold across replicas)."""

    def __init__(
        self,
        per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: float | None = None,
        clock: Callable[[], float] = time.time,
        buckets: Buckets | None = None,
    ) -> None:
        self.per_minute = per_minute
        self.burst = max(1.0, burst if burst is not None else per_minute)
        self._clock = clock
        self.buckets = buckets if buckets is not None else MemoryBuckets()

    def allow(self, key: str) -> bool:
        """Take one token from `key`'s bucket; False (and nothing taken) when it is empty."""
        if self.per_minute <= 0:
            return True
        return self.buckets.take(key, self._clock(), self.per_minute / 60.0, self.burst)


def client_key(request: gr.Request | None) -> str:
    """Who is asking, for the rate limit: the connecting address (behind a reverse proxy
    that is the proxy's; forwarded-for headers are not trusted)."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", "") or "unknown")


RATE_LIMITED = {
    "en": "You're sending questions faster than I can answer them. Please wait a moment and try again.",
    "zh": "您提问的速度有点快，请稍等片刻再试。",
}
