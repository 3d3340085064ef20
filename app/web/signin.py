"""The agent console's sign-in, in front of Gradio and through its public hooks only: our own
sign-in page and routes (log in, CSRF token, log out, the feedback export), a session cookie
this server issues (`app.web.session`), the gate that lets a request without that session reach
nothing of the console but the sign-in, and `user`, the dependency Gradio is given as
`auth_dependency` to ask who the agent is (handlers read it as `gr.Request.username`).

Imported only when the server is built (it imports FastAPI, whose route declarations read this
module's annotations): `import app.web` stays light.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import fastapi
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.requests import HTTPConnection

from app.feedback import FeedbackStore
from app.web.assets import signin_page
from app.web.config import AGENT_PATH, EXPORT_ROUTE
from app.web.guards import LOCKED_MESSAGE, LoginGuard
from app.web.session import (
    AGENT_COOKIE,
    CSRF_HEADER,
    CSRF_ROUTE,
    LOGIN_ROUTE,
    LOGOUT_ROUTE,
    AgentSessions,
    CsrfTokens,
    session_cookie,
)

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

AUTH_MESSAGE = "Agent console: sign in with your agent credentials."
NOT_SIGNED_IN = {"detail": "Not authenticated: sign in to the agent console first"}
REFUSED = "Incorrect credentials."


@dataclass(frozen=True)
class SignIn:
    """The console's sign-in: `guard` checks the credentials (lockouts, throttling), `sessions`
    holds who signed in, `csrf` ties a logout to its session."""

    guard: LoginGuard
    sessions: AgentSessions = field(default_factory=AgentSessions)
    csrf: CsrfTokens = field(default_factory=CsrfTokens)

    def user(self, request: HTTPConnection) -> str | None:
        """The signed-in agent of this request, or None: Gradio's `auth_dependency`."""
        return self.sessions.user(request.cookies.get(AGENT_COOKIE, ""))

    def require(self, request: fastapi.Request) -> str:
        """A FastAPI dependency: the signed-in agent, or 401."""
        if (user := self.user(request)) is None:
            raise fastapi.HTTPException(status_code=401, detail=NOT_SIGNED_IN["detail"])
        return user

    async def login(self, request: fastapi.Request) -> Response:
        """POST /agent/login with `username` and `password` (a form, as Gradio's login and
        `gradio_client` send them): 200 and the session cookie; 400 when refused; 429 with how
        long to wait when this client or this name is locked."""
        form = await request.form()  # the edge has already refused a body over the route's limit
        user, password = (value if isinstance(value := form.get(k), str) else "" for k in ("username", "password"))
        client = request.client.host if request.client else "unknown"
        result = self.guard.check(client, user.strip(), password)
        if result.locked_for > 0:
            minutes = max(1, math.ceil(result.locked_for / 60))
            detail = LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")
            return JSONResponse({"detail": detail}, 429, {"Retry-After": str(math.ceil(result.locked_for))})
        if not result.ok:
            return JSONResponse({"detail": REFUSED}, status_code=400)
        self.sessions.end(request.cookies.get(AGENT_COOKIE, ""))  # a new session, never the one a cookie named
        token = self.sessions.start(user.strip())
        response = JSONResponse({"success": True}, headers={"Cache-Control": "no-store"})
        response.headers.append("set-cookie", session_cookie(token, request.url.scheme == "https"))
        return response

    def csrf_token(self, request: fastapi.Request) -> JSONResponse:
        """GET /agent/csrf-token: the token a logout must carry, for this session's cookie."""
        return JSONResponse({"token": self.csrf.token_for(request.cookies)}, headers={"Cache-Control": "no-store"})

    def logout(self, request: fastapi.Request) -> JSONResponse:
        """POST /agent/logout with the session's CSRF token ends the session (here and in the
        browser); any other method is refused, so a link on another site signs nobody out."""
        if request.method != "POST":
            detail = "sign out with the console's Log out button (a POST with its CSRF token)"
            return JSONResponse({"detail": detail}, status_code=405, headers={"Allow": "POST"})
        if not self.csrf.valid(request.cookies, request.headers.get(CSRF_HEADER, "")):
            return JSONResponse({"detail": "missing or invalid CSRF token"}, status_code=403)
        self.sessions.end(request.cookies.get(AGENT_COOKIE, ""))
        response = JSONResponse({"detail": "signed out"}, headers={"Cache-Control": "no-store"})
        response.headers.append("set-cookie", session_cookie("", request.url.scheme == "https", max_age_s=0))
        return response


def console_router(signin: SignIn, store: FeedbackStore) -> fastapi.APIRouter:
    """The console's own routes (not Gradio's): "/agent" to "/agent/", sign in, CSRF token, log
    out, feedback export.
    Included before Gradio's app is mounted at /agent, so these paths are ours."""
    router = fastapi.APIRouter(include_in_schema=False)

    def export_feedback() -> Response:
        """The feedback as CSV, to a signed-in agent only; streamed, never stored as a file."""
        log.info("feedback exported by the agent console")
        return Response(
            store.export_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="feedback.csv"', "Cache-Control": "no-store"},
        )

    def to_console() -> RedirectResponse:
        return RedirectResponse(AGENT_PATH + "/")

    router.add_api_route(AGENT_PATH, to_console, methods=["GET"])
    signed_in = [fastapi.Depends(signin.require)]  # the gate checks too: this holds whatever the middleware order
    for path in (LOGIN_ROUTE, LOGIN_ROUTE + "/"):
        router.add_api_route(path, signin.login, methods=["POST"])
    for path in (CSRF_ROUTE, CSRF_ROUTE + "/"):
        router.add_api_route(path, signin.csrf_token, methods=["GET"], dependencies=signed_in)
    for path in (LOGOUT_ROUTE, LOGOUT_ROUTE + "/"):
        router.add_api_route(path, signin.logout, methods=["GET", "POST"], dependencies=signed_in)
    router.add_api_route(EXPORT_ROUTE, export_feedback, methods=["GET"], dependencies=signed_in)
    return router


class AgentGate:
    """ASGI middleware for the console's paths: a request without a signed-in agent's session
    reaches the sign-in page (GET /agent/) and the login route, nothing else; every other
    /agent path answers 401, Gradio's own routes included (some, such as cancel, Gradio
    leaves open even with a login). Nothing is buffered: a request passes or is answered here.
    Customer requests pass straight through."""

    def __init__(self, app: Any, signin: SignIn, auth_message: str = AUTH_MESSAGE) -> None:
        self.app, self.signin = app, signin
        self.page = signin_page("Privacy assistant · agent console", auth_message)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(AGENT_PATH + "/"):
            await self.app(scope, receive, send)  # "/agent" itself is only a redirect to "/agent/"
            return
        if self.signin.user(HTTPConnection(scope)) is not None:
            await self.app(scope, receive, send)
            return
        rest, method = path[len(AGENT_PATH) :].rstrip("/"), scope["method"]
        if rest == "" and method in ("GET", "HEAD"):
            answer: Response = HTMLResponse(self.page, headers={"Cache-Control": "no-store"})
        elif rest == "/login" and method == "POST":
            await self.app(scope, receive, send)
            return
        else:
            answer = JSONResponse(NOT_SIGNED_IN, status_code=401)
        await answer(scope, receive, send)
