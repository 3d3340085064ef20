"""The `/v1` REST endpoints: answers, the catalogue, a clause, ratings (and, for agents, the
ratings given). Plain FastAPI routes beside the mounted Gradio apps, never through Gradio's queue:
a `def` runs in FastAPI's threadpool, and a question's blocking work goes there too
(`ApiContext.off_loop`), so one slow question stalls no other request."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.api import models
from app.api.context import ApiContext, Caller, answer_fields
from app.api.errors import ERROR_RESPONSES, ApiError, ApiRoute
from app.feedback import FeedbackStore

BEARER = HTTPBearer(auto_error=False, description="an API key: `privacy-assistant keys create NAME`")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
CLAUSE_ID = "a citation's `clause_id`, as it is (its slashes need no escaping)"
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": models.ErrorBody, "description": "no such item"}}


def caller_dependency(context: ApiContext) -> Any:
    """A FastAPI dependency: the request's `Caller` (401 for an Authorization header that does
    not carry an active key; none at all is a customer)."""

    def caller(request: Request, credentials: Credentials) -> Caller:
        if credentials is None and "authorization" in request.headers:
            raise ApiError(401, "Authorization", "send the API key as `Authorization: Bearer pa_…`",
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip
        client = request.client.host if request.client else "unknown"  # the chat's key (app.web.guards.client_key)
        return context.caller(client, credentials.credentials if credentials else None)

    return Depends(caller)


def agent_only(who: Caller) -> None:
    if who.key is None:
        raise ApiError(401, "Authorization", "this needs an API key (`Authorization: Bearer pa_…`)",
                       {"WWW-Authenticate": "Bearer"})  # fmt: skip


def api_router(context: ApiContext) -> APIRouter:
    """`/v1/answers`, `/v1/policies`, `/v1/clauses/{id}` and `/v1/feedback`."""
    router = APIRouter(prefix="/v1", route_class=ApiRoute, responses=ERROR_RESPONSES)
    who = caller_dependency(context)
    assistant = context.service.assistant

    @router.post("/answers", tags=["answers"], summary="Answer a question from the policies")
    async def answers(body: models.AnswerRequest, caller: Caller = who) -> models.AnswerResponse:
        """A customer (no key) is limited per address as in the chat and names current policies
        only; an agent (API key) has the key's own limit, may name any version and may ask for
        the retrieved clauses and the answerer's details."""
        if body.include_retrieved and caller.key is None:
            raise ApiError(403, "include_retrieved", "the retrieved clauses are for agents: send an API key")
        filters = body.filters.given() if body.filters is not None else {}
        given = await context.off_loop(lambda: context.ask(caller, body.question, filters, body.language or ""))
        return models.AnswerResponse(**answer_fields(given, caller, body.include_retrieved))

    @router.get("/policies", tags=["policies"], summary="The catalogue of policies")
    def policies() -> models.PolicyList:
        """Every policy version: current ones and the superseded ones they replaced."""
        catalog = assistant.snapshot().catalog
        return models.PolicyList(policies=[
            models.Policy(
                doc_id=m.doc_id, title=m.title or m.doc_id, brand=m.brand, region=m.region,
                languages=list(m.languages), effective_date=m.effective_date, current=m.is_current,
                superseded_by=m.superseded_by, public_url=m.public_url, label=m.display_label("en"),
            )
            for m in sorted(catalog.values(), key=lambda m: (not m.is_current, m.doc_id))
        ])  # fmt: skip

    @router.get("/clauses/{clause_id:path}", tags=["policies"], summary="A clause, its sentences and offsets",
                responses=NOT_FOUND)  # fmt: skip
    def clause(clause_id: str = Path(max_length=models.CLAUSE_ID_CHARS, description=CLAUSE_ID)) -> models.Clause:
        """A cited clause, for a UI to show it whole with the quoted sentence highlighted
        (offsets are in the policy's normalised text, as the citations' are)."""
        index = assistant.snapshot().index
        row = index.by_id.get(clause_id)
        if row is None:
            raise ApiError(404, "clause_id", "no clause with this id in the served index")
        c = index.clauses[row]
        sentences = [models.Sentence(start=s.start, end=s.end, text=c.slice(s.start, s.end)) for s in c.sentences]
        return models.Clause(doc_id=c.doc_id, clause_id=c.clause_id, section=list(c.section), text=c.text,
                             lang=c.lang, start=c.start, end=c.end, sentences=sentences)  # fmt: skip

    _feedback_routes(router, context, who)
    return router


def _feedback_routes(router: APIRouter, context: ApiContext, who: Any) -> None:
    store: FeedbackStore = context.service.store
    conflict: dict[int | str, dict[str, Any]] = {
        409: {"model": models.ErrorBody, "description": "this answer was rated already"}
    }

    @router.post("/feedback", tags=["feedback"], summary="Rate an answer", status_code=201,
                 responses={**NOT_FOUND, **conflict})  # fmt: skip
    def feedback(body: models.FeedbackRequest, caller: Caller = who) -> models.FeedbackReceipt:
        """A rating (and a comment, redacted before it is stored) of an answer this API gave, once
        per answer; a customer's rating counts against their rate limit, as in the chat."""
        context.allow(caller)
        given = context.ledger.claim(body.answer_id)
        if given is None:
            if context.ledger.exists(body.answer_id):
                raise ApiError(409, "answer_id", "this answer was rated already")
            raise ApiError(404, "answer_id", "no answer with this id (answers are kept for 7 days)")
        row = store.add(view=given.view, question=given.question, answer=given.answer,
                        clause_ids=given.clause_ids, rating=body.rating, comment=body.comment)  # fmt: skip
        return models.FeedbackReceipt(id=row.id, answer_id=given.answer_id, rating=row.rating)

    @router.get("/feedback", tags=["feedback"], summary="The ratings given (agents only)")
    def feedback_list(
        limit: int = Query(100, ge=1, le=10_000, description="the newest N"), caller: Caller = who
    ) -> models.FeedbackList:
        """Every rating, from the chat and the API, newest last (questions and comments redacted)."""
        agent_only(caller)
        rows = store.rows()[-limit:]
        return models.FeedbackList(feedback=[
            models.FeedbackItem(id=r.id, created_at=r.created_at, view=r.view, question=r.question, answer=r.answer,
                                clause_ids=list(r.clause_ids), rating=r.rating, comment=r.comment)
            for r in rows
        ])  # fmt: skip
