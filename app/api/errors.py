"""One error shape for the whole `/v1` API: `{"error": {"field", "message", "type"}}` with a 4xx
status naming the field at fault, never a traceback and never the value sent (it may be a card
number or megabytes long). FastAPI's own validation errors are turned into the same shape by the
router's route class, so the rest of the app (Gradio, `/healthz`) is untouched. The body also
reads as an OpenAI error (`error.message`, `error.type`), which that protocol's clients show."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.api.models import ErrorBody

log = logging.getLogger(__name__)

INVALID = "invalid_request_error"
STATUS_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error",
                409: "conflict_error", 429: "rate_limit_error", 500: "server_error"}  # fmt: skip


class ApiError(Exception):
    """A request the API refuses: the HTTP status, the field at fault (None: the request as a
    whole) and a one-line message."""

    def __init__(self, status: int, field: str | None, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.field, self.message, self.headers = status, field, message, headers or {}

    def response(self) -> JSONResponse:
        kind = STATUS_TYPES.get(self.status, INVALID)
        body = {"error": {"field": self.field, "message": self.message, "type": kind}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def field_name(loc: Sequence[int | str]) -> str | None:
    """A validation error's location as the caller wrote it: ("body", "messages", 0, "content")
    is "messages[0].content"; the body as a whole is "body"."""
    parts = list(loc[1:]) if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    if not parts:
        return "body" if loc and loc[0] == "body" else None
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def validation_error(exc: RequestValidationError) -> ApiError:
    """The first problem pydantic found, as an `ApiError` (its message, never the input)."""
    errors = list(exc.errors())
    first: dict[str, Any] = errors[0] if errors else {}
    loc = [p for p in first.get("loc", ()) if not (isinstance(p, str) and p.startswith("function-"))]
    message = str(first.get("msg", "invalid request"))
    if first.get("type") == "json_invalid":
        return ApiError(422, "body", "the body is not valid JSON")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    field = field_name(loc)
    return ApiError(422, field, f"{field}: {message}{more}" if field else message + more)


class ApiRoute(APIRoute):
    """Every `/v1` route answers its errors in the API's shape: validation errors (422), the
    `ApiError`s its handler raises, and anything unexpected (500, logged without the request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return validation_error(exc).response()
            except ApiError as exc:
                return exc.response()
            except Exception:
                log.exception("API request failed: %s %s", request.method, request.url.path)
                return ApiError(500, None, "internal error").response()

        return guarded


# For the OpenAPI document: what each refusal looks like.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "the API key is not valid or was revoked"},
    422: {"model": ErrorBody, "description": "a field is invalid; `field` names it"},
    429: {"model": ErrorBody, "description": "over the rate limit (per client, or per API key)"},
}
