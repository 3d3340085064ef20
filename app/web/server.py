"""One FastAPI app for both views (the customer chat at "/", the agent console at "/agent"
behind its login), the edge checks in front of them, and `launch`."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.errors import AssistantError
from app.feedback import FeedbackStore
from app.pgstate import SharedState, shared_state

if TYPE_CHECKING:
    import fastapi

    from app.assistant import Assistant
    from app.llm import LLMAnswerer
    from app.web.signin import SignIn

from app.settings import ENV_CONFIG, Settings, prepare_runtime
from app.web.assets import CSS, CUSTOMER_JS, _theme
from app.web.config import AGENT_PATH, ENV_PASSWORD, ENV_USER, WebConfig
from app.web.edge import EdgeGuard, EdgePolicy, Mount, allow, gradio_routes
from app.web.guards import LoginGuard, RateLimiter

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
    the agent console at "/agent" behind its sign-in. `llm`: answer with the language model."""
    prepare_runtime()  # before Gradio is imported: its analytics read the environment then
    import fastapi
    import gradio as gr
    from fastapi.responses import HTMLResponse

    from app.web.customer import build_customer_app

    config = config or WebConfig.declared()  # the declared defaults: no agent console
    shared = shared_state(config.database_url) if config.database_url else None
    store = shared.store if shared is not None else FeedbackStore(config.feedback_db)
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.get("/healthz", include_in_schema=False)(_health_check(assistant, shared))
    common: dict[str, Any] = {"theme": _theme(), "css": CSS, "ssr_mode": False, "footer_links": ["api"]}
    # The agent console is mounted first: a mount at "/" would swallow "/agent".
    agent_mount = Mount(AGENT_PATH, (allow("GET HEAD", r"/?"),))  # the "disabled" page only
    signin: SignIn | None = None
    if config.credentials is not None:
        from app.web.agent import build_agent_app
        from app.web.signin import SignIn

        signin = SignIn(LoginGuard(config.credentials, failures=shared.failures if shared is not None else None))
        agent = build_agent_app(assistant, store, llm, config.letter)
        _mount_agent(app, agent, store, signin, common)
        agent_mount = Mount(AGENT_PATH, agent_routes(config.agent_body_limit), frozenset(agent.fns))
    else:
        log.warning("agent console disabled: set %s and %s (or %s) to enable it", ENV_USER, ENV_PASSWORD, ENV_CONFIG)

        @app.get(AGENT_PATH, response_class=HTMLResponse)
        @app.get(AGENT_PATH + "/", response_class=HTMLResponse)
        def agent_disabled() -> str:
            return _disabled_page()

    # Customers see no tracebacks or internal messages (their handlers answer politely).
    limiter = RateLimiter(config.rate_per_minute, buckets=shared.buckets if shared is not None else None)
    from app.api.mount import build_api, edge_routes  # the /v1 REST API: before the mount at "/" swallows its paths

    app.include_router(build_api(assistant, store, limiter, llm, config.feedback_db, shared.pool if shared else None))
    customer = build_customer_app(assistant, store, limiter, llm)
    gr.mount_gradio_app(app, customer, path="/", show_error=False, js=CUSTOMER_JS, **common)
    public = (*gradio_routes(config.api_body_limit, config.event_body_limit), allow("GET HEAD", "/healthz"))
    public += edge_routes(config.api_body_limit)
    policy = EdgePolicy((Mount("", public, frozenset(customer.fns)), agent_mount), frozenset(config.allowed_origins))
    if signin is not None:
        from app.web.signin import AgentGate

        app.add_middleware(AgentGate, signin=signin)  # the console's paths: nothing but the sign-in without a session
    app.add_middleware(EdgeGuard, policy=policy)  # added last: it runs first, before any route reads a byte
    _unshare_answer_cache(assistant)
    return app


def agent_routes(body_limit: int) -> tuple[Any, ...]:
    """The routes of the agent console: Gradio's (as the public app's), the sign-in, CSRF token
    and logout (app/web/signin.py), its cancel button and the feedback export."""
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


def _mount_agent(app: Any, agent: Any, store: FeedbackStore, signin: SignIn, common: dict[str, Any]) -> None:
    """The agent console at /agent: our sign-in routes and the feedback export first (so those
    paths are ours), then Gradio's app, which asks `signin.user` who the agent is."""
    import gradio as gr

    from app.web.signin import AUTH_MESSAGE, console_router

    app.include_router(console_router(signin, store))
    gr.mount_gradio_app(app, agent, path=AGENT_PATH, auth_dependency=signin.user, auth_message=AUTH_MESSAGE, **common)


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
