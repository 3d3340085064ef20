"""The `/v1` API's request and response bodies, as pydantic models: FastAPI validates requests
against them (a bad field is a 422 naming it) and the OpenAPI document lists each as a schema."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

ID_CHARS = 128  # the catalogue's ids are far shorter
CLAUSE_ID_CHARS = 512  # a document id and a section path


class Filters(BaseModel):
    """Which policies may answer: every given field must match (the contract's `filters`)."""

    model_config = ConfigDict(extra="forbid")

    doc_id: str | None = Field(None, max_length=ID_CHARS, description="one policy version (GET /v1/policies)")
    brand: str | None = Field(None, max_length=ID_CHARS)
    region: str | None = Field(None, max_length=ID_CHARS)
    lang: str | None = Field(None, max_length=8, description="the policy text's language: en, zh")

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class AnswerRequest(BaseModel):
    """A question. Its length limit is the server's (`max_question_chars`, 2,000 by default)."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="the customer's or agent's question, in English or Chinese")
    filters: Filters | None = None
    language: Literal["en", "zh"] | None = Field(None, description="the reply's language (default: the question's)")
    include_retrieved: bool = Field(False, description="also list the clauses considered (needs an API key)")


class Citation(BaseModel):
    n: int = Field(description="the [n] marker in the answer")
    doc_id: str
    clause_id: str = Field(description="GET /v1/clauses/{clause_id} for the whole clause")
    section: str
    quote: str = Field(description="verbatim from the policy's normalised text")
    start: int = Field(description="character offset of the quote in that text")
    end: int
    score: float


class Retrieved(BaseModel):
    doc_id: str
    clause_id: str
    section: str
    text: str
    score: float


class Choice(BaseModel):
    """A topic to pick when the question was too vague: ask its `question` next."""

    label: str
    question: str


class AnswerResponse(BaseModel):
    """The contract's answer, with the id to rate it by and what was removed from the question."""

    id: str = Field(description="the answer's id, for POST /v1/feedback")
    question: str = Field(description="the question as answered: redacted, a follow-up written out")
    answer: str = Field(description="the reply, with [n] markers")
    abstained: bool = Field(description="the policies do not answer this; `answer` says where to turn")
    citations: list[Citation]
    retrieved: list[Retrieved] = Field(description="with include_retrieved (an API key): the clauses considered")
    latency_ms: float
    lang: str
    contact: str = Field(description="where to turn when the policies do not answer")
    redacted: list[str] = Field(description="kinds of personal data removed from the question: card, email, ...")
    warning: str = Field("", description="shown above the answer: e.g. a typed card number was removed")
    clarify: list[Choice] = []
    corrected: str = Field("", description="the question as answered when spelling correction changed it")
    details: dict[str, Any] = Field({}, description="agents only: confidence, intent, abstention reason, ...")


class Policy(BaseModel):
    doc_id: str
    title: str
    brand: str
    region: str
    languages: list[str]
    effective_date: str
    current: bool
    superseded_by: str = Field(description="the newer version's doc_id, or empty")
    public_url: str
    label: str = Field(description="how customers name it")


class PolicyList(BaseModel):
    policies: list[Policy]


class Sentence(BaseModel):
    start: int
    end: int
    text: str


class Clause(BaseModel):
    """A clause and its sentences, each with its offsets in the policy's normalised text."""

    doc_id: str
    clause_id: str
    section: list[str]
    text: str
    lang: str
    start: int
    end: int
    sentences: list[Sentence]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(max_length=64, description="the `id` of an answer from this API")
    rating: Literal[1, -1] = Field(description="1: helpful, -1: not helpful")
    comment: str = Field("", max_length=2000)


class FeedbackReceipt(BaseModel):
    id: int
    answer_id: str
    rating: int


class FeedbackItem(BaseModel):
    id: int
    created_at: str
    view: str
    question: str
    answer: str
    clause_ids: list[str]
    rating: int
    comment: str


class FeedbackList(BaseModel):
    feedback: list[FeedbackItem]


class ErrorDetail(BaseModel):
    field: str | None = Field(description="the request field at fault (e.g. `question`, `filters.doc_id`)")
    message: str
    type: str = Field(description="invalid_request_error, authentication_error, rate_limit_error, ...")


class ErrorBody(BaseModel):
    error: ErrorDetail
