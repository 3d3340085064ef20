"""The records one question passes through, in order: the `Inquiry` every answerer receives,
the `Lookup` retrieval makes of it (app/retrieve.py), the `Chosen` sentences and how sure they
are (app/choose.py), then the `Judgement` (app/decision.py) that the reply is written from
(app/reply.py). Each is frozen: a stage reads the one before and adds its own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.answer import Answer, Evidence
    from app.query import QueryPlan
    from app.records import Filters
    from app.retrieve import Retrieval
    from app.snapshot import IndexSnapshot


@dataclass(frozen=True)
class Inquiry:
    """One request, as every answerer receives it (the assistant, the language-model
    answerer, an ablation variant): the question, its scope and what must not be cited."""

    question: str
    filters: dict[str, object] = field(default_factory=dict)  # the scope: {"doc_id": ...}, as the contract's
    qid: str = "q"
    # Sentences matching this are never cited: after a customer typed a card number, any
    # sentence asking for card details (app.redact.CARD_REQUEST).
    avoid: re.Pattern[str] | None = None
    lang: str | None = None  # the reply's language when it is not the question's (a follow-up)


class Answerer(Protocol):
    """Anything that answers an `Inquiry` with an `Answer`: the assistant, an ablation variant,
    the LLM answerer on top of the assistant. Every one receives the same request record."""

    def answer(self, inquiry: Inquiry) -> Answer: ...


@dataclass(frozen=True)
class Lookup:
    """A question cleaned, spelling-corrected, planned and retrieved."""

    text: str  # the question as searched (after spelling correction)
    snapshot: IndexSnapshot
    filters: Filters
    query: QueryPlan
    retrieval: Retrieval


@dataclass(frozen=True)
class Chosen:
    """The sentences chosen to answer (best first), every candidate scored, and the
    probability that the lead sentence answers."""

    evidence: list[Evidence]
    scored: list[Evidence]
    confidence: float
