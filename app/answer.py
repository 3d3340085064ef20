"""Answer records (the contract's JSON) and the extractive composer.

The composer never writes a claim of its own: the answer is the selected sentences,
verbatim, each followed by the ``[n]`` of the citation that holds it, introduced by a
short attribution (which policy, which section). When the evidence is weak the answer
says the notices don't cover the question and where to turn instead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from app.records import Clause, DocumentMeta
from app.text import MARKER, format_date


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


def _when(meta: DocumentMeta, lang: str) -> str:
    """ " (September 2024)" / "（2024年9月）": the version, written the way the rest of the answer is."""
    if not meta.effective_date:
        return ""
    shown = format_date(meta.effective_date, lang)
    return f"（{shown}）" if lang == "zh" else f" ({shown})"


def compose(evidence: list[Evidence], metas: dict[str, DocumentMeta], lang: str) -> tuple[str, list[Citation]]:
    """Answer text and citations from evidence sentences, best first."""
    citations: list[Citation] = []
    for i, ev in enumerate(evidence, 1):
        citations.append(
            Citation(
                n=i,
                doc_id=ev.clause.doc_id,
                clause_id=ev.clause.clause_id,
                section=ev.clause.section_title,
                quote=ev.text,
                start=ev.start,
                end=ev.end,
                score=round(ev.score, 4),
            )
        )
    docs = list(dict.fromkeys(ev.clause.doc_id for ev in evidence))
    parts: list[str] = []
    if len(docs) == 1:
        meta = metas[docs[0]]
        section = evidence[0].clause.section[-1] if evidence[0].clause.section else ""
        if lang == "zh":
            where = f"“{section}”部分" if section else ""
            parts.append(f"根据《{meta.display_title(lang)}》{_when(meta, lang)}{where}：")
        else:
            where = f", “{section}”" if section else ""
            parts.append(f"According to the {meta.title}{_when(meta, lang)}{where}:")
        parts.extend(f"{ev.text} [{i}]" for i, ev in enumerate(evidence, 1))
        return "\n".join([parts[0], " ".join(parts[1:])]), citations
    # Several policies: say which one says what.
    for doc_id in docs:
        meta = metas[doc_id]
        said = " ".join(f"{ev.text} [{i}]" for i, ev in enumerate(evidence, 1) if ev.clause.doc_id == doc_id)
        parts.append(
            f"《{meta.display_title(lang)}》{_when(meta, lang)}：{said}"
            if lang == "zh"
            else f"{meta.title}{_when(meta, lang)}: {said}"
        )
    return "\n".join(parts), citations


def abstention_text(lang: str, contact: str, off_topic: bool) -> str:
    """What to say when the notices do not answer, and where to turn."""
    if lang == "zh":
        lead = "这个问题不属于隐私政策的范围。" if off_topic else "隐私政策中没有涉及这个问题。"
        return f"{lead}请联系客户服务:{contact}。" if contact else lead
    lead = (
        "That isn't a privacy question, and the privacy notices don't cover it."
        if off_topic
        else "The privacy notices don't cover this."
    )
    return f"{lead} Please contact client relations: {contact}." if contact else lead
