"""What stands between a hostile caller and the app: the login guard (lockouts per client
and user name, growing delays per user name from every client) and the per-client rate
limiters of questions and of log lines."""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import gradio as gr


from app.web.config import DEFAULT_RATE_PER_MINUTE, Credentials

log = logging.getLogger(__name__)

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


# The failure log's "client" under which a user name's failures from every client are kept.
EVERY_CLIENT = "*"
_OVERLONG = "(over-long name)"


@dataclass(frozen=True)
class NameThrottle:
    """Growing delays for one user name, whoever tries it: the first `free_failures` failures
    within `window_s` cost nothing (a mistyping agent, a lockout per client), then each further
    attempt must wait `first_delay_s` after the last failure, doubled at each failure, up to
    `max_delay_s`. Forty addresses with five guesses each make ten guesses at once, six more
    in the next minute, then one a minute; the real agent waits at most `max_delay_s` after
    the guesser's last try."""

    free_failures: int = 10
    first_delay_s: float = 1.0
    max_delay_s: float = 60.0
    window_s: float = 900.0

    @property
    def keep(self) -> int:
        """How many failures must be kept to tell the longest delay (more change nothing)."""
        return self.free_failures + max(0, math.ceil(math.log2(self.max_delay_s / self.first_delay_s))) + 1

    def delay(self, failures: int) -> float:
        """The wait after the last of `failures` recent failures."""
        if failures < self.free_failures:
            return 0.0
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** (failures - self.free_failures))

    def wait(self, failures: list[float], now: float) -> float:
        """Seconds until the name may be tried again, given its recent failures (oldest first)."""
        return max(0.0, failures[-1] + self.delay(len(failures)) - now) if failures else 0.0


@dataclass(frozen=True)
class LoginResult:
    """What the guard decided about one sign-in: accepted or not, and when refused unread
    because the client or the name is locked, for how many more seconds."""

    ok: bool
    locked_for: float = 0.0


class LoginGuard:
    """Checks a sign-in (`check`) against the configured credentials, and after
    `max_failures` failed logins for a user name *from one client* within `window_s`
    refuses that client and name (even with the right password) until the window has
    passed. Other clients are not affected by that lock, so nobody can lock the real agent
    out from elsewhere; a guesser spread over many clients is slowed by `throttle` instead,
    per user name from every client, with delays short enough for the real agent to wait out.
    The failures are kept in `failures` (default: this process; a shared log makes a lockout
    hold on every replica). User names are kept only as a keyed hash (a name may be a pasted
    card number or e-mail address), and a name over `MAX_USER_CHARS` is refused unread."""

    def __init__(
        self,
        credentials: Credentials,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.time,  # wall time: comparable across replicas
        failures: FailureLog | None = None,
        throttle: NameThrottle | None = None,
        log_limiter: LogLimiter | None = None,
    ) -> None:
        self._credentials = credentials
        self.max_failures = max_failures
        self.window_s = window_s
        self._clock = clock
        self.failures = failures if failures is not None else MemoryFailureLog()
        # Apart from the per-client failures in memory, so that a spray of made-up names
        # cannot push a real name's failures out.
        self.name_failures = failures if failures is not None else MemoryFailureLog()
        self.throttle = throttle if throttle is not None else NameThrottle()
        self.log_limiter = log_limiter if log_limiter is not None else LogLimiter()
        self._name_key = hashlib.sha256(b"login-name\0" + credentials.password.encode()).digest()

    def _name(self, user: str) -> str:
        if len(user) > MAX_USER_CHARS:
            return _OVERLONG
        return hmac.new(self._name_key, user.encode("utf-8", "replace"), "sha256").hexdigest()[:32]

    def locked_for(self, user: str, client: str = "") -> float:
        """Seconds until `client` may try this user name again (0: not locked); without a
        client, only the name's own delay (from every client's failures) counts."""
        now = self._clock()
        name = self._name(user)
        recent = self.failures.recent((client, name), now - self.window_s) if client else []
        mine = self.window_s - (now - recent[-self.max_failures]) if len(recent) >= self.max_failures else 0.0
        everyone = self.name_failures.recent((EVERY_CLIENT, name), now - self.throttle.window_s)
        return max(mine, self.throttle.wait(everyone, now))

    def locked(self, user: str, client: str = "") -> bool:
        return self.locked_for(user, client) > 0

    def check(self, client: str, user: str, password: str) -> LoginResult:
        """One sign-in from `client` (its address): accepted only with the configured name and
        password, compared in constant time, and only while neither is locked."""
        client = client or "unknown"
        if (wait := self.locked_for(user, client)) > 0:
            self.log_limiter.log(log, logging.WARNING, client, "agent login refused: too many failed attempts")
            return LoginResult(False, wait)
        ok = (
            len(user) <= MAX_USER_CHARS
            and len(password) <= MAX_PASSWORD_CHARS
            and hmac.compare_digest(user.encode(), self._credentials.user.encode())
            & hmac.compare_digest(password.encode(), self._credentials.password.encode())
        )
        if not ok:
            now, name = self._clock(), self._name(user)
            self.failures.record((client, name), now, self.max_failures)
            self.name_failures.record((EVERY_CLIENT, name), now, self.throttle.keep)
            self.log_limiter.log(log, logging.WARNING, client, "agent login failed")
        return LoginResult(bool(ok))


LOCKED_MESSAGE = "Too many failed sign-ins. Try again in {minutes} minute{s}."


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


class LogLimiter:
    """At most `per_minute` log lines a minute from one client; the rest are counted, and one
    line says how many were suppressed once that client's minute is over, so a flood of
    refused requests cannot fill the disk. Clients appear only as a short hash of their key.
    At most `max_clients` are remembered (the oldest forgotten first)."""

    def __init__(
        self, per_minute: int = 20, clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000
    ) -> None:
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._clock = clock
        self._windows: OrderedDict[str, list[float]] = OrderedDict()  # client -> [start, lines, suppressed]
        self._lock = threading.Lock()

    def log(
        self, logger: logging.Logger, level: int, client: str, msg: str, *args: object, exc_info: bool = False,
        stacklevel: int = 2,
    ) -> bool:
        """Log one line for `client` unless its budget is spent; whether it was logged. The line
        names the caller `stacklevel` frames up (2: the caller of this method)."""
        now = self._clock()
        with self._lock:
            overdue = [(c, int(w[2])) for c, w in self._windows.items() if w[2] and now - w[0] >= 60.0]
            for c, _ in overdue:
                self._windows[c] = [now, 0.0, 0.0]
            window = self._windows.get(client)
            if window is None or now - window[0] >= 60.0:
                window = self._windows[client] = [now, 0.0, 0.0]
            self._windows.move_to_end(client)
            allowed = window[1] < self.per_minute
            window[1 if allowed else 2] += 1
            while len(self._windows) > self.max_clients:
                self._windows.popitem(last=False)
        for c, count in overdue:
            logger.warning("suppressed %d log lines from client %s in its last minute", count, client_tag(c),
                           stacklevel=stacklevel)
        if allowed:
            logger.log(level, msg, *args, exc_info=exc_info, stacklevel=stacklevel)
        return allowed


def client_tag(client: str) -> str:
    """A client's key as it may appear in a log: a short hash, the same for every line."""
    return hashlib.sha256(client.encode("utf-8", "replace")).hexdigest()[:10]
