"""The intent model's figures in the eval report, when one ships.

The intent model (``models/intent-minilm/``, trained by ``app.training.intent``) is evaluated by
its own trainer's ``evaluate_intent(model_dir, embedder)``; the report only gathers its flat
figures under ``intent/…``. Either part may be missing — no model trained yet, or a checkout
without the training module — and then the report says why instead of failing the whole eval.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from app.embedding import MODELS_DIR, Embedder

log = logging.getLogger(__name__)

INTENT_DIR = MODELS_DIR / "intent-minilm"
_TRAINER = "app.training.intent"


@dataclass(frozen=True)
class IntentFigures:
    """The model's figures (flat, unprefixed), or why there are none."""

    figures: Mapping[str, float] = field(default_factory=dict)
    skipped: str = ""
    model: str = ""


def intent_figures(embedder: Embedder, model_dir: Path = INTENT_DIR) -> IntentFigures:
    """``evaluate_intent``'s figures for the shipped model; a skip reason when no model ships
    or the trainer offers no ``evaluate_intent`` (looked up, never guessed from an exception)."""
    if not model_dir.is_dir():
        return _skip(f"no intent model in {model_dir}")
    if importlib.util.find_spec(_TRAINER) is None:
        return _skip(f"{_TRAINER} is not installed")
    evaluate = getattr(importlib.import_module(_TRAINER), "evaluate_intent", None)
    if not callable(evaluate):
        return _skip(f"{_TRAINER} has no evaluate_intent()")
    figures = evaluate(model_dir, embedder)
    return IntentFigures({str(k): round(float(v), 4) for k, v in figures.items()}, model=model_dir.name)


def _skip(reason: str) -> IntentFigures:
    log.info("intent model figures skipped: %s", reason)
    return IntentFigures(skipped=reason)


def intent_flat(result: IntentFigures) -> dict[str, float]:
    """The figures under ``intent/…`` in the eval's flat dict."""
    return {f"intent/{k}": v for k, v in result.figures.items()}


def intent_section(result: IntentFigures) -> str:
    """The report's "Intent model" table (or the reason it has none)."""
    if not result.figures:
        return f"Not evaluated: {result.skipped or 'no figures'}."
    lines = ["| figure | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in result.figures.items()]
    lines += ["", f"From `{_TRAINER}.evaluate_intent` on `models/{result.model}`."]
    return "\n".join(lines)
