"""The ablation: the assistant's pipeline with each learned part swapped for what it replaced.

Each variant is a full `ask` (same retrieval, composition and contract), differing only in
the encoder (the packaged MiniLM or the fine-tuned one in ``models/``), the sentence
selector (``rules``: the hand-weighted scores and thresholds the learned selector replaced;
``cosine``: the encoder's similarity alone; ``learned``: the fitted selector), and whether
the remaining rules (the BM25 glossary, the rule-based referrals) are on. A variant
whose encoder is not the index's own gets an index of its own beside it.
"""

from __future__ import annotations

from pathlib import Path

from app.assistant import Assistant, AssistantConfig
from app.embedding import MODELS_DIR, PACKAGED_MODEL, SentenceTransformerEmbedder, default_model
from app.index import build_index

# name -> (encoder, selector, selector file or None for the encoder's own, other settings)
VARIANTS: dict[str, tuple[str, str, Path | None, dict[str, bool]]] = {
    "before": (PACKAGED_MODEL, "rules", None, {}),  # the pipeline before the learned parts
    "minilm-cosine": (PACKAGED_MODEL, "cosine", None, {}),
    "minilm-selector": (PACKAGED_MODEL, "learned", MODELS_DIR / "selector-minilm.json", {}),
    "tuned-cosine": ("", "cosine", None, {}),
    "tuned-rules": ("", "rules", None, {}),
    "no-glossary": ("", "learned", None, {"glossary": False}),
    "no-abstain-rules": ("", "learned", None, {"abstain_rules": False}),
}


def make_variant(name: str, documents: Path, index: Path, evaluated: SentenceTransformerEmbedder) -> Assistant:
    """An Assistant for the named variant (``evaluated``: the embedder of the assistant under
    evaluation, reused when the encoder is the same)."""
    spec, selector, selector_path, settings = VARIANTS[name]
    spec = spec or default_model()
    config = AssistantConfig(
        selector=selector,
        selector_path=selector_path,
        glossary=settings.get("glossary", True),
        abstain_rules=settings.get("abstain_rules", True),
    )
    if spec == evaluated.spec:
        return Assistant(evaluated, index, config)
    embedder = SentenceTransformerEmbedder(spec)
    own = index.with_name(index.name + ".models") / (spec.removeprefix("package:") if ":" in spec else Path(spec).name)
    build_index(documents, own, embedder)
    return Assistant(embedder, own, config)
