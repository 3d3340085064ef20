"""The assistant: question in, grounded and cited answer out (the code path of `ask`,
`ask --batch`, `eval` and the web app alike).

`Assistant.answer` only orchestrates, one call a step, each returning a record of
app/stages.py: `lookup` cleans, plans and retrieves the clauses in scope (a `Lookup`,
app/retrieve.py); `choose` picks the answering sentences and how sure to be of them (`Chosen`,
app/choose.py); the abstention policy and its learned decision model say whether they answer
(a `Judgement`, app/abstain.py, app/decision.py); `write_reply` writes the reply (app/reply.py,
app/compose.py) with what the sentences point to and, where a reader ships, its lead.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from app.abstain import AbstentionPolicy
from app.answer import Answer, Citation, Evidence, Lead, Retrieved
from app.choose import Chooser, LearnedChooser, candidates, choose
from app.clarify import Clarifier
from app.decision import DECISION_FILE, DecisionModel, Judgement
from app.embedding import Embedder, SentenceTransformerEmbedder
from app.errors import InputError
from app.index import manifest_of
from app.lead import READER_DIR, Reader, placed, shared_reader
from app.query import plan
from app.records import Filters
from app.reply import write_reply
from app.retrieve import Request
from app.settings import Settings
from app.snapshot import IndexHealth, IndexSnapshot, LiveIndex
from app.splitter import SplitterConfig
from app.stages import Inquiry, Lookup
from app.text import clean_input
from app.text.lexical import tokenize
from app.timing import Stages

log = logging.getLogger(__name__)

INTENT_DIR = Path(__file__).resolve().parents[1] / "models" / "intent-minilm"


@dataclass(frozen=True)
class AssistantConfig:
    """How much to retrieve, which optional stages run and where their models are."""

    top_k: int = 10  # clauses listed in `retrieved`
    evidence_clauses: int = 5  # clauses whose sentences may be cited
    # Fusion weights of (clause dense, sentence dense, BM25) per question language: the
    # English-only MiniLM says little about Chinese text, so BM25 leads there.
    fusion: dict[str, tuple[float, float, float]] | None = None
    max_question_chars: int = 2000
    max_compare_docs: int = 6  # a comparison quotes each document; past this many it is an ordinary answer
    glossary: bool = True  # expand BM25 queries with the privacy glossary (app/query.py)
    spelling: bool = True  # correct typos before retrieval (app/spelling.py)
    abstain_rules: bool = True  # the learned decision (or, without one, the rule-based referrals)
    # The answer's short lead, a span of the first cited sentence found by the reader model
    # (models/privacy-reader, `train reader`); None: the shipped reader where there is one.
    lead: bool = True
    reader_path: Path | None = None
    intent_path: Path | None = None  # None: models/intent-minilm where it exists
    decision_path: Path | None = None  # None: decision.json in the encoder's folder, where it exists
    lead_threshold: float | None = None  # None: the one the reader was trained with

    @classmethod
    def from_settings(cls, settings: Settings) -> AssistantConfig:
        """The defaults, with the knobs the settings module resolves (flag > env > file)."""
        return cls(
            max_question_chars=settings.max_question_chars,
            reader_path=Path(settings.reader) if settings.reader else None,
            lead_threshold=settings.lead_threshold,
        )

    def fusion_weights(self, lang: str) -> tuple[float, float, float]:
        return (self.fusion or {"en": (1.0, 1.0, 1.0), "zh": (0.0, 0.0, 1.0)})[lang]


class Assistant:
    """Answers questions from the policies in an index; reloads when the index changes.

    ``chooser``: how sentences are chosen (app/choose.py); by default the learned one fitted
    for this encoder, loaded on first use (an ablation passes another, app/evaluation)."""

    def __init__(
        self,
        embedder: Embedder,
        index_dir: Path,
        config: AssistantConfig | None = None,
        chooser: Chooser | None = None,
    ) -> None:
        self.embedder = embedder
        self.index_dir = index_dir
        self.config = config or AssistantConfig()
        expected = manifest_of(self.embedder.identity, SplitterConfig())
        self.live = LiveIndex(index_dir, expected={"model": expected["model"]})
        self.clarifier = Clarifier.load()
        self._given_chooser = chooser

    @cached_property
    def chooser(self) -> Chooser:
        """The sentence chooser: the one given, or the selector fitted beside the encoder."""
        if self._given_chooser is not None:
            return self._given_chooser
        return LearnedChooser.beside(self._encoder_folder)

    @cached_property
    def abstention(self) -> AbstentionPolicy:
        """When not to answer: the learned decision beside the encoder, for a learned chooser."""
        decision = None
        if self.chooser.learned and self.config.abstain_rules:
            path = self.config.decision_path
            if path is None and self._encoder_folder is not None:
                path = self._encoder_folder / DECISION_FILE
            decision = DecisionModel.load(path) if path is not None and path.is_file() else None
        return AbstentionPolicy(self.chooser.weak_below, rules=self.config.abstain_rules, decision=decision)

    @property
    def _encoder_folder(self) -> Path | None:
        folder = getattr(self.embedder, "path", None)
        return Path(folder) if folder is not None else None

    @classmethod
    def from_settings(cls, settings: Settings) -> Assistant:
        """The assistant the settings describe: their index, embedding model and limits."""
        embedder = SentenceTransformerEmbedder.from_settings(settings)
        return cls(embedder, settings.index, AssistantConfig.from_settings(settings))

    # -- the index ---------------------------------------------------------------------------

    def snapshot(self) -> IndexSnapshot:
        """The index to answer from: the live build, reloaded whenever a new one is live; the
        last good build while the live one fails verification (app/snapshot.py)."""
        return self.live.snapshot()

    def index_health(self) -> IndexHealth:
        """Which build is served, and whether it is the live one (for `/healthz`)."""
        return self.live.health()

    def warm_up(self) -> None:
        """Load the index and the model now rather than on the first question."""
        self.snapshot()
        self.embedder.embed_query("warm up")
        tokenize("预热")
        self.snapshot().speller.correct("warm up")
        if self._reader is not None:
            self._reader.span("warm up", "The reader is loaded before the first question.")

    def check_filters(self, filters: dict[str, object]) -> Filters:
        """Validate filters against the index: an unknown doc_id is an input error."""
        parsed = Filters.from_dict(filters)
        catalog = self.snapshot().catalog
        if parsed.doc_id and parsed.doc_id not in catalog:
            known = ", ".join(sorted(catalog))
            raise InputError(f"filters.doc_id: unknown document {parsed.doc_id!r} (known: {known})")
        return parsed

    # -- answering ---------------------------------------------------------------------------

    def clean_question(self, question: str) -> str:
        """Validated question text: control characters dropped, length within the limit."""
        if not isinstance(question, str):
            raise InputError("question must be a string")
        text = clean_input(question).strip()
        if not text:
            raise InputError("question is empty")
        if len(text) > self.config.max_question_chars:
            raise InputError(
                f"question is {len(text):,} characters, over the {self.config.max_question_chars:,}-character limit"
            )
        return text

    def lookup(self, question: str, filters: dict[str, object] | None, stages: Stages | None = None) -> Lookup:
        """Clean the question, correct its spelling, plan it and retrieve its top clauses."""
        stages = stages or Stages()
        snapshot = self.snapshot()
        text = self.clean_question(question)
        if self.config.spelling:
            text = snapshot.speller.correct(text, snapshot.protected_words).text
        parsed = self.check_filters(filters or {})
        query = plan(text, snapshot.catalog, explicit_doc=bool(parsed.doc_id))
        stages.lap("question analysis")
        request = Request(text, query, parsed, self.config.top_k, self.config.fusion_weights, self.config.glossary)
        found = snapshot.retriever.retrieve(request, self.embedder.embed_query, stages)
        return Lookup(text, snapshot, parsed, query, found)

    def candidates(self, found: Lookup) -> list[Evidence]:
        """The sentences ``answer`` chooses from, with their features: what the selector is
        fitted on (`privacy-assistant train selector`)."""
        return candidates(found, found.retrieval.hits[: self.config.evidence_clauses])

    def judge(self, inquiry: Inquiry, stages: Stages | None = None) -> Judgement:
        """Retrieve, choose the sentences and decide whether they answer (everything ``ask``
        does before writing the reply; `train decision` fits on its signals)."""
        stages = stages or Stages()
        found = self.lookup(inquiry.question, inquiry.filters, stages)
        config = self.config
        chosen = choose(self.chooser, found, config.evidence_clauses, config.max_compare_docs, inquiry.avoid)
        stages.lap("sentence selection")
        text, snapshot = found.text, found.snapshot
        intent = self._intent.predict(text, self._question_vector(found)) if self._intent is not None else None
        signals = self.abstention.signals(found, chosen, intent)
        reason = self.abstention.reason(found, chosen, intent, signals)
        if reason not in ("off-topic", "chit-chat", "no words") and self.clarifier.is_vague(found.query.terms):
            reason = "vague question"
        if chosen.evidence and not snapshot.speller.reads_as_words(text):
            reason = "no words"  # one letter repeated, keyboard noise: nothing to answer
        stages.lap("decision")
        return Judgement(found, chosen, signals, reason)

    def _question_vector(self, found: Lookup) -> np.ndarray:
        """The question's own vector (what the intent model was fitted on): the retrieval's, unless
        it searched with other words (a Chinese question over an English-only policy)."""
        searched = found.retrieval.searched
        return found.retrieval.vector if searched in ("", found.text) else self.embedder.embed_query(found.text)

    def ask(
        self,
        question: str,
        filters: dict[str, object] | None = None,
        qid: str = "q",
        timings: dict[str, float] | None = None,
        avoid: re.Pattern[str] | None = None,
        lang: str | None = None,
    ) -> Answer:
        """`answer` for a question given as arguments (the command line, the evaluation)."""
        return self.answer(Inquiry(question, dict(filters or {}), qid, avoid, lang), timings)

    def answer(self, inquiry: Inquiry, timings: dict[str, float] | None = None) -> Answer:
        """Answer one question from the policies, citing the sentences it relies on.
        ``timings``, when given, receives the milliseconds spent in each stage."""
        started = time.perf_counter()
        stages = Stages(timings)
        judged = self.judge(inquiry, stages)
        reply_lang = inquiry.lang if inquiry.lang in ("en", "zh") else judged.lookup.query.lang
        reply = write_reply(judged, reply_lang, self.clarifier)
        stages.lap("composition")
        text = judged.lookup.text
        lead = self._lead(text, reply.citations, stages)
        asked = self.clean_question(inquiry.question)
        intent = judged.signals.intent
        return Answer(
            id=inquiry.qid,
            question=asked,
            answer=reply.text,
            abstained=bool(judged.reason),
            citations=tuple(reply.citations),
            retrieved=tuple(
                Retrieved(h.clause.doc_id, h.clause.clause_id, h.clause.section_title, h.clause.text, round(h.score, 4))
                for h in judged.lookup.retrieval.hits
            ),
            latency_ms=(time.perf_counter() - started) * 1000,
            lang=reply_lang,
            contact=reply.contact,
            clarify=reply.clarify,
            corrected=text if text != asked else "",
            confidence=judged.chosen.confidence,
            intent=intent.top if intent is not None else "",
            abstain_reason=judged.reason,
            references=reply.references,
            lead=lead,
        )

    def _lead(self, question: str, citations: Sequence[Citation], stages: Stages) -> Lead | None:
        """The short lead: the reader's span of the first cited sentence, when sure enough."""
        if not citations or self._reader is None:
            return None
        found = self._reader.find(question, citations[0].quote, self.config.lead_threshold)
        stages.lap("lead")
        return placed(found, citations[0].n, citations[0].start) if found is not None else None

    @property
    def intent_model(self) -> Any:
        """The intent model in use, or None."""
        return self._intent

    @cached_property
    def _intent(self) -> Any:
        """The question's intent model, where one ships for this encoder (None: rules decide)."""
        folder = self.config.intent_path or INTENT_DIR
        if not folder.is_dir():
            return None
        from app.intent import IntentModel

        try:
            return IntentModel.load(folder, self.embedder.identity)
        except InputError as exc:
            log.warning("no intent model: %s", exc)
            return None

    @cached_property
    def _reader(self) -> Reader | None:
        """The lead's reader (loaded once per process and folder), or None: no leads."""
        return shared_reader(self.config.reader_path or READER_DIR) if self.config.lead else None
