"""Answer records: the contract's JSON answer, its citations and the evidence behind them
(the reply's text is composed in app/compose.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

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
class Answer:
    """One answer, as the contract's JSON describes it."""

    id: str
    question: str
    answer: str
    abstained: bool
    citations: tuple[Citation, ...]
    retrieved: tuple[Retrieved, ...]
    latency_ms: float
    lang: str = "en"
    contact: str = ""  # where to turn when the notices do not answer
    extras: dict[str, Any] = field(default_factory=dict)
    clarify: tuple[Choice, ...] = ()  # a vague question: topics to choose from (the answer asks which)
    corrected: str = ""  # the question as answered, when spelling correction changed it

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
            **self.extras,
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


class Answerer(Protocol):
    """Anything that answers a question with an `Answer`: the assistant, an ablation variant,
    the LLM answerer on top of the assistant."""

    def ask(self, question: str, filters: dict[str, object] | None = None, qid: str = "q") -> Answer: ...


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
