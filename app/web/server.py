"""One FastAPI app for both views (the customer chat at "/", the agent console at "/agent"
behind its login), the edge checks in front of them, and `launch`."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.errors import AssistantError
from app.feedback import FeedbackStore
from app.pgstate import SharedState, shared_state

if TYPE_CHECKING:
    import fastapi

    from app.assistant import Assistant
    from app.llm import LLMAnswerer

from app.settings import ENV_CONFIG, Settings, prepare_runtime
from app.web.agent import build_agent_app
from app.web.assets import CSS, CUSTOMER_JS, _theme
from app.web.config import AGENT_PATH, ENV_PASSWORD, ENV_USER, EXPORT_ROUTE, WebConfig, load_config
from app.web.customer import build_customer_app
from app.web.edge import EdgeGuard, EdgePolicy, Mount, allow, gradio_routes
from app.web.guards import _LOGIN, LOCKED_MESSAGE, LoginGuard, RateLimiter
from app.web.session import session_gate

log = logging.getLogger(__name__)


def _disabled_page() -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Agent console disabled</title>"
        "<p>The agent console is disabled: no credentials are configured. Set "
        f"<code>{ENV_USER}</code> and <code>{ENV_PASSWORD}</code>, or <code>[agent] user/password</code> "
        f"in the TOML file named by <code>{ENV_CONFIG}</code>, and restart.</p>"
    )


def build_server(
    assistant: Assistant, config: WebConfig | None = None, llm: LLMAnswerer | None = None
) -> fastapi.FastAPI:
    """One FastAPI app: the customer chat at "/" and, when credentials are configured,
    the agent console at "/agent" behind a login. `llm`: answer with the language model."""
    prepare_runtime()  # before Gradio is imported: its analytics read the environment then
    import fastapi
    import gradio as gr
    from fastapi.responses import HTMLResponse

    config = config or load_config()
    shared = shared_state(config.database_url) if config.database_url else None
    store = shared.store if shared is not None else FeedbackStore(config.feedback_db)
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.get("/healthz", include_in_schema=False)(_health_check(assistant, shared))
    common: dict[str, Any] = {"theme": _theme(), "css": CSS, "ssr_mode": False, "footer_links": ["api"]}
    # The agent console is mounted first: a mount at "/" would swallow "/agent".
    agent_mount = Mount(AGENT_PATH, (allow("GET HEAD", r"/?"),))  # the "disabled" page only
    if config.credentials is not None:
        guard = LoginGuard(config.credentials, failures=shared.failures if shared is not None else None)
        agent = build_agent_app(assistant, store, llm, config.letter)
        _mount_agent(app, agent, store, guard, common)
        agent_mount = Mount(AGENT_PATH, agent_routes(config.agent_body_limit), frozenset(agent.fns))
    else:
        log.warning("agent console disabled: set %s and %s (or %s) to enable it", ENV_USER, ENV_PASSWORD, ENV_CONFIG)

        @app.get(AGENT_PATH, response_class=HTMLResponse)
        @app.get(AGENT_PATH + "/", response_class=HTMLResponse)
        def agent_disabled() -> str:
            return _disabled_page()

    # Customers see no tracebacks or internal messages (their handlers answer politely).
    limiter = RateLimiter(config.rate_per_minute, buckets=shared.buckets if shared is not None else None)
    customer = build_customer_app(assistant, store, limiter, llm)
    gr.mount_gradio_app(app, customer, path="/", show_error=False, js=CUSTOMER_JS, **common)
    public = (*gradio_routes(config.api_body_limit, config.event_body_limit), allow("GET HEAD", "/healthz"))
    policy = EdgePolicy((Mount("", public, frozenset(customer.fns)), agent_mount), frozenset(config.allowed_origins))
    app.add_middleware(_AgentPaths)
    app.add_middleware(EdgeGuard, policy=policy)  # added last: it runs first, before any route reads a byte
    _unshare_answer_cache(assistant)
    return app


def agent_routes(body_limit: int) -> tuple[Any, ...]:
    """The routes of the agent console: Gradio's (as the public app's), its login, CSRF token
    and logout, its cancel button and the feedback export."""
    return (
        *gradio_routes(body_limit, body_limit),
        allow("GET HEAD", r"|/export/feedback\.csv|/login_check/?|/csrf-token/?"),
        allow("POST", r"/login/?", body_limit=body_limit),
        allow("GET POST", r"/logout/?", body_limit=body_limit),
        allow("POST", r"/gradio_api/cancel/?", session="body", body_limit=body_limit),
    )


def _unshare_answer_cache(assistant: Assistant) -> None:
    """Question vectors are cached by their text for the whole process: a repeated text is
    answered ~30 ms sooner, which tells a caller what someone else just asked. The served
    process keeps no such cache (every question costs the same); the CLI and benchmarks keep it."""
    embedder = assistant.embedder
    if hasattr(embedder, "query_cache_size") and hasattr(embedder, "clear_cache"):
        embedder.query_cache_size = 0
        embedder.clear_cache()


def _mount_agent(app: Any, agent: Any, store: FeedbackStore, guard: LoginGuard, common: dict[str, Any]) -> None:
    """The agent console at /agent behind Gradio's login (checked by `guard`), and its
    feedback export, streamed to a signed-in agent only."""
    import fastapi
    import gradio as gr
    from fastapi.responses import JSONResponse, RedirectResponse, Response

    @app.get(AGENT_PATH, include_in_schema=False)
    def agent_slash() -> RedirectResponse:
        return RedirectResponse(AGENT_PATH + "/")

    def export_feedback(request: fastapi.Request) -> Response:
        """The feedback as CSV, to a signed-in agent only; streamed, never stored as a file."""
        if not _agent_signed_in(app, request):
            return JSONResponse({"detail": "sign in to the agent console first"}, status_code=401)
        return Response(
            store.export_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="feedback.csv"', "Cache-Control": "no-store"},
        )

    # FastAPI reads the request parameter by its class (postponed annotations are strings).
    export_feedback.__annotations__.update(request=fastapi.Request, **{"return": Response})
    app.get(EXPORT_ROUTE, include_in_schema=False)(export_feedback)
    auth_message = "Agent console: sign in with your agent credentials."
    gr.mount_gradio_app(app, agent, path=AGENT_PATH, auth=guard, auth_message=auth_message, **common)


def _health_check(assistant: Assistant, shared: SharedState | None) -> Callable[[], Any]:
    """GET /healthz for a load balancer or an orchestrator: 200 "ok" when the live build is
    served and the database answers; 200 "degraded" when the live build failed verification
    and the last good one answers instead (keep the replica in rotation, alert someone); 503
    "unavailable" when there is nothing to answer from or the database is down. The body says
    the state, the served build's id and size and the database's state: never a path, a process
    id or an error text (those go to the log)."""
    from fastapi.responses import JSONResponse

    def healthz() -> JSONResponse:
        try:
            health = assistant.index_health()
            index = {"build": health.build, "clauses": health.clauses}
            body: dict[str, Any] = {"status": health.status, "index": index}
        except AssistantError:
            log.debug("healthz: no index to serve")
            body = {"status": "unavailable", "index": {"build": None}}
        database = "sqlite" if shared is None else ("ok" if shared.healthy() else "unreachable")
        body["database"] = database
        if database == "unreachable":
            body["status"] = "unavailable"
        return JSONResponse(body, status_code=503 if body["status"] == "unavailable" else 200)

    return healthz


# Shown on the agent login page: Gradio's form says "Incorrect credentials" for any refusal;
# a locked sign-in (HTTP 429) gets its own message, with how long to wait.
_LOGIN_SCRIPT = """<script>(() => {
  const fetch0 = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetch0(...args);
    const url = String((args[0] && args[0].url) || args[0]);
    if (response.status === 429 && /\\/login\\/?$/.test(url)) {
      let note = document.getElementById("pa-login-locked");
      if (!note) {
        note = document.createElement("p");
        note.id = "pa-login-locked";
        note.setAttribute("role", "alert");
        note.style.cssText = "color:#991b1b;font-weight:600;text-align:center;margin:12px auto;max-width:480px";
        (document.querySelector("form") || document.body).prepend(note);
      }
      let detail = "Try again later.";
      try { detail = (await response.clone().json()).detail; } catch (e) {}
      note.textContent = detail;
    }
    return response;
  };
})();</script>"""


_TITLE = "<title>Privacy assistant · agent console</title>"


def _agent_signed_in(app: Any, request: Any) -> bool:
    """Whether the request carries a session of the agent console's Gradio app (its login)."""
    for route in app.routes:
        gradio_app: Any = getattr(route, "app", None)
        if getattr(route, "path", None) == AGENT_PATH and hasattr(gradio_app, "tokens"):
            cookie_id = getattr(gradio_app, "cookie_id", "")
            for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
                token = request.cookies.get(name)
                if token and gradio_app.tokens.get(token):
                    return True
    return False


