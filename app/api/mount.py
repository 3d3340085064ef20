"""The API as the web server mounts it: the `/v1` routers, the OpenAPI document at `/openapi.json`
and its reference page at `/docs` (Swagger UI served from this server, not a CDN: nothing is
fetched from the internet at run time), and the edge's allow-list entries for all of them."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic.json_schema import models_json_schema

from app.api.context import ApiContext
from app.api.db import open_api_database
from app.api.keys import KeyStore
from app.api.ledger import AnswerLedger, MemoryLedger
from app.api.models import CLAUSE_ID_CHARS
from app.api.openai_compat import ChatCompletionChunk, openai_router
from app.api.routes import api_router
from app.feedback import FeedbackStore
from app.web.edge import Route, allow
from app.web.service import CustomerService

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer
    from app.web.guards import RateLimiter

TITLE = "Privacy assistant API"
DESCRIPTION = (
    "Answers from the privacy policies, with citations. Customers call without a key (rate-limited per "
    "address); agents and servers send `Authorization: Bearer pa_…` (`privacy-assistant keys create`). "
    "Errors: `{\"error\": {\"field\", \"message\", \"type\"}}`."
)
ASSETS = {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}  # from fastapi-offline's package data
CHAT_BODY_BYTES = 64 * 1024  # a conversation: questions and the replies between them (deploy/nginx.conf: 64k too)


def build_api(
    assistant: Assistant, store: FeedbackStore, limiter: RateLimiter | None, llm: LLMAnswerer | None,
    feedback_db: Path, pool: Any = None,
) -> APIRouter:  # fmt: skip
    """Every API route, asking through a `CustomerService` with the chat's limiter (so a customer's
    chat and API questions share one budget); state in the feedback's database (`pool`: PostgreSQL)."""
    db = open_api_database(feedback_db, pool)
    ledger = AnswerLedger(db) if pool is not None else MemoryLedger()  # shared by replicas, else in memory
    context = ApiContext.create(CustomerService(assistant, store, limiter, llm), KeyStore(db), ledger)
    rest, chat = api_router(context), openai_router(context)
    router = APIRouter()
    for part in (rest, chat, docs_router([rest, chat])):
        router.include_router(part)
    return router


def openapi_document(routers: list[APIRouter]) -> dict[str, Any]:
    """The OpenAPI document of the `/v1` routes (the Gradio and console routes are not an API
    promised to integrators), with the streamed chunk's schema the SSE response refers to."""
    routes = [route for router in routers for route in router.routes]
    document = get_openapi(title=TITLE, version="1", description=DESCRIPTION, routes=routes)
    _, extra = models_json_schema([(ChatCompletionChunk, "serialization")],
                                  ref_template="#/components/schemas/{model}")  # fmt: skip
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in extra.get("$defs", {}).items():
        schemas.setdefault(name, schema)
    return document


def docs_router(routers: list[APIRouter]) -> APIRouter:
    """`/openapi.json` (built once) and `/docs` with its assets."""
    router = APIRouter(include_in_schema=False)
    document = openapi_document(routers)
    static = resources.files("fastapi_offline") / "static"

    @router.get("/openapi.json")
    def openapi() -> dict[str, Any]:
        return document

    @router.get("/docs", response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title=TITLE, swagger_js_url="/docs/swagger-ui-bundle.js",
            swagger_css_url="/docs/swagger-ui.css", swagger_favicon_url="/docs/favicon.png",
        )  # fmt: skip

    @router.get("/docs/{name}")
    def asset(name: str) -> Response:
        if name not in ASSETS:  # the edge lets only these through; this is the second lock
            return Response(status_code=404)
        return FileResponse(str(static / name), headers={"Cache-Control": "public, max-age=86400"})

    return router


def edge_routes(body_limit: int) -> tuple[Route, ...]:
    """The API's entries in the edge's allow-list (app/web/edge.py), each with its body limit:
    a question's (as the Gradio `ask` call's), a conversation's (64 KiB), none for a GET."""
    assets = "|".join(name.replace(".", r"\.") for name in sorted(ASSETS))
    return (
        allow("POST", r"/v1/answers|/v1/feedback", body_limit=body_limit),
        allow("POST", r"/v1/chat/completions", body_limit=max(CHAT_BODY_BYTES, body_limit)),
        allow("GET", rf"/v1/(policies|models|feedback|clauses/[^?#]{{1,{CLAUSE_ID_CHARS}}})"),
        allow("GET", rf"/openapi\.json|/docs|/docs/({assets})"),
    )
