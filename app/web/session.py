"""The agent's session: a cookie this server issues at sign-in, the sessions it knows, a CSRF
token for what changes a session, and the console's Log out button (a POST with that token: a
GET, a link or an image on another site, signs nobody out).

Stdlib only: the console's page imports `LOGOUT_JS` from here, and `app.web` loads nothing heavy."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.web.config import AGENT_PATH

AGENT_COOKIE = "pa_agent"  # the agent's session; only the console's paths ever see it
CSRF_HEADER = "X-CSRF-Token"
CSRF_ROUTE = AGENT_PATH + "/csrf-token"
LOGIN_ROUTE = AGENT_PATH + "/login"
LOGOUT_ROUTE = AGENT_PATH + "/logout"


@dataclass(frozen=True)
class AgentSession:
    """Who signed in, and until when the session holds."""

    user: str
    expires: float


class AgentSessions:
    """The signed-in agents of this process. The cookie holds a random token (256 bits: it cannot
    be guessed or forged); only its hash is kept here, with the user name and an expiry. Kept on
    the server, not in a self-signed cookie, so that logging out ends the session for good: a copied
    cookie stops working too. A session lasts `max_age_s`; at most `max_sessions` are held (the
    oldest dropped first). Like Gradio's own sessions they live in one process: replicas need
    sticky sessions (docs/replicas.md)."""

    def __init__(
        self, max_age_s: float = 12 * 3600.0, max_sessions: int = 1_000, clock: Callable[[], float] = time.time
    ) -> None:
        self.max_age_s = max_age_s
        self.max_sessions = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, AgentSession] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, user: str) -> str:
        """A new session for `user`: the token to set as the cookie."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[_key(token)] = AgentSession(user, self._clock() + self.max_age_s)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return token

    def user(self, token: str) -> str | None:
        """The signed-in user of this cookie's session, or None (no session, ended or expired)."""
        if not token:
            return None
        key = _key(token)
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.expires <= self._clock():
                del self._sessions[key]
                session = None
        return session.user if session is not None else None

    def end(self, token: str) -> None:
        """Sign this cookie's session out (nothing happens for an unknown one)."""
        with self._lock:
            self._sessions.pop(_key(token), None)

    def __len__(self) -> int:
        return len(self._sessions)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def session_cookie(token: str, secure: bool, max_age_s: float | None = None) -> str:
    """The Set-Cookie value of the agent's session: readable by no script (HttpOnly), sent to the
    console's paths only and never with a request another site starts (SameSite=Strict);
    `max_age_s` 0 deletes it."""
    age = f"; Max-Age={int(max_age_s)}" if max_age_s is not None else ""
    return f"{AGENT_COOKIE}={token}; Path={AGENT_PATH}; HttpOnly; SameSite=Strict{age}{'; Secure' if secure else ''}"


class CsrfTokens:
    """A token that ties a state-changing request to the session cookie it comes with: an HMAC
    of that cookie under a key of this process. The console's page fetches it from its own
    origin; another site can neither read it (same-origin policy) nor forge it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def token_for(self, cookies: Mapping[str, str]) -> str:
        """The token for these cookies ("" without a session cookie)."""
        session = cookies.get(AGENT_COOKIE, "")
        return hmac.new(self._key, session.encode("utf-8", "replace"), "sha256").hexdigest() if session else ""

    def valid(self, cookies: Mapping[str, str], token: str) -> bool:
        """Whether `token` is the one for these cookies (compared in constant time)."""
        expected = self.token_for(cookies)
        return bool(expected) and hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))


# The console's Log out button: fetch the token, POST the logout with it, then show the sign-in page.
LOGOUT_JS = f"""async () => {{
  const here = new URL(".", window.location.href);
  try {{
    const reply = await fetch(new URL("{CSRF_ROUTE.rsplit("/", 1)[1]}", here),
                              {{credentials: "same-origin", cache: "no-store"}});
    const token = (await reply.json()).token || "";
    await fetch(new URL("{LOGOUT_ROUTE.rsplit("/", 1)[1]}", here),
                {{method: "POST", credentials: "same-origin", headers: {{"{CSRF_HEADER}": token}}}});
  }} finally {{
    window.location.assign(here.href);
  }}
}}"""
