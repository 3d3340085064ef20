"""The eval report's robustness block and intent-model figures, with a stub pipeline and a stub
trainer: no model, no index. The perturbations themselves are tested in test_perturb.py."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from pathlib import Path

import pytest

from app.answer import Answer, Citation
from app.evaluation.dataset import EvalItem
from app.evaluation.intent_model import IntentFigures, intent_figures, intent_flat, intent_section
from app.evaluation.robustness import robust_flat, robustness_section, run_robustness
from app.evaluation.scoring import run
from tests.test_perturb import ACME, CATALOG, item


def _answers_when_clean(it: EvalItem) -> Answer:
    """Cites the gold quote while the question still ends in '?', refers the customer otherwise:
    clean and typo'd questions are answered, plain ones (no punctuation) are not."""
    answered = it.question.rstrip().endswith(("?", "？"))
    cited = (Citation(1, ACME, "c1", "s", "some quote", 0, 10, 0.5),) if answered else ()
    return Answer(it.id, it.question, "text", not answered, cited, (), 1.0)


ITEMS = [
    item("How long does Acme keep my data?", iid="a"),
    item("Would the company share these records with partners?", iid="b"),
    item("What are your opening hours?", (), iid="u"),  # unanswerable
]


def test_robustness_block() -> None:
    robust = run_robustness({"unit": ITEMS}, _answers_when_clean, CATALOG, progress=False)
    assert list(robust["unit"]) == ["typos", "plain", "followup"]
    clean = {"unit": run(ITEMS, _answers_when_clean, progress=False)}
    flat = robust_flat(robust, clean)
    # clean: both answerable items cited (hit 1.0); plain drops the '?': both referred (hit 0.0)
    assert flat["assistant/unit/robust_typos/citation_hit"] == 1.0
    assert flat["assistant/unit/robust_plain/citation_hit"] == 0.0
    assert flat["assistant/unit/robust_plain/clean_citation_hit"] == 1.0
    assert flat["assistant/unit/robust_plain/citation_hit_delta"] == -1.0
    assert flat["assistant/unit/robust_plain/false_abstention_rate"] == 1.0
    assert flat["assistant/unit/robust_plain/items"] == 3.0
    # the unanswerable item keeps its question in a follow-up, and so does "b" (names no brand
    # or region: its turn 1 is the question, yet it is a conversation, not kept clean)
    assert flat["assistant/unit/robust_followup/unchanged"] == 1.0
    assert "assistant/unit/robust_followup/rewritten" in flat
    table = robustness_section(robust, clean)
    assert "| unit | plain | 3 | 0 | 0.000 | 1.000 | -1.000 |" in table
    assert "Chinese characters are left untouched" in table


def test_intent_figures_skip_without_a_model(tmp_path: Path) -> None:
    result = intent_figures(embedder=None, model_dir=tmp_path / "intent-minilm")  # type: ignore[arg-type]
    assert result.figures == {} and "no intent model" in result.skipped
    assert intent_flat(result) == {}
    assert intent_section(result).startswith("Not evaluated: no intent model")


def test_intent_figures_from_the_trainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = tmp_path / "intent-minilm"
    model.mkdir()
    calls = []
    fake = types.ModuleType("app.training.intent")
    fake.__spec__ = importlib.machinery.ModuleSpec("app.training.intent", None)
    fake.evaluate_intent = lambda d, e: calls.append((d, e)) or {"intent_accuracy_heldout": 0.91234}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "app.training.intent", fake)
    result = intent_figures(embedder="E", model_dir=model)  # type: ignore[arg-type]
    assert calls == [(model, "E")]
    assert intent_flat(result) == {"intent/intent_accuracy_heldout": 0.9123}
    assert "| intent_accuracy_heldout | 0.9123 |" in intent_section(result)


def test_intent_figures_skip_without_evaluate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "intent-minilm").mkdir()
    fake = types.ModuleType("app.training.intent")
    fake.__spec__ = importlib.machinery.ModuleSpec("app.training.intent", None)
    monkeypatch.setitem(sys.modules, "app.training.intent", fake)
    result = intent_figures(embedder=None, model_dir=tmp_path / "intent-minilm")  # type: ignore[arg-type]
    assert result == IntentFigures(skipped="app.training.intent has no evaluate_intent()")
