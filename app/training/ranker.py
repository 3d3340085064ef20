"""Fine-tune the packaged MiniLM to rank the sentence that answers a privacy question first.

sentence-transformers' own trainer and loss: MultipleNegativesRankingLoss over
(question, answering sentence, negative from the same paragraph, mined negative), with
in-batch negatives and no duplicate texts in a batch. Deterministic for a seed on CPU. The
result is a sentence-transformers folder (fp16 safetensors) with a model card naming the
data, the hyper-parameters and the held-out figures.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError
from app.evaluation.dataset import load_eval_set
from app.training.data import (
    Pair,
    cpu_arguments,
    eval_set_pairs,
    make_pairs,
    policy_key,
    read_policyqa,
    sentence_hit_at_1,
    split_policies,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """The hyper-parameters, recorded in the model card."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_ratio: float = 0.1
    max_seq_length: int = 128
    mined_negatives: int = 1
    scale: float = 20.0  # MultipleNegativesRankingLoss's inverse temperature
    seed: int = 12
    limit: int = 0  # train on the first N pairs only (0: all); for smoke tests


def load_base(spec: str) -> Any:
    """The base SentenceTransformer (a packaged model or a folder), offline, float32 on CPU."""
    from sentence_transformers import SentenceTransformer

    from app.embedding import resolve_model_path

    model = SentenceTransformer(str(resolve_model_path(spec)), device="cpu", local_files_only=True)
    return model.float()


def train_ranker(
    policyqa: Path,
    out: Path,
    base: str,
    config: TrainConfig,
    eval_sets: Sequence[Path] = (),
    documents: Path = Path("documents"),
) -> dict[str, Any]:
    """Train, save to ``out`` and return the record written into the model card. ``eval_sets``
    (labelled questions over ``documents``, e.g. evals/dev.jsonl) add their answerable items
    to PolicyQA's training policies."""
    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer
    from sentence_transformers.losses import MultipleNegativesRankingLoss
    from transformers import set_seed

    set_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    started = time.perf_counter()
    paragraphs = read_policyqa(policyqa)
    train_policies, held_out = split_policies(sorted({p.policy for p in paragraphs}))
    model = load_base(base)
    model.max_seq_length = config.max_seq_length

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True))

    before = held_out_figures(paragraphs, held_out, encode)
    pairs, extra = _training_pairs(paragraphs, train_policies, config, encode, eval_sets, documents)
    if not pairs:
        raise InputError(f"{policyqa}: no training pairs (no answer span found in a training policy)")
    log.info("%d training pairs from %d policies; held out: %s", len(pairs), len(train_policies), held_out)
    dataset = Dataset.from_dict(_columns(pairs))
    work = out.with_name(out.name + ".training")
    args = _arguments(config, work)
    loss = MultipleNegativesRankingLoss(model, scale=config.scale)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss)
    trainer.train()
    seconds = time.perf_counter() - started
    after = held_out_figures(paragraphs, held_out, encode)
    record = {
        "base": base,
        "data": str(policyqa),
        "train_policies": [policy_key(t) for t in train_policies],
        "held_out_policies": [policy_key(t) for t in held_out],
        "pairs": len(pairs),
        "eval_set_pairs": {"sets": [str(p) for p in eval_sets], "documents": str(documents), "pairs": len(extra)},
        "hyper_parameters": asdict(config),
        "train_seconds": round(seconds, 1),
        "held_out_sentence_ranking": {"base": before, "tuned": after},
        "torch_threads": torch.get_num_threads(),
    }
    save_fp16(model, out)
    shutil.rmtree(work, ignore_errors=True)
    (out / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _arguments(config: TrainConfig, work: Path) -> Any:
    """sentence-transformers' training arguments: CPU, no checkpoints, no duplicate texts in a batch."""
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.training_args import BatchSamplers

    return cpu_arguments(
        SentenceTransformerTrainingArguments, config, work, batch_sampler=BatchSamplers.NO_DUPLICATES, logging_steps=10
    )


def _training_pairs(
    paragraphs: list[Any],
    train_policies: list[str],
    config: TrainConfig,
    encode: Any,
    eval_sets: Sequence[Path],
    documents: Path,
) -> tuple[list[Pair], list[Pair]]:
    """PolicyQA's pairs from the training policies, interleaved with the eval sets' (both
    with mined hard negatives); and the eval sets' alone, for the record."""
    pairs = make_pairs(paragraphs, train_policies, seed=config.seed, encode=encode, mined=config.mined_negatives)
    extra: list[Pair] = []
    for path in eval_sets:
        extra += eval_set_pairs(load_eval_set(path), documents, config.seed, encode, config.mined_negatives)
    pairs = _interleave(pairs, extra, config.seed)
    return (pairs[: config.limit] if config.limit else pairs), extra


SLICE = 100  # the first questions of the held-out policies: the model card's quick check


def held_out_figures(paragraphs: Any, held_out: list[str], encode: Any) -> dict[str, dict[str, float]]:
    """Sentence-ranking hit@1 and MRR@10 on the held-out policies, all questions and a slice."""
    return {
        "all": sentence_hit_at_1(paragraphs, held_out, encode),
        f"first_{SLICE}": sentence_hit_at_1(paragraphs, held_out, encode, limit=SLICE),
    }


def _interleave(pairs: list[Pair], extra: list[Pair], seed: int) -> list[Pair]:
    """PolicyQA pairs and eval-set pairs in one deterministic shuffled order."""
    if not extra:
        return pairs
    merged = pairs + extra
    random.Random(seed + 1).shuffle(merged)
    return merged


def _columns(pairs: list[Pair]) -> dict[str, list[str]]:
    columns: dict[str, list[str]] = {"anchor": [p.question for p in pairs], "positive": [p.positive for p in pairs]}
    for k in range(len(pairs[0].negatives) if pairs else 0):
        columns[f"negative_{k + 1}"] = [p.negatives[k] for p in pairs]
    return columns


def save_fp16(model: Any, out: Path) -> None:
    """Save as a sentence-transformers folder whose weights are fp16 safetensors (half the
    size; the loader casts back to float32), replacing ``out`` only once it is complete."""
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.half()
    try:
        model.save(str(tmp), safe_serialization=True)
    finally:
        model.float()
    for junk in ("README.md",):  # the trainer's generic card; ours is written beside it
        (tmp / junk).unlink(missing_ok=True)
    config = json.loads((tmp / "config.json").read_text(encoding="utf-8"))
    config["dtype"] = "float32"  # stored in fp16, computed in float32 (a CPU has no fast fp16)
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
