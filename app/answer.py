"""Answer records: the contract's JSON answer, its citations and the evidence behind them
(the reply's text is composed in app/compose.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.records import Clause
from app.text import MARKER


@dataclass(frozen=True)
class Citation:
    n: int
    doc_id: str
    clause_id: str
    section: str
    quote: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class Retrieved:
    doc_id: str
    clause_id: str
    section: str
    text: str
    score: float


@dataclass(frozen=True)
class Choice:
    """A topic the user can pick when a question is too vague to answer: a button's label and
    the question it asks, both in the user's language."""

    label: str
    question: str


@dataclass(frozen=True)
class Reference:
    """A cited sentence's pointer ("contact us at:", "see below") and what it points to."""

    n: int  # the citation
    kind: str  # "contact" (channels), "link" (a lost link's page) or "page" (no channel found)
    target: str  # the channels or the address, verbatim from the policy or the catalogue


@dataclass(frozen=True)
class Lead:
    """The answer's short lead: the reader's span of the first cited sentence (app/lead.py),
    with its offsets in the document."""

    text: str
    n: int  # the citation it comes from
    start: int
    end: int
    probability: float


@dataclass(frozen=True)
class Dropped:
    """A sentence of a language model's reply that was not kept, and why."""

    sentence: str
    reason: str


@dataclass(frozen=True)
class Generation:
    """Which generator wrote the reply (the LLM answerer's report; app/llm)."""

    generator: str  # "extractive", "extractive-fallback" or "llm:MODEL"
    dropped: tuple[Dropped, ...] = ()
    reply_sentences: int | None = None  # the model's reply, in sentences (None: it did not reply)
    removed_markers: tuple[int, ...] = ()  # [n] markers the model invented
    fallback_reason: str = ""  # why the extractive answer stands

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"generator": self.generator}
        if self.reply_sentences is not None or self.fallback_reason or self.dropped:
            out["dropped"] = [asdict(d) for d in self.dropped]
        if self.reply_sentences is not None:
            out["reply_sentences"] = self.reply_sentences
        if self.removed_markers:
            out["removed_markers"] = list(self.removed_markers)
        if self.fallback_reason:
            out["fallback_reason"] = self.fallback_reason
        return out


@dataclass(frozen=True)
class Answer:
    """One answer, as the contract's JSON describes it, with the decision behind it as typed
    fields (their JSON keys are the contract's added fields)."""

    id: str
    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    retrieved: tuple[Retrieved, ...]
    latency_ms: float
    lang: str = "en"
    contact: str = ""  # where to turn when the notices do not answer
    clarify: tuple[Choice, ...] = ()  # a vague question: topics to choose from (the answer asks which)
    corrected: str = ""  # the question as answered, when spelling correction changed it
    confidence: float | None = None  # P(the cited sentence answers); None: not known (never "sure")
    intent: str = ""  # the intent model's top class, where one ran
    abstain_reason: str = ""  # why it did not answer ("" when it answered)
    references: tuple[Reference, ...] = ()
    lead: Lead | None = None
    generation: Generation | None = None  # set by the LLM answerer

    def to_json(self) -> dict[str, Any]:
        """The contract's answer object (plus added fields)."""
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [asdict(c) for c in self.citations],
            "retrieved": [asdict(r) for r in self.retrieved],
            "latency_ms": round(self.latency_ms, 2),
            "lang": self.lang,
            "contact": self.contact,
            **({"clarify": [asdict(c) for c in self.clarify]} if self.clarify else {}),
            **({"corrected": self.corrected} if self.corrected else {}),
            **({"confidence": round(self.confidence, 4)} if self.confidence is not None else {}),
            **({"intent": self.intent} if self.intent else {}),
            **({"abstain_reason": self.abstain_reason} if self.abstain_reason else {}),
            **({"references": [asdict(r) for r in self.references]} if self.references else {}),
            **({"lead": asdict(self.lead)} if self.lead is not None else {}),
            **(self.generation.to_json() if self.generation is not None else {}),
        }

    def render_text(self) -> str:
        """Plain text for a terminal: the answer, then its sources."""
        lines = [self.answer]
        if self.citations:
            lines.append("")
            for c in self.citations:
                lines.append(f"[{c.n}] {c.doc_id} — {c.section}")
                lines.append(f"    “{c.quote}”")
        return "\n".join(lines)


@dataclass(frozen=True)
class Evidence:
    """A sentence chosen to answer: its clause, its offsets, its score."""

    clause: Clause
    start: int
    end: int
    score: float
    # The learned selector's inputs (app/selection.py SENTENCE_FEATURES), where computed.
    features: tuple[float, ...] = field(default=(), compare=False, repr=False)

    @property
    def text(self) -> str:
        return self.clause.slice(self.start, self.end)


def markers(text: str) -> list[int]:
    """The ``[n]`` numbers used in an answer text, in order of appearance."""
    return [int(m) for m in MARKER.findall(text)]
