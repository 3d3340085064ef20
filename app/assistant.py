"""The assistant: question in, grounded and cited answer out (the code path of `ask`,
`ask --batch`, `eval` and the web app alike).

`Assistant.ask` only orchestrates: the retriever finds the clauses in scope
(app/retrieve.py), the sentence chooser picks the answering sentences and its confidence
(app/choose.py), the abstention policy and its learned decision model say whether they answer
(app/abstain.py, app/decision.py), and the reply is written (app/reply.py, app/compose.py)
with what the sentences point to and, where a reader ships, its lead.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from app.abstain import AbstentionPolicy
from app.answer import Answer, Citation, Evidence, Retrieved
from app.choose import ChooserConfig, SentenceChooser, one_policy
from app.clarify import Clarifier
from app.decision import DECISION_FILE, DecisionModel, Judgement
from app.embedding import Embedder, SentenceTransformerEmbedder
from app.errors import InputError
from app.index import manifest_of
from app.lead import READER_DIR, Reader, shared_reader
from app.lead import to_json as lead_json
from app.lexical import tokenize
from app.query import QueryPlan, plan
from app.records import Filters
from app.reply import write_reply
from app.retrieve import Request, Retrieval
from app.selection import Selector
from app.settings import Settings
from app.snapshot import IndexHealth, IndexSnapshot, LiveIndex
from app.splitter import SplitterConfig
from app.text import clean_input
from app.timing import Stages

log = logging.getLogger(__name__)

SELECTOR_FILE = "selector.json"
INTENT_DIR = Path(__file__).resolve().parents[1] / "models" / "intent-minilm"


@dataclass(frozen=True)
class AssistantConfig:
    """Tunable parameters. The thresholds were chosen on evals/dev.jsonl only (see README)."""

    top_k: int = 10  # clauses listed in `retrieved`
    evidence_clauses: int = 5  # clauses whose sentences may be cited
    max_citations: int = 2
    support_ratio: float = 0.8  # a supporting sentence scores at least this share of the lead
    dense_weight: dict[str, float] | None = None
    abstain_below: dict[str, float] | None = None  # lead sentence score under which we abstain
    # Fusion weights of (clause dense, sentence dense, BM25) per question language: the
    # English-only MiniLM says little about Chinese text, so BM25 leads there.
    fusion: dict[str, tuple[float, float, float]] | None = None
    max_question_chars: int = 2000
    max_compare_docs: int = 6  # a comparison quotes each document; past this many it is an ordinary answer
    shape_bonus: float = 0.1  # for a sentence holding the kind of fact asked for (a duration, an e-mail)
    # How sentences are chosen and abstention decided: "learned" (the fitted selector that
    # ships beside the encoder, app/selection.py), "rules" (the hand-weighted scores and
    # thresholds below, the pipeline before the learned one), "cosine" (the encoder's
    # similarity alone, never abstaining on weak evidence: the plain-model baseline).
    selector: str = "learned"
    selector_path: Path | None = None  # default: selector.json in the encoder's folder
    glossary: bool = True  # expand BM25 queries with the privacy glossary (app/query.py)
    spelling: bool = True  # correct typos before retrieval (app/spelling.py)
    abstain_rules: bool = True  # the off-topic, unknown-name and missing-figure referrals
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

    def __post_init__(self) -> None:
        if self.selector not in ("learned", "rules", "cosine"):
            raise InputError(f"selector must be learned, rules or cosine, not {self.selector!r}")

    def fusion_weights(self, lang: str) -> tuple[float, float, float]:
        return (self.fusion or {"en": (1.0, 1.0, 1.0), "zh": (0.0, 0.0, 1.0)})[lang]

    def threshold(self, lang: str) -> float:
        return (self.abstain_below or {"en": 0.2267, "zh": 0.2698})[lang]

    def chooser(self) -> ChooserConfig:
        return ChooserConfig(self.selector, self.max_citations, self.support_ratio, self.dense_weight, self.shape_bonus)


class Assistant:
    """Answers questions from the policies in an index; reloads when the index changes."""

    def __init__(self, embedder: Embedder, index_dir: Path, config: AssistantConfig | None = None) -> None:
        self.embedder = embedder
        self.index_dir = index_dir
        self.config = config or AssistantConfig()
        expected = manifest_of(self.embedder.identity, SplitterConfig())
        self.live = LiveIndex(index_dir, expected={"model": expected["model"]})
        self.selector = self._load_selector()
        self.clarifier = Clarifier.load()
        self.chooser = SentenceChooser(self.config.chooser(), self.selector)
        self.abstention = AbstentionPolicy(
            0.5 if self.selector is not None else {lang: self.config.threshold(lang) for lang in ("en", "zh")},
            rules=self.config.abstain_rules,
            never_weak=self.config.selector == "cosine",
            decision=self._load_decision(),
        )

    def _load_selector(self) -> Selector | None:
        """The fitted selector for this encoder, when the learned mode is asked for."""
        if self.config.selector != "learned":
            return None
        path = self.config.selector_path
        if path is None:
            folder = getattr(self.embedder, "path", None)
            path = Path(folder) / SELECTOR_FILE if folder is not None else None
        if path is None or not path.is_file():
            log.warning("no fitted selector for this encoder (%s): choosing sentences by rules", path)
            return None
        return Selector.load(path)

    def _load_decision(self) -> DecisionModel | None:
        """The learned answer-or-refer model beside the encoder, when the learned mode is on."""
        if self.selector is None or not self.config.abstain_rules:
            return None
        path = self.config.decision_path
        if path is None:
            folder = getattr(self.embedder, "path", None)
            path = Path(folder) / DECISION_FILE if folder is not None else None
        return DecisionModel.load(path) if path is not None and path.is_file() else None

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

    def retrieve(
        self, question: str, filters: dict[str, object] | None, stages: Stages | None = None
    ) -> tuple[str, IndexSnapshot, Filters, QueryPlan, Retrieval]:
        """Clean the question, plan it and retrieve its top clauses (what ``ask`` does before
        choosing sentences)."""
        stages = stages or Stages()
        snapshot = self.snapshot()
        text = self.clean_question(question)
        if self.config.spelling:
            text = snapshot.speller.correct(text, snapshot.protected_words).text
        parsed = self.check_filters(filters or {})
        query = plan(text, snapshot.catalog, explicit_doc=bool(parsed.doc_id))
        stages.lap("question analysis")
        request = Request(text, query, parsed, self.config.top_k, self.config.fusion_weights, self.config.glossary)
        return text, snapshot, parsed, query, snapshot.retriever.retrieve(request, self.embedder.embed_query, stages)

    def sentence_candidates(
        self, question: str, filters: dict[str, object] | None = None
    ) -> tuple[str, list[Evidence]]:
        """The question's language and the candidate sentences ``ask`` chooses from, with
        their features: what the selector is fitted on (`privacy-assistant train selector`)."""
        _, snapshot, _, query, found = self.retrieve(question, filters)
        top = found.hits[: self.config.evidence_clauses]
        return query.lang, self.chooser.candidates(snapshot, query, found.vector, top)

    def judge(
        self,
        question: str,
        filters: dict[str, object] | None = None,
        stages: Stages | None = None,
        avoid: re.Pattern[str] | None = None,
    ) -> Judgement:
        """Retrieve, choose the sentences and decide whether they answer (everything ``ask``
        does before writing the reply; `train decision` fits on its signals)."""
        stages = stages or Stages()
        text, snapshot, parsed, query, found = self.retrieve(question, filters, stages)
        hits = found.hits
        scored = self.chooser.scored(snapshot, query, found.vector, hits[: self.config.evidence_clauses], avoid)
        if query.compare and not parsed.doc_id and 1 < len(found.docs) <= self.config.max_compare_docs:
            evidence = self.chooser.compare(snapshot, query, found, found.docs, self.config.evidence_clauses)
        else:
            evidence = one_policy(self.chooser.select(scored, query.lang), query)
        stages.lap("sentence selection")
        confidence = self.chooser.confidence(snapshot, query, evidence, scored, hits)
        intent = self._intent.predict(text, self._question_vector(text, found)) if self._intent is not None else None
        signals = self.abstention.signals(text, snapshot, query, evidence, confidence, intent)
        reason = self.abstention.reason(text, snapshot, query, evidence, confidence, intent, signals)
        if reason not in ("off-topic", "chit-chat", "no words") and self.clarifier.is_vague(query.terms):
            reason = "vague question"
        if evidence and not snapshot.speller.reads_as_words(text):
            reason = "no words"  # one letter repeated, keyboard noise: nothing to answer
        stages.lap("decision")
        return Judgement(text, snapshot, parsed, query, found, evidence, confidence, signals, reason)

    def _question_vector(self, text: str, found: Retrieval) -> np.ndarray:
        """The question's own vector (what the intent model was fitted on): the retrieval's, unless
        it searched with other words (a Chinese question over an English-only policy)."""
        return found.vector if found.searched in ("", text) else self.embedder.embed_query(text)

    def ask(
        self,
        question: str,
        filters: dict[str, object] | None = None,
        qid: str = "q",
        timings: dict[str, float] | None = None,
        avoid: re.Pattern[str] | None = None,
        lang: str | None = None,
    ) -> Answer:
        """Answer one question from the policies, citing the sentences it relies on.
        ``timings``, when given, receives the milliseconds spent in each stage. Sentences
        matching ``avoid`` are never cited (the chat passes CARD_REQUEST to a customer who was
        just told not to share a card number). ``lang`` is the reply's language when it is not the
        question's (a follow-up typed in English to a question asked in Chinese)."""
        started = time.perf_counter()
        stages = Stages(timings)
        judged = self.judge(question, filters, stages, avoid)
        reply_lang = lang if lang in ("en", "zh") else judged.query.lang
        reply = write_reply(judged, reply_lang, self.clarifier)
        citations = list(reply.citations)
        stages.lap("composition")
        lead = self._lead(judged.text, citations, stages)
        asked = self.clean_question(question)
        intent = judged.signals.intent
        return Answer(
            id=qid,
            question=asked,
            answer=reply.text,
            abstained=bool(judged.reason),
            citations=tuple(citations),
            retrieved=tuple(
                Retrieved(h.clause.doc_id, h.clause.clause_id, h.clause.section_title, h.clause.text, round(h.score, 4))
                for h in judged.retrieval.hits
            ),
            latency_ms=(time.perf_counter() - started) * 1000,
            lang=reply_lang,
            contact=reply.contact,
            clarify=reply.clarify,
            corrected=judged.text if judged.text != asked else "",
            extras={
                "confidence": round(judged.confidence, 4),
                **({"intent": intent.top} if intent is not None else {}),
                **({"abstain_reason": judged.reason} if judged.reason else {}),
                **({"references": [asdict(r) for r in reply.references]} if reply.references else {}),
                **({"lead": lead} if lead else {}),
            },
        )

    def _lead(self, question: str, citations: list[Citation], stages: Stages) -> dict[str, object] | None:
        """The short lead: the reader's span of the first cited sentence, when sure enough."""
        if not citations or self._reader is None:
            return None
        found = self._reader.find(question, citations[0].quote, self.config.lead_threshold)
        stages.lap("lead")
        return lead_json(found, citations[0].n, citations[0].start) if found is not None else None

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
