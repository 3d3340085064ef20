"""`POST /v1/chat/completions` and `GET /v1/models`: the assistant as a "model" for tools that
speak OpenAI's protocol (Open WebUI, LibreChat, a help desk's AI plug-in, the `openai` client).

The last user message is the question; earlier user messages give the follow-up context, as the
chat's conversation does ("and in China?"); system and assistant messages are read by nobody, so
a prompt cannot change what the assistant does. The reply's text is the answer with its [n]
markers; its citations ride in an extra `citations` field (with `answer_id`, to rate it). With
`stream: true` the checked answer is sent in pieces as OpenAI's chunks, then `[DONE]`: a language
model's unchecked draft is never streamed, since the final answer may differ from it."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.context import ApiContext, Caller, Given, answer_fields
from app.api.errors import ERROR_RESPONSES, ApiError, ApiRoute
from app.api.models import Citation, Filters
from app.api.routes import caller_dependency

MODEL_ID = "privacy-assistant"
MAX_MESSAGES = 64
EARLIER_TURNS = 10  # user messages before the last that can shape a follow-up (a long one resets it)
PIECE_CHARS = 16  # the most characters in one streamed piece


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str = Field(max_length=32)
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        """The message's text (a list of parts: its text parts, joined)."""
        if isinstance(self.content, list):
            return "\n".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request. Sampling options (temperature, max_tokens, ...) are accepted and not used:
    the answer is quoted from the policies. `filters` is an extra (`extra_body` in the client)."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(max_length=128, description=f"`{MODEL_ID}` (GET /v1/models)")
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    filters: Filters | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class CompletionChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class Usage(BaseModel):
    """Counted in words, not tokens: no tokenizer is involved."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Sources(BaseModel):
    """The extra fields on a completion (and on a stream's last chunk)."""

    citations: list[Citation] = []
    answer_id: str = Field("", description="rate the answer with POST /v1/feedback")
    abstained: bool = False
    warning: str = ""


class ChatCompletion(Sources):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage


class ChunkDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(Sources):
    """One event of a streamed reply (`data: {...}`); the last carries `finish_reason` and the sources."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


_EVENTS = {"text/event-stream": {"schema": {"$ref": "#/components/schemas/ChatCompletionChunk"}}}
STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "a completion; with `stream: true`, server-sent `ChatCompletionChunk`s", "content": _EVENTS}
}


def openai_router(context: ApiContext) -> APIRouter:
    """`/v1/chat/completions` and `/v1/models`."""
    router = APIRouter(prefix="/v1", route_class=ApiRoute, responses=ERROR_RESPONSES, tags=["OpenAI-compatible"])
    who = caller_dependency(context)
    started = int(time.time())

    @router.get("/models", summary="The one model: the assistant")
    def models() -> ModelList:
        return ModelList(data=[Model(id=MODEL_ID, created=started, owned_by="privacy-assistant")])

    @router.post("/chat/completions", summary="Answer the last user message (OpenAI's protocol)",
                 response_model=ChatCompletion, responses=STREAM_RESPONSE)  # fmt: skip
    async def completions(body: ChatCompletionRequest, caller: Caller = who) -> Any:
        if body.model != MODEL_ID:
            raise ApiError(404, "model", f"no such model: use `{MODEL_ID}` (GET /v1/models)")
        question, earlier = _conversation(body.messages, context.service.assistant.config.max_question_chars)
        filters = body.filters.given() if body.filters is not None else {}
        try:
            given = await context.off_loop(lambda: context.ask(caller, question, filters, topic=context.topic(earlier)))
        except ApiError as exc:  # the question is the last message's content, as the caller sent it
            if exc.field == "question":
                exc.field = f"messages[{len(body.messages) - 1}].content"
            raise
        if body.stream:
            headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # nginx: pass each piece on
            return StreamingResponse(_chunks(given, caller, body.model), media_type="text/event-stream",
                                     headers=headers)  # fmt: skip
        return _completion(given, caller, body.model, question)

    return router


def _conversation(messages: list[ChatMessage], limit: int) -> tuple[str, list[str]]:
    """The question (the last message, which must be the user's) and the earlier user messages
    that can make it a follow-up (those within the question length limit, the last few)."""
    last = len(messages) - 1
    if messages[last].role != "user":
        raise ApiError(422, f"messages[{last}].role", "the last message must be the user's question")
    earlier = [m.text() for m in messages[:last] if m.role == "user"]
    return messages[last].text(), [t for t in earlier if len(t) <= limit][-EARLIER_TURNS:]


def _sources(given: Given, caller: Caller) -> dict[str, Any]:
    fields = answer_fields(given, caller, include_retrieved=False)
    return {"citations": fields["citations"], "answer_id": given.answer_id, "abstained": fields["abstained"],
            "warning": given.warning}  # fmt: skip


def _completion(given: Given, caller: Caller, model: str, question: str) -> ChatCompletion:
    assert given.reply.answer is not None
    text = given.reply.answer.answer
    asked, said = len(question.split()), len(text.split())
    return ChatCompletion(
        id=f"chatcmpl-{given.answer_id}", created=int(time.time()), model=model,
        choices=[CompletionChoice(message=AssistantMessage(content=text))],
        usage=Usage(prompt_tokens=asked, completion_tokens=said, total_tokens=asked + said),
        **_sources(given, caller),
    )  # fmt: skip


def pieces(text: str) -> list[str]:
    """The text in streamable pieces (each word with its spaces; long runs, as Chinese has, cut
    every `PIECE_CHARS`): joined, exactly the text."""
    words = re.findall(r"\s*\S+\s*|\s+", text)
    return [w[i : i + PIECE_CHARS] for w in words for i in range(0, len(w), PIECE_CHARS)]


def _chunks(given: Given, caller: Caller, model: str) -> Iterator[str]:
    """Server-sent events: the role, the answer in pieces, the sources with `finish_reason`, `[DONE]`
    (each a `ChatCompletionChunk`; a delta holds only what it sets, as OpenAI's do)."""
    assert given.reply.answer is not None
    frame = {"id": f"chatcmpl-{given.answer_id}", "object": "chat.completion.chunk", "created": int(time.time()),
             "model": model}  # fmt: skip

    def event(delta: ChunkDelta, finish: bool = False) -> str:
        choice = {"index": 0, "delta": delta.model_dump(exclude_none=True), "finish_reason": "stop" if finish else None}
        chunk = {**frame, "choices": [choice], **(_sources(given, caller) if finish else {})}
        return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

    yield event(ChunkDelta(role="assistant", content=""))
    for piece in pieces(given.reply.answer.answer):
        yield event(ChunkDelta(content=piece))
    yield event(ChunkDelta(), finish=True)
    yield "data: [DONE]\n\n"
