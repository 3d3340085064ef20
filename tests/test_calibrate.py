"""Abstention-threshold calibration (app.evaluation.calibrate) on hand-made results: each
candidate threshold is a confidence + 0.0001 (abstain on that answer and everything below) or 0."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pytest

from app.answer import Answer
from app.evaluation import calibrate
from app.evaluation.calibrate import best_thresholds, replay_ok
from app.evaluation.dataset import EvalItem

# (lang, answerable, confidence or None when the answer carries none, citation hit, abstained anyway)
Row = tuple[str, bool, float | None, float, bool]


def _result(n: int, row: Row) -> calibrate.ItemResult:
    lang, answerable, confidence, hit, abstained = row
    item = EvalItem(
        id=f"q{n}",
        question=f"question {n}",
        lang=lang,
        persona="customer",
        answerable=answerable,
        filters={},
        sources=(),
        needs_all=False,
        answer_facts=(),
        kind="k",
        split="dev",
    )
    answer = Answer(
        id=f"q{n}",
        question=item.question,
        answer="",
        abstained=abstained,
        citations=(),
        retrieved=(),
        latency_ms=1.0,
        lang=lang,
        confidence=confidence,
    )
    # calibration reads only the item, the answer and the citation hit; the other verdicts are filler
    values: dict[str, Any] = {f.name: 0.0 for f in fields(calibrate.ItemResult)}
    values.update(item=item, answer=answer, rank=None, citation_hit=hit)
    return calibrate.ItemResult(**values)


@pytest.mark.parametrize(
    ("row", "threshold", "ok"),
    [
        (("en", True, 0.5, 1.0, False), 0.5, True),  # confidence equal to the threshold answers
        (("en", True, 0.5, 1.0, False), 0.5001, False),  # below it: an abstention on an answerable item
        (("en", True, 0.9, 0.5, False), 0.0, False),  # answered, but not every cited sentence is gold
        (("en", True, 0.9, 1.0, True), 0.0, False),  # abstained for another reason
        (("en", False, 0.9, 0.0, False), 0.5, False),  # answered an unanswerable item
        (("en", False, 0.1, 0.0, False), 0.5, True),
        (("en", False, 0.9, 0.0, True), 0.0, True),
        (("en", False, None, 0.0, False), 0.0001, True),  # no confidence reads as 0
    ],
)
def test_replay_ok(row: Row, threshold: float, ok: bool) -> None:
    assert replay_ok(_result(0, row), threshold) is ok


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([], {}),
        # t=0: 1/2; t=0.3001: both right; t=0.8001: 1/2
        ([("en", True, 0.8, 1.0, False), ("en", False, 0.3, 0.0, False)], {"en": (0.3001, 1.0)}),
        # everything right without abstaining: 0 beats 0.5001 (1/2) and 0.7001 (0/2)
        ([("en", True, 0.5, 1.0, False), ("en", True, 0.7, 1.0, False)], {"en": (0.0, 1.0)}),
        # the missed answer is wrong at any threshold; 0.4001 and 0.9001 tie at 1/2: the higher wins
        ([("en", True, 0.9, 0.0, False), ("en", False, 0.4, 0.0, False)], {"en": (0.9001, 0.5)}),
        # forced abstentions do not move with the threshold: every candidate gets 1/2
        ([("en", True, 0.9, 1.0, True), ("en", False, 0.9, 0.0, True)], {"en": (0.9001, 0.5)}),
        # no confidence: the only candidate above 0 is 0.0001
        ([("en", False, None, 0.0, False)], {"en": (0.0001, 1.0)}),
        # per language: zh scores 1/3, 2/3, 1/3, 2/3 at 0, 0.2001, 0.3501, 0.5001
        (
            [
                ("zh", False, 0.2, 0.0, False),
                ("en", True, 0.6, 1.0, False),
                ("zh", True, 0.35, 1.0, False),
                ("zh", False, 0.5, 0.0, False),
            ],
            {"en": (0.0, 1.0), "zh": (0.5001, 2 / 3)},
        ),
    ],
)
def test_best_thresholds(rows: list[Row], expected: dict[str, tuple[float, float]]) -> None:
    got = best_thresholds([_result(n, row) for n, row in enumerate(rows)])
    assert sorted(got) == sorted(expected)
    for lang, (threshold, accuracy) in expected.items():
        assert got[lang] == (pytest.approx(threshold, abs=1e-9), pytest.approx(accuracy))
