"""The agent's session: a CSRF token for what changes it, and logout only by POST with that
token (a GET of Gradio's logout route, a link or an image on another site, signed agents out)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from app.web.config import AGENT_PATH

CSRF_HEADER = "X-CSRF-Token"
CSRF_ROUTE = AGENT_PATH + "/csrf-token"
LOGOUT_ROUTE = AGENT_PATH + "/logout"  # Gradio's own logout route, which ends the session
_SESSION_COOKIE = "access-token-"  # Gradio's login cookies: access-token-<app>, access-token-unsecure-<app>


class CsrfTokens:
    """A token that ties a state-changing request to the session cookies it comes with: an
    HMAC of those cookies under a key of this process. The console's page fetches it from its
    own origin; another site can neither read it (same-origin policy) nor forge it."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)

    def token_for(self, cookies: Mapping[str, str]) -> str:
        """The token for these cookies ("" without a session cookie)."""
        session = "\n".join(sorted(v for k, v in cookies.items() if k.startswith(_SESSION_COOKIE)))
        return hmac.new(self._key, session.encode("utf-8", "replace"), "sha256").hexdigest() if session else ""

    def valid(self, cookies: Mapping[str, str], token: str) -> bool:
        """Whether `token` is the one for these cookies (compared in constant time)."""
        expected = self.token_for(cookies)
        return bool(expected) and hmac.compare_digest(expected.encode(), token.encode("utf-8", "replace"))


# One per process, as Gradio's session tokens are (replicas need sticky sessions for those already).
SESSION_CSRF = CsrfTokens()


async def session_gate(request: Any, call_next: Callable[[Any], Any], csrf: CsrfTokens = SESSION_CSRF) -> Any | None:
    """For the agent console's middleware: the response to a session route, or None for any
    other request. `GET csrf-token` answers the caller's token; logout is refused unless it is
    a POST carrying that token, and is then passed to Gradio's logout, which ends the session."""
    from fastapi.responses import JSONResponse

    path = request.url.path.rstrip("/")
    if path == CSRF_ROUTE and request.method == "GET":
        return JSONResponse({"token": csrf.token_for(request.cookies)}, headers={"Cache-Control": "no-store"})
    if path != LOGOUT_ROUTE:
        return None
    if request.method != "POST":
        detail = "sign out with the console's Log out button (a POST with its CSRF token)"
        return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": "POST"})
    if not csrf.valid(request.cookies, request.headers.get(CSRF_HEADER, "")):
        return JSONResponse({"detail": "missing or invalid CSRF token"}, status_code=403)
    request.scope["method"] = "GET"  # Gradio's logout is a GET route; only this checked POST reaches it
    return await call_next(request)


# The console's Log out button: fetch the token, POST the logout with it, then show the login page.
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
