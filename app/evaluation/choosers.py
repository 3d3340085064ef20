"""The choosers the learned one replaced, kept for the ablation (app/evaluation/variants.py):
the hand-weighted rules (the pipeline before the learned parts) and the encoder's cosine
alone (the plain-model baseline). Their weights and thresholds were chosen on
evals/dev.jsonl, before the rule that nothing is tuned on evals/; they are measured, never
served."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from app.answer import Evidence
from app.choose import best_first, candidates, substantive, with_seconds
from app.query import synonyms
from app.retrieve import Hit
from app.stages import Lookup


def _glossary_coverage(lookup: Lookup, evidence: Evidence) -> float:
    """Share of the question's IDF weight the sentence carries, counting glossary synonyms."""
    snapshot = lookup.snapshot
    row = snapshot.index.by_id[evidence.clause.clause_id]
    j = next(k for k, s in enumerate(evidence.clause.sentences) if s.start == evidence.start)
    tokens = snapshot.sentence_tokens(evidence.clause, row, j)
    return snapshot.retriever.lexical.coverage(lookup.query.terms, tokens, synonyms)


@dataclass(frozen=True)
class RulesChooser:
    """Hand weights: the sentence's cosine and glossary word coverage, its clause's retrieval
    score and a bonus for the kind of fact asked for; seconds within ``support_ratio``;
    confidence from the score and the coverage, against per-language thresholds."""

    max_citations: int = 2
    support_ratio: float = 0.8
    dense_weight: tuple[float, float] = (0.6, 0.2)  # the cosine's share of a sentence's score: en, zh
    shape_bonus: float = 0.1
    abstain_below: tuple[float, float] = (0.2267, 0.2698)  # en, zh (eval --calibrate on evals/dev.jsonl)

    @property
    def learned(self) -> bool:
        return False

    def scored(self, lookup: Lookup, hits: Sequence[Hit], avoid: re.Pattern[str] | None = None) -> list[Evidence]:
        w = self.dense_weight[lookup.query.lang == "zh"]
        scored = []
        for e in candidates(lookup, hits):
            cos, clause, shaped = e.features[0], e.features[2], e.features[6]
            score = w * cos + (1 - w) * _glossary_coverage(lookup, e)
            scored.append(replace(e, score=0.8 * score + 0.2 * clause + self.shape_bonus * shaped))
        return best_first(scored, avoid)

    def select(self, scored: list[Evidence], lang: str) -> list[Evidence]:
        scored = [e for e in scored if substantive(e.text, lang)] or scored
        return with_seconds(scored, self.support_ratio, self.max_citations)

    def confidence(self, lookup: Lookup, evidence: list[Evidence], scored: list[Evidence]) -> float:
        if not evidence:
            return 0.0
        return 0.5 * evidence[0].score + 0.5 * _glossary_coverage(lookup, evidence[0])

    def weak_below(self, lang: str) -> float | None:
        return self.abstain_below[lang == "zh"]


@dataclass(frozen=True)
class CosineChooser:
    """The encoder's similarity alone: the best substantive sentence, never refused as weak."""

    @property
    def learned(self) -> bool:
        return False

    def scored(self, lookup: Lookup, hits: Sequence[Hit], avoid: re.Pattern[str] | None = None) -> list[Evidence]:
        return best_first(candidates(lookup, hits), avoid)

    def select(self, scored: list[Evidence], lang: str) -> list[Evidence]:
        return ([e for e in scored if substantive(e.text, lang)] or scored)[:1]

    def confidence(self, lookup: Lookup, evidence: list[Evidence], scored: list[Evidence]) -> float:
        return evidence[0].score if evidence else 0.0

    def weak_below(self, lang: str) -> float | None:
        return None
