"""Choosing the sentences that answer, among those of the retrieved clauses, and how sure
to be of them: by the learned selector (app/selection.py), by the hand-weighted rules it
replaced, or by the encoder's cosine alone (the plain-model baseline)."""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import numpy as np

from app.answer import Evidence
from app.query import QueryPlan, synonyms
from app.retrieve import Hit, Retrieval
from app.selection import SENTENCE_FEATURES, Selector, answer_features
from app.snapshot import IndexSnapshot


@dataclass(frozen=True)
class ChooserConfig:
    """The rules mode's weights (chosen on evals/dev.jsonl only; see README)."""

    mode: str = "learned"  # "learned", "rules" or "cosine"
    max_citations: int = 2
    support_ratio: float = 0.8  # a supporting sentence scores at least this share of the lead
    dense_weight: dict[str, float] | None = None  # the rules' dense share of a sentence's score
    shape_bonus: float = 0.1  # for a sentence holding the kind of fact asked for (a duration, an e-mail)

    def weight(self, lang: str) -> float:
        return (self.dense_weight or {"en": 0.6, "zh": 0.2})[lang]


class SentenceChooser:
    """Scores candidate sentences, picks the answering ones and says how likely they answer."""

    def __init__(self, config: ChooserConfig, selector: Selector | None) -> None:
        self.config = config
        self.selector = selector  # None: the rules (or cosine) decide

    def candidates(
        self, snapshot: IndexSnapshot, query: QueryPlan, vector: np.ndarray, hits: list[Hit]
    ) -> list[Evidence]:
        """Every sentence of the given clauses with its features (``SENTENCE_FEATURES``, what
        the learned selector reads); the evidence's score is the rules' score."""
        return self._candidates(snapshot, query, vector, hits)[0]

    def _candidates(
        self, snapshot: IndexSnapshot, query: QueryPlan, vector: np.ndarray, hits: list[Hit]
    ) -> tuple[list[Evidence], np.ndarray]:
        w = self.config.weight(query.lang)
        out: list[Evidence] = []
        rows: list[list[float]] = []
        lexical = snapshot.retriever.lexical
        for hit in hits:
            sentence_rows = snapshot.index.sentence_rows(hit.row)
            if not len(sentence_rows):
                continue
            dense = snapshot.index.sentence_vectors[sentence_rows.start : sentence_rows.stop] @ vector
            clause_cos = float(snapshot.index.clause_vectors[hit.row] @ vector)
            for j, span in enumerate(hit.clause.sentences):
                tokens = snapshot.sentence_tokens(hit.clause, hit.row, j)
                text = hit.clause.sentence_text(j)
                shaped = query.shape is not None and bool(query.shape.search(text))
                score = w * float(dense[j]) + (1 - w) * lexical.coverage(query.terms, tokens, synonyms)
                score = 0.8 * score + 0.2 * hit.score + (self.config.shape_bonus if shaped else 0.0)
                out.append(Evidence(hit.clause, span.start, span.end, score))
                plain = lexical.coverage(query.terms, tokens)  # without the glossary
                short = float(not substantive(text, query.lang))
                rows.append([float(dense[j]), 0.0, hit.score, clause_cos, plain, short, float(shaped), float(j == 0)])
        features = np.asarray(rows, dtype=np.float64).reshape(-1, len(SENTENCE_FEATURES))
        if len(features):
            features[:, 1] = features[:, 0] - features[:, 0].max()  # the cosine's gap to the best one
        return [replace(e, features=tuple(f.tolist())) for e, f in zip(out, features, strict=True)], features

    def scored(
        self,
        snapshot: IndexSnapshot,
        query: QueryPlan,
        vector: np.ndarray,
        hits: list[Hit],
        avoid: re.Pattern[str] | None = None,
    ) -> list[Evidence]:
        """Candidate sentences scored the configured way, best first (none matching ``avoid``)."""
        evidence, features = self._candidates(snapshot, query, vector, hits)
        if self.selector is not None and evidence:
            probs = self.selector.sentence_model(query.lang).probability(features)
            evidence = [replace(e, score=float(p)) for e, p in zip(evidence, probs, strict=True)]
        elif self.config.mode == "cosine":
            evidence = [replace(e, score=e.features[0]) for e in evidence]
        evidence.sort(key=lambda e: -e.score)
        return [e for e in evidence if avoid is None or not avoid.search(e.text)]

    def select(self, scored: list[Evidence], lang: str) -> list[Evidence]:
        """The sentences that answer (``scored``: best first): the best one, and close
        seconds that add to it (a learned probability must nearly match the lead's)."""
        if self.selector is None:
            scored = [e for e in scored if substantive(e.text, lang)] or scored
        if not scored:
            return []
        chosen = [scored[0]]
        if self.config.mode == "cosine" and self.selector is None:
            return chosen
        ratio = self.selector.support if self.selector is not None else self.config.support_ratio
        for ev in scored[1:]:
            if len(chosen) >= self.config.max_citations or ev.score < ratio * scored[0].score:
                break
            if all(ev.text != c.text for c in chosen):
                chosen.append(ev)
        return chosen

    def compare(
        self, snapshot: IndexSnapshot, query: QueryPlan, retrieval: Retrieval, docs: AbstractSet[str], k: int
    ) -> list[Evidence]:
        """The best sentence of each compared document (a close second too), in date order."""
        evidence: list[Evidence] = []
        catalog = snapshot.catalog
        for doc_id in sorted(docs, key=lambda d: catalog[d].effective_date):
            hits = snapshot.retriever.retrieve_within(retrieval, doc_id, query.lang, k)
            scored = self.scored(snapshot, query, retrieval.vector, hits)
            if scored:
                evidence.append(scored[0])
            if len(scored) > 1 and scored[1].score >= self.config.support_ratio * scored[0].score:
                evidence.append(scored[1])
        return evidence

    def confidence(
        self,
        snapshot: IndexSnapshot,
        query: QueryPlan,
        evidence: list[Evidence],
        scored: list[Evidence],
        hits: list[Hit],
    ) -> float:
        """How likely the lead sentence answers. Learned: P(answerable) from the selector;
        rules: its score and how much of the question's own wording (IDF-weighted) it
        carries, against thresholds from `eval --calibrate`; cosine: the similarity."""
        if not evidence:
            return 0.0
        lead = evidence[0]
        if self.selector is not None:
            runner_up = next((e.score for e in scored[1:] if e.text != lead.text), 0.0)
            clause = next((h.score for h in hits if h.clause.clause_id == lead.clause.clause_id), 0.0)
            x = answer_features(lead.score, lead.features[0], lead.features[4], runner_up, clause)
            return float(self.selector.answer_model(query.lang).probability(x)[0])
        if self.config.mode == "cosine":
            return lead.score
        row = snapshot.index.by_id[lead.clause.clause_id]
        j = next(k for k, s in enumerate(lead.clause.sentences) if s.start == lead.start)
        tokens = snapshot.sentence_tokens(lead.clause, row, j)
        return 0.5 * lead.score + 0.5 * snapshot.retriever.lexical.coverage(query.terms, tokens, synonyms)


def substantive(sentence: str, lang: str) -> bool:
    """Long enough to say something, or a contact line (an address, a number, an e-mail)."""
    return len(sentence) >= (8 if lang == "zh" else 25) or bool(re.search(r"\d{3}|@", sentence))


def one_policy(evidence: list[Evidence], query: QueryPlan) -> list[Evidence]:
    """The evidence from the policy the best sentence comes from, unless the question named
    several policies: one reply speaks for one policy (and says which)."""
    if not evidence or (query.doc_ids is not None and len(query.doc_ids) > 1):
        return evidence
    return [ev for ev in evidence if ev.clause.doc_id == evidence[0].clause.doc_id]
