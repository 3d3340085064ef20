"""Pure metric functions: gold labels and a system's output in, numbers out.

Matching follows the contract: a clause or citation matches a source when the doc ids are
equal and the texts agree after NFKC, straight quotes, collapsed whitespace and lower case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.text import norm


@dataclass(frozen=True)
class Source:
    doc_id: str
    quote: str


@dataclass(frozen=True)
class Unit:
    """A retrieved clause or a citation: where it comes from and its text."""

    doc_id: str
    text: str


def contains(unit: Unit, source: Source) -> bool:
    """A retrieved unit matches a source when it holds the source's quote."""
    return unit.doc_id == source.doc_id and norm(source.quote) in norm(unit.text)


def cites(citation: Unit, source: Source) -> bool:
    """A citation is right when its quote lies in the gold sentence (or holds the gold quote)."""
    if citation.doc_id != source.doc_id:
        return False
    quote, gold = norm(citation.text), norm(source.quote)
    return bool(quote) and (gold in quote or quote in gold)


def first_relevant_rank(units: Sequence[Unit], sources: Sequence[Source], needs_all: bool) -> int | None:
    """1-based rank at which the retrieved list answers the item (all sources if needs_all)."""
    if not sources:
        return None
    pending = set(range(len(sources)))
    for rank, unit in enumerate(units, 1):
        matched = {i for i in pending if contains(unit, sources[i])}
        pending -= matched
        if matched and (not needs_all or not pending):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def ndcg_at(units: Sequence[Unit], sources: Sequence[Source], k: int = 10) -> float:
    """Binary nDCG: a unit gains 1 when it covers a source not covered above it."""
    if not sources:
        return 0.0
    pending = set(range(len(sources)))
    dcg = 0.0
    for rank, unit in enumerate(units[:k], 1):
        matched = {i for i in pending if contains(unit, sources[i])}
        if matched:
            pending -= matched
            dcg += 1.0 / math.log2(rank + 1)
    ideal = sum(1.0 / math.log2(r + 1) for r in range(1, min(len(sources), k) + 1))
    return dcg / ideal


def citation_verdicts(citations: Sequence[Unit], sources: Sequence[Source]) -> list[bool]:
    """For each citation: does it quote a gold source's sentence?"""
    return [any(cites(c, s) for s in sources) for c in citations]


def citation_hit(citations: Sequence[Unit], sources: Sequence[Source], needs_all: bool) -> float:
    """1 when the citations prove the answer (every source, when needs_all)."""
    covered = [any(cites(c, s) for c in citations) for s in sources]
    if not covered:
        return 0.0
    return 1.0 if (all(covered) if needs_all else any(covered)) else 0.0


def cited_policy(citations: Sequence[Unit], sources: Sequence[Source], abstained: bool) -> float | None:
    """1 when an answer's first citation comes from a gold policy, 0 when it comes from another
    one (or the answer cites nothing); None when the item does not count: abstained, or no
    source names a document. A wrong first policy is the miss a customer cannot see — the
    sentence reads right but speaks for another brand, region or year."""
    gold = {s.doc_id for s in sources if s.doc_id}
    if abstained or not gold:
        return None
    return 1.0 if citations and citations[0].doc_id in gold else 0.0


def fact_recall(answer: str, facts: Sequence[str]) -> float | None:
    """Share of the expected facts found in the answer text; None when there are none."""
    if not facts:
        return None
    text = norm(answer)
    return sum(1 for f in facts if norm(f) in text) / len(facts)


def sentence_prf(citations: Sequence[Unit], sources: Sequence[Source], answerable: bool) -> tuple[float, float, float]:
    """PrivacyQA's sentence-level precision/recall/F1 of the cited sentences.

    An unanswerable item scores 1 with an empty prediction and 0 otherwise; an
    answerable one with no prediction scores 0.
    """
    if not answerable:
        score = 1.0 if not citations else 0.0
        return score, score, score
    if not citations or not sources:
        return 0.0, 0.0, 0.0
    precision = sum(citation_verdicts(citations, sources)) / len(citations)
    recall = sum(1 for s in sources if any(cites(c, s) for c in citations)) / len(sources)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from counts (0 where undefined)."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), without numpy."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
