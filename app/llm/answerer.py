"""LLM answers on top of the extractive assistant, with the extractive answer as the floor.

`LLMAnswerer.answer` takes the `Inquiry` `Assistant.answer` takes and returns the same `Answer`:
the assistant answers first (retrieval, abstention, the extractive answer); an abstention
is returned as it is. Otherwise the model gets the question and the top retrieved clauses,
its reply is validated (app.llm.validate), and when too little of it survives, or the
server fails, the extractive answer is returned instead, saying why. The answer's
`generation` says which generator produced it and what was dropped.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.answer import Answer, Generation
from app.llm.backend import ChatBackend, LLMError
from app.llm.prompt import build_messages
from app.llm.validate import Checked, Dropped, validate
from app.records import Clause
from app.stages import Inquiry

if TYPE_CHECKING:
    from app.assistant import Assistant

log = logging.getLogger(__name__)

EXTRACTIVE = "extractive"
FALLBACK = "extractive-fallback"


@dataclass(frozen=True)
class LLMSettings:
    """How replies are judged. The support threshold is a cosine of MiniLM vectors."""

    sources: int = 5  # retrieved clauses given to the model
    support: float = 0.6  # a reply sentence this close to a sentence of its cited clause is supported
    min_kept_share: float = 0.5  # below this share of kept sentences, the extractive answer stands
    max_clause_chars: int = 1000  # a longer clause is cut in the prompt (validation sees it whole)

    def __post_init__(self) -> None:
        if self.sources < 1:
            raise ValueError(f"sources must be at least 1, got {self.sources}")
        if not 0.0 <= self.support <= 1.0 or not 0.0 <= self.min_kept_share <= 1.0:
            raise ValueError(f"support and min_kept_share must be 0–1, got {self.support}, {self.min_kept_share}")


class LLMAnswerer:
    """Answers like `Assistant.ask`, in the model's words, every kept sentence cited."""

    def __init__(self, assistant: Assistant, backend: ChatBackend, settings: LLMSettings | None = None) -> None:
        self.assistant = assistant
        self.backend = backend
        self.settings = settings or LLMSettings()

    def ask(self, question: str, filters: dict[str, object] | None = None, qid: str = "q") -> Answer:
        """`answer` for a question given as arguments (the command line, the evaluation)."""
        return self.answer(Inquiry(question, dict(filters or {}), qid))

    def answer(self, inquiry: Inquiry) -> Answer:
        """The validated LLM answer, the extractive one when too little survives, or the abstention."""
        final: Answer | None = None
        for event in self.stream(inquiry):
            if isinstance(event, Answer):
                final = event
        assert final is not None  # stream always ends with an Answer
        return final

    def stream(self, inquiry: Inquiry) -> Iterator[str | Answer]:
        """The reply so far (str) as the model writes it, then the final Answer. The extractive
        answer comes first, from the same inquiry (its scope, and the sentences it must not
        cite); input errors (an empty question, an unknown doc_id) raise as `Assistant.answer`'s."""
        started = time.perf_counter()
        base = self.assistant.answer(inquiry)
        if base.abstained:
            yield _with(base, started, Generation(EXTRACTIVE))
            return
        sources = self.sources(base, inquiry.avoid)
        if not sources:
            yield _with(base, started, Generation(FALLBACK, fallback_reason="no clause to give the model"))
            return
        pieces: list[str] = []
        try:
            model = self.backend.model
            for piece in self.backend.stream(build_messages(base.question, sources, self.settings.max_clause_chars)):
                pieces.append(piece)
                yield "".join(pieces)
        except LLMError as exc:
            yield _with(base, started, Generation(FALLBACK, fallback_reason=str(exc)))
            return
        checked = validate("".join(pieces), sources, self.assistant.embedder.embed_texts, self.settings.support)
        yield self._answer(base, checked, model, started)

    def sources(self, base: Answer, avoid: re.Pattern[str] | None = None) -> list[Clause]:
        """The clauses the model may cite: the top retrieved ones, and any the extractive
        answer cites beyond them (comparisons draw on several documents); none holding a
        sentence the inquiry must not cite (the model would quote it)."""
        index = self.assistant.snapshot().index
        wanted = [r.clause_id for r in base.retrieved[: self.settings.sources]]
        wanted += [c.clause_id for c in base.citations if c.clause_id not in wanted]
        rows = [index.by_id.get(clause_id) for clause_id in wanted]
        clauses = [index.clauses[row] for row in rows if row is not None]
        return [c for c in clauses if avoid is None or not avoid.search(c.text)]

    def _answer(self, base: Answer, checked: Checked, model: str, started: float) -> Answer:
        report = Generation(
            f"llm:{model}", tuple(checked.dropped), checked.total, tuple(checked.removed_markers)
        )
        if not checked.sentences or checked.kept_share < self.settings.min_kept_share:
            reason = (
                "empty reply" if not checked.total
                else f"{len(checked.sentences)} of {checked.total} reply sentences supported"
            )  # fmt: skip
            log.info("LLM reply not used (%s); extractive answer given", reason)
            return _with(base, started, replace(report, generator=FALLBACK, fallback_reason=reason))
        return replace(
            base,
            answer=checked.text,
            citations=checked.citations,
            latency_ms=(time.perf_counter() - started) * 1000,
            generation=report,
        )


def _with(base: Answer, started: float, generation: Generation) -> Answer:
    """The extractive answer with the generator's report, timed from the start of the request."""
    return replace(base, latency_ms=(time.perf_counter() - started) * 1000, generation=generation)


def dropped_share(answers: Sequence[Answer]) -> tuple[float, int]:
    """Share of reply sentences dropped, over the answers the model replied to, and the
    number of fallbacks to the extractive answer."""
    made = [a.generation for a in answers if a.generation is not None]
    total = sum(g.reply_sentences or 0 for g in made)
    dropped = sum(len(g.dropped) for g in made if g.reply_sentences is not None)
    fallbacks = sum(1 for g in made if g.generator == FALLBACK)
    return (dropped / total if total else 0.0), fallbacks


__all__ = ["EXTRACTIVE", "FALLBACK", "Dropped", "LLMAnswerer", "LLMSettings", "dropped_share"]
