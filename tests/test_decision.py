"""The answer-or-refer model: its inputs, its file, its fit (exact asserts on small data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from app.decision import DECISION_FEATURES, DecisionModel, Signals
from app.errors import InputError
from app.training.decision import balanced_weights, choose_threshold, fit_decision


@dataclass(frozen=True)
class FakeIntent:
    top: str
    probs: dict[str, float]

    def p(self, label: str) -> float:
        return self.probs.get(label, 0.0)


def signals(p: float = 0.9, top: str = "privacy", **flags: object) -> Signals:
    intent = FakeIntent(top, {top: 0.8})  # sure of its top label
    base: dict[str, object] = {"shopping_cue": False, "privacy_cue": True, "unknown_name": "", "no_figure": False}
    return Signals(p, intent, **{**base, **flags})  # type: ignore[arg-type]


def test_signals_vector_is_in_the_declared_order() -> None:
    v = signals(0.5, "off_topic", shopping_cue=True, unknown_name="hotjar").vector()
    assert len(v) == len(DECISION_FEATURES)
    assert v.tolist() == pytest.approx([0.0, 0.0, 0.8, 0.0, 1.0, 1.0, 1.0, 0.0], abs=1e-9)
    assert signals(1.0).vector()[0] == 8.0 and signals(0.0).vector()[0] == -8.0  # clipped, finite


@pytest.mark.parametrize(("sig", "reason"), [
    (signals(top="off_topic"), "off-topic"),
    (signals(top="chitchat"), "chit-chat"),
    (signals(shopping_cue=True, privacy_cue=False), "off-topic"),
    (signals(unknown_name="hotjar"), "unknown term 'hotjar'"),
    (signals(no_figure=True), "no figure given"),
    (signals(), "weak evidence"),
])  # fmt: skip
def test_a_refusal_names_its_strongest_cue(sig: Signals, reason: str) -> None:
    assert sig.refusal() == reason


def test_fit_separates_and_reports_out_of_fold_by_source(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    good = np.array([signals(0.9).vector() for _ in range(40)]) + rng.normal(0, 0.05, (40, 8))
    bad = np.array([signals(0.1, "off_topic", privacy_cue=False).vector() for _ in range(40)]) + rng.normal(
        0, 0.05, (40, 8)
    )
    x = np.vstack([good, bad])
    y = np.array([1.0] * 40 + [0.0] * 40)
    sources = ["seeds"] * 40 + ["clinc"] * 40
    model, figures = fit_decision(x, y, sources, [f"q{i}" for i in range(80)], "synthetic", True)
    assert figures["seeds/accuracy"] == 1.0 and figures["clinc/accuracy"] == 1.0
    assert figures["out_of_fold/all/false_referrals"] == 0.0
    assert model.probability(signals(0.9)) > 0.9 > model.probability(signals(0.1, "off_topic", privacy_cue=False))
    model.save(tmp_path / "decision.json")
    assert DecisionModel.load(tmp_path / "decision.json") == model


def test_a_bad_decision_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "decision.json"
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match=r"decision\.json: not a decision file"):
        DecisionModel.load(path)
    raw = {"model": {"features": ["x"], "weights": [1.0], "bias": 0.0, "mean": [0.0], "scale": [1.0]},
           "threshold": 0.5, "needs_intent": True}  # fmt: skip
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(InputError, match="expected"):
        DecisionModel.load(path)


def test_an_unsure_intent_names_no_kind_of_question() -> None:
    unsure = Signals(0.4, FakeIntent("chitchat", {"chitchat": 0.45}), False, True, "hotjar", False)
    assert unsure.refusal() == "unknown term 'hotjar'"


def test_each_source_and_label_weighs_the_same() -> None:
    w = balanced_weights(["a", "a", "a", "b"], np.array([1.0, 1.0, 0.0, 0.0]))
    assert w.tolist() == pytest.approx([2 / 3, 2 / 3, 4 / 3, 4 / 3])  # groups (a,1) (a,0) (b,0): 4/3 each


@pytest.mark.parametrize(("allowed", "threshold"), [(0.0, 0.1), (0.25, 0.3), (0.5, 0.5)])
def test_the_threshold_refuses_at_most_the_allowed_share_of_answerable_questions(
    allowed: float, threshold: float
) -> None:
    p = np.array([0.1, 0.3, 0.6, 0.9, 0.05])
    y = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    assert choose_threshold(p, y, allowed) == pytest.approx(threshold, abs=1e-5)
