"""What every `/v1` endpoint needs: who is calling (a customer's address, or an API key) and the
chat's `CustomerService` to ask through, with the caller's rate limit. One path per question:
the limits, redaction, card-number handling, follow-ups and logging are the chat's own."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from app.api.errors import ApiError
from app.api.keys import ApiKey, KeyStore
from app.api.ledger import Ledger
from app.followup import rewrite_followup
from app.text import REGION_WORDS, clean_input
from app.web.guards import Buckets, MemoryBuckets, RateLimiter
from app.web.render import TEXT
from app.web.service import CustomerReply, CustomerService

RETRY_AFTER_S = "10"
T = TypeVar("T")


def cores() -> int:
    """The cores this process may run on."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: `client` is the customer's address (the rate limit's key), `key` the
    API key of an agent or a server (None for a customer)."""

    client: str
    key: ApiKey | None = None

    @property
    def view(self) -> str:
        return "agent" if self.key is not None else "customer"


@dataclass(frozen=True)
class Given:
    """A question answered through the API: the service's reply and the id it is rated by."""

    reply: CustomerReply
    answer_id: str

    @property
    def warning(self) -> str:
        return TEXT[self.reply.lang]["card_warning"] if self.reply.had_card else ""


@dataclass(frozen=True)
class ApiContext:
    """The service, the key store, the answer ledger, the buckets of the keys' own limits (the
    customers' buckets: in the shared database when there is one) and the gate of the questions
    answered at once (one per core)."""

    service: CustomerService
    keys: KeyStore
    ledger: Ledger
    buckets: Buckets
    gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(cores()))

    @classmethod
    def create(cls, service: CustomerService, keys: KeyStore, ledger: Ledger) -> ApiContext:
        limiter = service.limiter
        return cls(service, keys, ledger, limiter.buckets if limiter is not None else MemoryBuckets())

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run a question's blocking work in the threadpool, at most one per core at once: more
        would only share the cores (on 2 cores, 16 questions at once cost 16 ms of CPU each and 2
        at once 12.5 ms, 90 answers/s against 75). The others wait here, in the event loop, holding
        no thread, so a burst of questions never stalls the catalogue or the docs."""
        async with self.gate:
            return await run_in_threadpool(work)

    def caller(self, client: str, token: str | None) -> Caller:
        """The caller of a request; a token that is not an active key is refused (401), even where
        a customer needs none: a caller who sent a key expects it to be used."""
        if token is None:
            return Caller(client)
        key = self.keys.verify(token)
        if key is None:
            raise ApiError(401, "Authorization", "the API key is not valid or was revoked",
                           {"WWW-Authenticate": "Bearer"})  # fmt: skip
        return Caller(client, key)

    def service_for(self, caller: Caller) -> CustomerService:
        """The chat's service; for a key, the same with the key's own rate limit."""
        if caller.key is None:
            return self.service
        s = self.service
        limiter = RateLimiter(caller.key.rate_per_minute, buckets=self.buckets)
        return CustomerService(s.assistant, s.store, limiter, s.llm, s.log_limiter, s.redactor)

    def allow(self, caller: Caller) -> None:
        """Take a token from the caller's bucket (a rating, like the chat's, counts); 429 when empty."""
        limiter = self.service_for(caller).limiter
        if limiter is not None and not limiter.allow(_client(caller)):
            raise _rate_limited()

    def ask(
        self, caller: Caller, question: str, filters: Mapping[str, str], lang: str = "", topic: str = ""
    ) -> Given:
        """Answer through the service. A customer names a current policy only (as in the chat);
        an agent may name any version."""
        given = dict(filters)
        doc_id = given.pop("doc_id", "") if caller.key is None else ""
        events = self.service_for(caller).turn(question, doc_id, _client(caller), topic, filters=given, reply_lang=lang)
        *_, reply = events
        assert isinstance(reply, CustomerReply)
        if reply.rate_limited:
            raise _rate_limited()
        if reply.answer is None:
            raise _refusal(reply.error)
        clause_ids = tuple(c.clause_id for c in reply.answer.citations)
        answer_id = self.ledger.record(caller.view, reply.question, reply.answer.answer, clause_ids)
        return Given(reply, answer_id)

    def topic(self, earlier: Sequence[str]) -> str:
        """The conversation's topic after the earlier user messages, as the chat keeps it: each
        redacted, and a short follow-up ("and in China?") written out against the one before."""
        catalog = self.service.assistant.snapshot().catalog
        words = REGION_WORDS | catalog.brand_names | catalog.region_names
        topic = ""
        for message in earlier:
            said = self.service.redactor(clean_input(message)).text.strip()
            topic = rewrite_followup(topic, said, words).topic if said else topic
        return topic


def _client(caller: Caller) -> str:
    return f"key:{caller.key.key_id}" if caller.key is not None else caller.client


def _rate_limited() -> ApiError:
    return ApiError(429, None, "too many questions: wait a moment and try again", {"Retry-After": RETRY_AFTER_S})


_FIELDS = {"question": "question", "doc_id": "filters.doc_id", "filters": "filters"}


def _refusal(error: str) -> ApiError:
    """The service's one-line reason ("question is over the 2,000-character limit") as a 4xx
    naming the field; anything else is the server's fault."""
    if error == "internal error" or not error:
        return ApiError(500, None, "internal error")
    head = re.match(r"[A-Za-z_.]+", error)
    name = head.group(0).rstrip(".") if head else ""
    field = name if name.startswith("filters.") else _FIELDS.get(name)
    return ApiError(422, field, error)


def answer_fields(given: Given, caller: Caller, include_retrieved: bool) -> dict[str, Any]:
    """The answer as `AnswerResponse`'s fields: the contract's JSON, the answer's id, what was
    redacted; agents also get the retrieved clauses (on request) and the answerer's details."""
    reply = given.reply
    answer = reply.answer
    assert answer is not None
    body = answer.to_json()
    agent = caller.key is not None
    return {
        **{k: body[k] for k in ("answer", "abstained", "citations", "latency_ms", "lang", "contact")},
        "id": given.answer_id,
        "question": reply.question,
        "retrieved": body["retrieved"] if agent and include_retrieved else [],
        "redacted": list(reply.redacted),
        "warning": given.warning,
        "clarify": body.get("clarify", []),
        "corrected": body.get("corrected", ""),
        "details": {k: v for k, v in body.items() if agent and k not in _ANSWER_KEYS},
    }


# The contract's answer keys and those the response names itself; the rest are the answerer's details.
_ANSWER_KEYS = frozenset({"id", "question", "answer", "abstained", "citations", "retrieved", "latency_ms", "lang",
                          "contact", "clarify", "corrected"})  # fmt: skip