class _AgentPaths:
    """ASGI middleware: sends the agent console's requests through `_agent_guard`; customer
    requests pass straight through, so the public chat pays nothing for the console's checks.
    (What every request must pass, customer or agent, is `EdgeGuard`'s, in front of this.)"""

    def __init__(self, app: Any) -> None:
        from starlette.middleware.base import BaseHTTPMiddleware

        self.app = app
        self.agent = BaseHTTPMiddleware(app, dispatch=_agent_guard)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == AGENT_PATH or path.startswith(AGENT_PATH + "/")):
            await self.agent(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def _agent_guard(request: Any, call_next: Callable[[Any], Any]) -> Any:
    """Middleware for the agent console: tells the login guard which client is signing in
    and answers a locked sign-in with its own message."""
    from fastapi.responses import JSONResponse, Response

    path = request.url.path  # an agent path: `_AgentPaths` sends only those here
    if request.method == "POST" and path.rstrip("/").endswith("/cancel") and not _agent_signed_in(request.app, request):
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)  # Gradio leaves this route open
    if (session := await session_gate(request, call_next)) is not None:
        return session  # the CSRF token; logout only by POST with it
    login: dict[str, Any] | None = None
    token = None
    if request.method == "POST" and path.rstrip("/").endswith("/login"):
        login = {"client": request.client.host if request.client else "unknown"}
        token = _LOGIN.set(login)
    try:
        response = await call_next(request)
    finally:
        if token is not None:
            _LOGIN.reset(token)
    if login is not None and (wait := float(login.get("locked_for", 0.0))) > 0:
        minutes = max(1, math.ceil(wait / 60))
        detail = LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")
        response = JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": str(math.ceil(wait))})
    elif request.method == "GET" and response.headers.get("content-type", "").startswith("text/html"):
        body = b"".join([chunk async for chunk in response.body_iterator])
        head = _LOGIN_SCRIPT if b"<title" in body else _TITLE + _LOGIN_SCRIPT  # Gradio's login page has none
        body = body.replace(b"</head>", head.encode() + b"</head>", 1)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        response = Response(body, status_code=response.status_code, headers=headers)
    return response  # EdgeGuard adds the anti-framing headers to every answer


def launch(assistant: Assistant, settings: Settings, llm: LLMAnswerer | None = None) -> None:
    """Serve both views until interrupted (called by `privacy-assistant serve`)."""
    import sys

    import uvicorn

    config = WebConfig.from_settings(settings)
    host, port = settings.host, settings.port
    app = build_server(assistant, config, llm)
    agent = f"http://{host}:{port}{AGENT_PATH}/" if config.credentials else "disabled (no credentials configured)"
    print(
        f"customer chat: http://{host}:{port}/\nagent console: {agent}\n"
        f"feedback: {'PostgreSQL (database_url)' if config.database_url else config.feedback_db}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(config.trusted_proxies),  # uvicorn would trust any client on 127.0.0.1
        forwarded_allow_ips=",".join(config.trusted_proxies) or None,
    )
