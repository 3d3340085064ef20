"""The web app: a public customer chat and an agent console behind a login, on one server.

`build_customer_app` and `build_agent_app` build the two Gradio Blocks (nothing is built
or loaded at import); `build_server` mounts them on one FastAPI app — the customer chat
at "/", the agent console at "/agent" behind its own sign-in (app/web/signin.py) — and `launch`, called
only by the CLI, serves it with uvicorn. Both views answer through `Assistant.ask`, the
code path of `privacy-assistant ask`.

Everything put into HTML is escaped (app.web.render): policy text and user text alike. What a
user types is redacted (app.redact) before it is logged, stored or even echoed back.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from app.web.config import (
    DEFAULT_RATE_PER_MINUTE,
    Credentials,
    WebConfig,
    load_config,
)
from app.web.guards import MAX_USER_CHARS, RATE_LIMITED, LoginGuard, RateLimiter, client_key
from app.web.server import build_server, launch
from app.web.service import CustomerReply, CustomerService, Draft

if TYPE_CHECKING:
    from app.web.agent import build_agent_app, compare_presets
    from app.web.customer import ChatState, ChatTurns, build_customer_app, render_draft

# The Gradio views import Gradio (their handlers' annotations name its classes): loaded on first use.
_VIEWS = {
    "build_agent_app": "app.web.agent",
    "compare_presets": "app.web.agent",
    "ChatState": "app.web.customer",
    "ChatTurns": "app.web.customer",
    "build_customer_app": "app.web.customer",
    "render_draft": "app.web.customer",
}


def __getattr__(name: str) -> Any:
    if name in _VIEWS:
        return getattr(importlib.import_module(_VIEWS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_RATE_PER_MINUTE",
    "MAX_USER_CHARS",
    "RATE_LIMITED",
    "ChatState",
    "ChatTurns",
    "Credentials",
    "CustomerReply",
    "CustomerService",
    "Draft",
    "LoginGuard",
    "RateLimiter",
    "WebConfig",
    "build_agent_app",
    "build_customer_app",
    "build_server",
    "client_key",
    "compare_presets",
    "launch",
    "load_config",
    "render_draft",
]
