"""The ablation: the assistant's pipeline with each learned part swapped for what it replaced.

Each variant is a full `ask` (same retrieval, composition and contract), differing only in
the encoder (the packaged MiniLM or the fine-tuned one in ``models/``), the sentence
chooser (app/evaluation/choosers.py: the hand-weighted rules the learned selector replaced, or
the encoder's similarity alone; by default the fitted selector, app/choose.py), and whether
the remaining rules (the BM25 glossary, the rule-based referrals) are on. A variant
whose encoder is not the index's own gets an index of its own beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from app.assistant import Assistant, AssistantConfig
from app.choose import Chooser, LearnedChooser
from app.embedding import MODELS_DIR, PACKAGED_MODEL, SentenceTransformerEmbedder, default_model
from app.evaluation.choosers import CosineChooser, RulesChooser
from app.index import build_index
from app.settings import Settings


def _minilm_selector() -> Chooser:
    return LearnedChooser.beside(None, MODELS_DIR / "selector-minilm.json")


# name -> (encoder ("": the `model` setting's), its chooser (None: the learned one fitted beside
# the encoder), the stages it switches off)
VARIANTS: dict[str, tuple[str, Callable[[], Chooser] | None, dict[str, bool]]] = {
    "before": (PACKAGED_MODEL, RulesChooser, {}),  # the pipeline before the learned parts
    "minilm-cosine": (PACKAGED_MODEL, CosineChooser, {}),
    "minilm-selector": (PACKAGED_MODEL, _minilm_selector, {}),
    "tuned-cosine": ("", CosineChooser, {}),
    "tuned-rules": ("", RulesChooser, {}),
    "no-glossary": ("", None, {"glossary": False}),
    "no-abstain-rules": ("", None, {"abstain_rules": False}),
}


def make_variant(name: str, settings: Settings, evaluated: SentenceTransformerEmbedder) -> Assistant:
    """An Assistant for the named variant, over the settings' documents and index, with their
    limits and models except where the variant differs (``evaluated``: the embedder of the
    assistant under evaluation, reused when the encoder is the same)."""
    spec, chooser_of, switches = VARIANTS[name]
    spec = spec or default_model(settings.model)
    config = replace(
        AssistantConfig.from_settings(settings),
        glossary=switches.get("glossary", True),
        abstain_rules=switches.get("abstain_rules", True),
    )
    chooser = chooser_of() if chooser_of is not None else None
    if spec == evaluated.spec:
        return Assistant(evaluated, settings.index, config, chooser)
    embedder = SentenceTransformerEmbedder(spec)
    index = settings.index
    own = index.with_name(index.name + ".models") / (spec.removeprefix("package:") if ":" in spec else Path(spec).name)
    build_index(settings.documents, own, embedder, ann_threshold=settings.ann_threshold)
    return Assistant(embedder, own, config, chooser)
