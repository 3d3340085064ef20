"""Choose the abstention thresholds on an eval set (the dev split, never the test split).

The assistant is run with abstention on weak evidence switched off; for every candidate
threshold we replay the decision from each answer's confidence and keep, per language,
the threshold that makes the most answers right (a cited gold sentence when answerable,
an abstention when not) — the highest such threshold where several tie.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.evaluation.scoring import ItemResult


def replay_ok(r: ItemResult, threshold: float) -> bool:
    """Would this answer be right with this threshold?"""
    forced = r.answer.abstained  # abstained for another reason (off-topic, unknown term)
    abstain = forced or (r.answer.confidence or 0.0) < threshold
    if not r.item.answerable:
        return abstain
    return not abstain and r.citation_hit == 1.0


def best_thresholds(results: Sequence[ItemResult]) -> dict[str, tuple[float, float]]:
    """Per language: (threshold, share of right answers at it)."""
    out: dict[str, tuple[float, float]] = {}
    for lang in sorted({r.item.lang for r in results}):
        group = [r for r in results if r.item.lang == lang]
        candidates = sorted({round((r.answer.confidence or 0.0) + 1e-4, 4) for r in group} | {0.0})
        # Among equally right thresholds take the highest: on a tie, a referral to client
        # relations costs less than an answer on weak evidence.
        scored = [(sum(replay_ok(r, t) for r in group) / len(group), t) for t in candidates]
        accuracy, threshold = max(scored)
        out[lang] = (threshold, accuracy)
    return out
