"""The assistant: question in, grounded and cited answer out (the code path of `ask`,
`ask --batch`, `eval` and the web app alike)."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

from app.answer import Answer, Citation, Evidence, Retrieved, abstention_text, compose
from app.embedding import Embedder, SentenceTransformerEmbedder
from app.errors import InputError
from app.index import ClauseIndex, index_version, load_index, manifest_of
from app.lead import READER_DIR, Reader, shared_reader
from app.lead import to_json as lead_json
from app.lexical import tokenize
from app.query import NUMBER, Catalog, QueryPlan, has_synonyms, in_english, plan, synonyms
from app.records import Clause
from app.references import contact_sections, reference_lines, resolve_all
from app.retrieve import Filters, Hit, HybridRetriever
from app.selection import SENTENCE_FEATURES, Selector, answer_features
from app.splitter import SplitterConfig
from app.text import clean_input
from app.timing import Stages

log = logging.getLogger(__name__)

SELECTOR_FILE = "selector.json"

# A name: capitalised inside the question ("PayPal", "AWS", "Hotjar"), not its first word.
_NAME = re.compile(r"(?<=[\w,;:?!)] )([A-Z][\w-]*[A-Za-z])")
# Chatty words customers use that no policy contains; their absence proves nothing.
_CASUAL = frozenset(
    tokenize(
        "stuff thing things guys like actually basically really gonna wanna yeah okay ok lol btw asap anyway "
        "tell know want wonder wondering curious quick question somebody someone something sure exactly"
    )
)
_SELF_NAME = re.compile(r"\b(?:I'm|I am|my name is|this is|regards|thanks)\s*,?\s*[A-Z][a-z]+")


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
    abstain_rules: bool = True  # the off-topic, unknown-name and missing-figure referrals
    # The answer's short lead, a span of the first cited sentence found by the reader model
    # (models/privacy-reader, `train reader`); None: the shipped reader where there is one.
    lead: bool = True
    reader_path: Path | None = None
    lead_threshold: float | None = None  # None: the one the reader was trained with

    def weight(self, lang: str) -> float:
        return (self.dense_weight or {"en": 0.6, "zh": 0.2})[lang]

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AssistantConfig:
        """Defaults, with settings from the environment: PRIVACY_ASSISTANT_MAX_QUESTION_CHARS,
        PRIVACY_ASSISTANT_READER (the lead's reader model folder) and
        PRIVACY_ASSISTANT_LEAD_THRESHOLD (show a lead at this probability or above, 0–1.01)."""
        env = os.environ if environ is None else environ
        settings: dict[str, object] = {}
        if raw := env.get("PRIVACY_ASSISTANT_MAX_QUESTION_CHARS", ""):
            if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
                raise InputError(
                    f"PRIVACY_ASSISTANT_MAX_QUESTION_CHARS must be a whole number 1–100000, got {raw!r}"
                )
            settings["max_question_chars"] = int(raw)
        if raw := env.get("PRIVACY_ASSISTANT_READER", ""):
            settings["reader_path"] = Path(raw)
        if raw := env.get("PRIVACY_ASSISTANT_LEAD_THRESHOLD", ""):
            try:
                value = float(raw)
            except ValueError:
                value = -1.0
            if not 0.0 <= value <= 1.01:
                raise InputError(f"PRIVACY_ASSISTANT_LEAD_THRESHOLD must be a number 0–1.01, got {raw!r}")
            settings["lead_threshold"] = value
        return cls(**settings)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if self.selector not in ("learned", "rules", "cosine"):
            raise InputError(f"selector must be learned, rules or cosine, not {self.selector!r}")

    def fusion_weights(self, lang: str) -> tuple[float, float, float]:
        return (self.fusion or {"en": (1.0, 1.0, 1.0), "zh": (0.0, 0.0, 1.0)})[lang]

    def threshold(self, lang: str) -> float:
        return (self.abstain_below or {"en": 0.2267, "zh": 0.2698})[lang]


class _State:
    """Everything derived from one index build; replaced whole when the index changes."""

    def __init__(self, index: ClauseIndex) -> None:
        self.index = index
        self.retriever = HybridRetriever(index)
        self.metas = Catalog({d: doc.meta for d, doc in index.documents.items()})
        self._sentence_tokens: dict[int, set[str]] = {}
        self._filtered: dict[Filters, frozenset[str]] = {}
        self.contacts = contact_sections(index.clauses)
        # Symmetric-delete neighbourhood of the vocabulary: a word one typo away from a
        # policy word shares a one-deletion variant with it (cheap fuzzy lookup).
        self.near_vocab = {v for word in self.retriever.lexical.vocab for v in _deletions(word)}
        self.version = ""

    def filtered(self, filters: Filters) -> frozenset[str]:
        """The current documents a brand or region filter allows (kept per filter)."""
        if (found := self._filtered.get(filters)) is None:
            found = self._filtered[filters] = frozenset(
                d
                for d in self.metas.current
                if (not filters.brand or self.metas[d].brand.lower() == filters.brand.lower())
                and (not filters.region or filters.region.lower() in self.metas[d].region.lower())
            )  # a language filter acts on clauses (retriever.mask), not on documents
        return found

    def sentence_tokens(self, clause: Clause, row: int, j: int) -> set[str]:
        """Tokens of sentence ``j`` of the clause at ``row`` (computed on first use)."""
        key = int(self.index.sentence_offsets[row]) + j
        if (found := self._sentence_tokens.get(key)) is None:
            span = clause.sentences[j]
            text = clause.text[span.start - clause.start : span.end - clause.start]
            found = self._sentence_tokens[key] = set(tokenize(text))
        return found


class Assistant:
    """Answers questions from the policies in an index; reloads when the index changes."""

    def __init__(self, embedder: Embedder, index_dir: Path, config: AssistantConfig | None = None) -> None:
        self.embedder = embedder
        self.index_dir = index_dir
        self.config = config or AssistantConfig()
        self._state: _State | None = None
        self._lock = threading.Lock()
        self.selector = self._load_selector()

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

    @classmethod
    def from_paths(cls, documents_dir: Path, index_dir: Path, config: AssistantConfig | None = None) -> Assistant:
        del documents_dir  # the index holds the normalised documents it was built from
        return cls(SentenceTransformerEmbedder(), index_dir, config or AssistantConfig.from_env())

    # -- state -----------------------------------------------------------------------------

    def state(self) -> _State:
        """The current index, loaded on first use and again whenever a new build is live."""
        version = index_version(self.index_dir)
        state = self._state
        if state is not None and state.version == version:
            return state
        with self._lock:
            if self._state is None or self._state.version != version:
                expected = manifest_of(self.embedder.identity, SplitterConfig())
                fresh = _State(load_index(self.index_dir, expected={"model": expected["model"]}))
                fresh.version = version
                if self._state is not None:
                    log.info("index changed: now serving %s", version)
                self._state = fresh
            return self._state

    def warm_up(self) -> None:
        """Load the index and the model now rather than on the first question."""
        self.state()
        self.embedder.embed_query("warm up")
        tokenize("预热")
        if self._reader is not None:
            self._reader.span("warm up", "The reader is loaded before the first question.")

    def check_filters(self, filters: dict[str, object]) -> Filters:
        """Validate filters against the index: an unknown doc_id is an input error."""
        parsed = Filters.from_dict(filters)
        metas = self.state().metas
        if parsed.doc_id and parsed.doc_id not in metas:
            raise InputError(f"filters.doc_id: unknown document {parsed.doc_id!r} (known: {', '.join(sorted(metas))})")
        return parsed

    # -- answering -------------------------------------------------------------------------

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

    def sentence_candidates(
        self, question: str, filters: dict[str, object] | None = None
    ) -> tuple[str, list[Evidence]]:
        """The question's language and the candidate sentences ``ask`` chooses from, with
        their features: what the selector is fitted on (`privacy-assistant train selector`)."""
        _, state, _, query, vector, _, hits = self._retrieve(question, filters, Stages())
        return query.lang, self.candidates(state, query, vector, hits[: self.config.evidence_clauses])[0]

    def _retrieve(
        self, question: str, filters: dict[str, object] | None, stages: Stages
    ) -> tuple[str, _State, Filters, QueryPlan, np.ndarray, AbstractSet[str] | None, list[Hit]]:
        """Clean the question, plan it, embed it and retrieve its top clauses (the part of
        ``ask`` that comes before choosing sentences)."""
        text = self.clean_question(question)
        state = self.state()
        parsed = self.check_filters(filters or {})
        query = plan(text, state.metas, explicit_doc=bool(parsed.doc_id))
        stages.lap("question analysis")
        docs = self._candidate_docs(query, parsed, state)
        allowed = state.retriever.mask(parsed, docs, lang=query.lang)
        stages.lap("filters")
        weights = self.config.fusion_weights(query.lang)
        tokens = self._bm25_tokens(query)
        searched = text
        if query.lang != "en" and not state.retriever.has_lang(allowed, query.lang):
            # The allowed policies are not in the question's language: search them in theirs,
            # with the English words for the question's (the encoder reads English).
            english = [t for t in in_english(tokens) if t.isascii()]
            if english:
                tokens, searched, weights = english, " ".join(english), self.config.fusion_weights("en")
        vector = self.embedder.embed_query(searched)
        stages.lap("query embedding")
        hits = state.retriever.search(vector, tokens, allowed, self.config.top_k, weights, stages)
        return text, state, parsed, query, vector, docs, hits

    def ask(
        self,
        question: str,
        filters: dict[str, object] | None = None,
        qid: str = "q",
        timings: dict[str, float] | None = None,
        avoid: re.Pattern[str] | None = None,
    ) -> Answer:
        """Answer one question from the policies, citing the sentences it relies on.
        ``timings``, when given, receives the milliseconds spent in each stage. Sentences
        matching ``avoid`` are never cited (the chat passes CARD_REQUEST to a customer who was
        just told not to share a card number)."""
        started = time.perf_counter()
        stages = Stages(timings)
        text, state, parsed, query, vector, docs, hits = self._retrieve(question, filters, stages)
        scored = sorted(
            self._score_sentences(state, query, vector, hits[: self.config.evidence_clauses]), key=lambda e: -e.score
        )
        if avoid is not None:
            scored = [e for e in scored if not avoid.search(e.text)]
        if query.compare and docs is not None and 1 < len(docs) <= self.config.max_compare_docs:
            evidence = self._compare(state, query, vector, parsed, docs)
        else:
            evidence = self._select(scored, query)
        stages.lap("sentence selection")
        confidence = self._confidence(state, query, evidence, scored, hits) if evidence else 0.0
        reason = self._abstain_reason(text, state, query, evidence, confidence)
        abstain = bool(reason)
        retrieved = tuple(
            Retrieved(h.clause.doc_id, h.clause.clause_id, h.clause.section_title, h.clause.text, round(h.score, 4))
            for h in hits
        )
        contact = self._contact(state, query, parsed, hits)
        answer_text, citations = abstention_text(query.lang, contact, query.off_topic), list[Citation]()
        references = []
        if not abstain:
            answer_text, citations = compose(evidence, state.metas, query.lang)
            references = resolve_all(
                [(c.n, c.start, c.end, ev.clause) for c, ev in zip(citations, evidence, strict=True)],
                state.metas,
                state.contacts,
            )
            answer_text = "\n".join([answer_text, *reference_lines(references, query.lang)])
        stages.lap("composition")
        lead = None
        if citations and self._reader is not None:
            if (found := self._reader.find(text, citations[0].quote, self.config.lead_threshold)) is not None:
                lead = lead_json(found, citations[0].n, citations[0].start)
            stages.lap("lead")
        return Answer(
            id=qid,
            question=text,
            answer=answer_text,
            abstained=abstain,
            citations=tuple(citations),
            retrieved=retrieved,
            latency_ms=(time.perf_counter() - started) * 1000,
            lang=query.lang,
            contact=contact,
            extras={
                "confidence": round(confidence, 4),
                **({"abstain_reason": reason} if reason else {}),
                **({"references": [asdict(r) for r in references]} if references else {}),
                **({"lead": lead} if lead else {}),
            },
        )

    @cached_property
    def _reader(self) -> Reader | None:
        """The lead's reader (loaded once per process and folder), or None: no leads."""
        return shared_reader(self.config.reader_path or READER_DIR) if self.config.lead else None

    def _bm25_tokens(self, query: QueryPlan) -> list[str]:
        """The BM25 query: the question's words, with their glossary equivalents unless off."""
        return query.tokens if self.config.glossary else query.terms

    def _abstain_reason(
        self, text: str, state: _State, query: QueryPlan, evidence: list[Evidence], confidence: float
    ) -> str:
        """Why not to answer ("" to answer). The plain-cosine baseline abstains only on no evidence."""
        if not evidence:
            return "no evidence"
        if self.config.selector == "cosine":
            return ""
        if self.config.abstain_rules:
            if query.off_topic:
                return "off-topic"
            if unknown := self._unknown_entity(text, state):
                return f"unknown term {unknown!r}"
            if query.needs_number and not any(NUMBER.search(e.text) for e in evidence):
                return "no figure given"
        threshold = 0.5 if self.selector is not None else self.config.threshold(query.lang)
        return "weak evidence" if confidence < threshold else ""

    def _candidate_docs(self, query: QueryPlan, filters: Filters, state: _State) -> AbstractSet[str] | None:
        """Named documents, else every current one (superseded versions only when asked)."""
        if filters.doc_id:
            return None  # the filter already decides
        if query.doc_ids:
            return query.doc_ids
        if filters:  # a brand, region or language filter chooses among the current policies
            return state.filtered(filters)
        return state.metas.default(query.lang)

    def _select(self, scored: list[Evidence], query: QueryPlan) -> list[Evidence]:
        """The sentences that answer (``scored``: candidates, best first): the best one, and
        close seconds that add to it."""
        if not scored:
            return []
        if self.selector is not None:  # probabilities: a second sentence must nearly match the lead's
            chosen = [scored[0]]
            for ev in scored[1:]:
                if len(chosen) >= self.config.max_citations or ev.score < self.selector.support * scored[0].score:
                    break
                if all(ev.text != c.text for c in chosen):
                    chosen.append(ev)
            return chosen
        substantive = [e for e in scored if _substantive(e.text, query.lang)]
        scored = substantive or scored
        lead = scored[0]
        chosen = [lead]
        if self.config.selector == "cosine":
            return chosen
        for ev in scored[1:]:
            if len(chosen) >= self.config.max_citations or ev.score < self.config.support_ratio * lead.score:
                break
            if any(ev.text == c.text for c in chosen):
                continue
            chosen.append(ev)
        return chosen

    def _compare(
        self, state: _State, query: QueryPlan, vector: np.ndarray, filters: Filters, docs: AbstractSet[str]
    ) -> list[Evidence]:
        """The best sentences of each document compared (a close second too), in date order."""
        evidence: list[Evidence] = []
        for doc_id in sorted(docs, key=lambda d: state.metas[d].effective_date):
            allowed = state.retriever.mask(filters, {doc_id}, lang=query.lang)
            hits = state.retriever.search(
                vector,
                self._bm25_tokens(query),
                allowed,
                self.config.evidence_clauses,
                self.config.fusion_weights(query.lang),
            )
            scored = sorted(self._score_sentences(state, query, vector, hits), key=lambda e: -e.score)
            if scored:
                evidence.append(scored[0])
            if len(scored) > 1 and scored[1].score >= self.config.support_ratio * scored[0].score:
                evidence.append(scored[1])
        return evidence

    def candidates(
        self, state: _State, query: QueryPlan, vector: np.ndarray, hits: list[Hit]
    ) -> tuple[list[Evidence], np.ndarray]:
        """Every sentence of the given clauses, with its features (``SENTENCE_FEATURES``)
        for the learned selector; the evidence's score is the rule score."""
        w = self.config.weight(query.lang)
        out: list[Evidence] = []
        rows_out: list[list[float]] = []
        lexical = state.retriever.lexical
        for hit in hits:
            rows = state.index.sentence_rows(hit.row)
            if not len(rows):
                continue
            dense = state.index.sentence_vectors[rows.start : rows.stop] @ vector
            clause_cos = float(state.index.clause_vectors[hit.row] @ vector)
            for j, span in enumerate(hit.clause.sentences):
                tokens = state.sentence_tokens(hit.clause, hit.row, j)
                lex = lexical.coverage(query.terms, tokens, synonyms)
                text = hit.clause.text[span.start - hit.clause.start : span.end - hit.clause.start]
                shaped = query.shape is not None and bool(query.shape.search(text))
                score = w * float(dense[j]) + (1 - w) * lex
                score = 0.8 * score + 0.2 * hit.score  # the clause's own rank counts too
                if shaped:
                    score += self.config.shape_bonus  # it has the kind of fact asked for
                out.append(Evidence(hit.clause, span.start, span.end, score))
                plain = lexical.coverage(query.terms, tokens)  # without the glossary
                short = float(not _substantive(text, query.lang))
                first = float(j == 0)
                rows_out.append([float(dense[j]), 0.0, hit.score, clause_cos, plain, short, float(shaped), first])
        features = np.asarray(rows_out, dtype=np.float64).reshape(-1, len(SENTENCE_FEATURES))
        if len(features):
            features[:, 1] = features[:, 0] - features[:, 0].max()
        out = [replace(e, features=tuple(f.tolist())) for e, f in zip(out, features, strict=True)]
        return out, features

    def _score_sentences(self, state: _State, query: QueryPlan, vector: np.ndarray, hits: list[Hit]) -> list[Evidence]:
        """Candidate sentences scored by the configured selector."""
        evidence, features = self.candidates(state, query, vector, hits)
        if self.selector is not None and evidence:
            probs = self.selector.sentence_model(query.lang).probability(features)
            return [replace(e, score=float(p)) for e, p in zip(evidence, probs, strict=True)]
        if self.config.selector == "cosine":
            return [replace(e, score=float(f[0])) for e, f in zip(evidence, features, strict=True)]
        return evidence

    def _confidence(
        self, state: _State, query: QueryPlan, evidence: list[Evidence], scored: list[Evidence], hits: list[Hit]
    ) -> float:
        """How likely the lead sentence answers. Learned: P(answerable) from the selector;
        rules: its score and how much of the question's own wording (IDF-weighted) it
        carries, against thresholds from `eval --calibrate`; cosine: the similarity."""
        lead = evidence[0]
        row = state.index.by_id[lead.clause.clause_id]
        j = next(k for k, s in enumerate(lead.clause.sentences) if s.start == lead.start)
        if self.selector is not None:
            runner_up = next((e.score for e in scored[1:] if e.text != lead.text), 0.0)
            clause = next((h.score for h in hits if h.clause.clause_id == lead.clause.clause_id), 0.0)
            x = answer_features(lead.score, lead.features[0], lead.features[4], runner_up, clause)
            return float(self.selector.answer_model(query.lang).probability(x)[0])
        if self.config.selector == "cosine":
            return lead.score
        carried = state.retriever.lexical.coverage(query.terms, state.sentence_tokens(lead.clause, row, j), synonyms)
        return 0.5 * lead.score + 0.5 * carried

    def _unknown_entity(self, text: str, state: _State) -> str:
        """A thing the question asks about that no policy mentions ("PayPal", "AWS", "bug
        bounty"): a word absent from every document that is not a misspelling of one."""
        vocab = state.retriever.lexical.vocab
        cleaned = _SELF_NAME.sub(" ", text)
        for word in _NAME.findall(cleaned):
            token = (tokenize(word) or [""])[0]
            if not token or token in vocab or token in _CASUAL or len(token) < 3 or has_synonyms(token):
                continue
            if _is_cjk_token(token) or not token.isalpha():
                continue  # Chinese segmentation and numbers make poor evidence of absence
            if not _deletions(token) & state.near_vocab:
                return token
        return ""

    def _contact(self, state: _State, query: QueryPlan, filters: Filters, hits: list[Hit]) -> str:
        """The client-relations channel of the policy the question concerns."""
        preferred: list[str] = []
        if filters.doc_id:
            preferred.append(filters.doc_id)
        if query.doc_ids:
            preferred.extend(sorted(query.doc_ids))
        if hits:
            top = state.metas[hits[0].clause.doc_id]
            preferred.append(top.doc_id)
            preferred.extend(sorted(state.metas.by_brand.get(top.brand.lower(), frozenset()) & state.metas.current))
        preferred.extend(state.metas.current_sorted)
        # A policy written in the question's language first, then any that has a contact.
        for want_lang in (True, False):
            for doc_id in preferred:
                meta = state.metas.get(doc_id)
                if meta is None or (want_lang and (not meta.languages or meta.languages[0] != query.lang)):
                    continue
                found = state.contacts.get((doc_id, query.lang)) or state.contacts.get((doc_id, "en"))
                if found:
                    return found
        return ""


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _is_cjk_token(token: str) -> bool:
    return "\u3400" <= token[0] <= "\ufaff"


def _substantive(sentence: str, lang: str) -> bool:
    """Long enough to say something, or a contact line (an address, a number, an e-mail)."""
    return len(sentence) >= (8 if lang == "zh" else 25) or bool(re.search(r"\d{3}|@", sentence))


def p95(values: list[float]) -> float:
    return float(np.percentile(values, 95)) if values else 0.0
