"""Train the reader: an extractive QA head that finds the short answer inside a cited sentence.

The answer's lead ("In short: up to ten years after [1]") is a span of the cited sentence,
so it is always a quote. The span comes from this model: the project's encoder
(models/privacy-minilm, BERT-style) with a start/end head, fine-tuned on PolicyQA's answer
spans of the training policies. sentence-transformers has no span-extraction loss, so this
uses the Trainer of transformers that sentence-transformers' own trainers are built on, with
the same data split, seed and model-card conventions as `train ranker`.

Confidence: P(start) × P(end) of the chosen span. The threshold under which no lead is shown
is chosen on half of the held-out policies (validation) as the lowest at which the shown
leads' token F1 against the gold answers reaches ``target_f1``; the other half (test)
reports exact match, F1 and how often a lead is shown. Nothing is chosen on the test half.
"""

from __future__ import annotations

import collections
import json
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError
from app.training.data import Paragraph, answer_sentences, cpu_arguments, policy_key, read_policyqa, split_policies

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReaderConfig:
    """The hyper-parameters, recorded in the model card."""

    epochs: float = 2.0
    batch_size: int = 16
    learning_rate: float = 8e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 256  # question + paragraph tokens per training window
    stride: int = 64
    target_f1: float = 0.6  # the shown leads' token F1 the threshold is chosen for (validation)
    seed: int = 12
    limit: int = 0  # train on the first N questions only (0: all); for smoke tests


def tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def token_f1(predicted: str, gold: str) -> float:
    """SQuAD's token-overlap F1 (lower-cased words)."""
    a, b = tokens(predicted), tokens(gold)
    common = sum((collections.Counter(a) & collections.Counter(b)).values())
    if not common:
        return 0.0
    precision, recall = common / len(a), common / len(b)
    return 2 * precision * recall / (precision + recall)


def _windows(paragraphs: Sequence[Paragraph], policies: Sequence[str], tokenizer: Any, config: ReaderConfig) -> Any:
    """Tokenised (question, paragraph) windows with the answer's token positions (0, 0 when the
    window does not hold the whole answer: the model learns to point at [CLS] there)."""
    rows = [(q, p.text, s, e) for p in paragraphs if p.policy in set(policies) for q, s, e in p.qas]
    if config.limit:
        rows = rows[: config.limit]
    enc = tokenizer(
        [r[0] for r in rows],
        [r[1] for r in rows],
        truncation="only_second",
        max_length=config.max_length,
        stride=config.stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="max_length",
    )
    starts, ends = [], []
    for i, offsets in enumerate(enc["offset_mapping"]):
        _, _, s, e = rows[enc["overflow_to_sample_mapping"][i]]
        seq = enc.sequence_ids(i)
        first = seq.index(1)
        last = len(seq) - 1 - seq[::-1].index(1)
        if offsets[first][0] > s or offsets[last][1] < e:
            starts.append(0)
            ends.append(0)
            continue
        a = first
        while a <= last and offsets[a][0] <= s:
            a += 1
        b = last
        while b >= first and offsets[b][1] >= e:
            b -= 1
        starts.append(a - 1)
        ends.append(b + 1)
    enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping")
    enc["start_positions"] = starts
    enc["end_positions"] = ends
    return enc, len(rows)


def sentence_cases(paragraphs: Sequence[Paragraph], policies: Sequence[str]) -> list[tuple[str, str, str]]:
    """(question, answering sentence, gold span) for answers inside one sentence: the lead's
    setting, where the reader sees only the cited sentence."""
    out = []
    for p in paragraphs:
        if p.policy not in set(policies):
            continue
        for question, s, e in p.qas:
            i, j = answer_sentences(p, s, e)
            if j - i == 1:
                a, b = p.offsets[i]
                out.append((question, p.text[a:b], p.text[s:e]))
    return out


def lead_figures(reader: Any, cases: Sequence[tuple[str, str, str]], threshold: float) -> dict[str, float]:
    """Exact match and F1 of the leads shown at ``threshold`` (and of all spans), how often one
    is shown, and the whole sentence's F1 on the same questions (what showing no lead gives)."""
    found = [(reader.span(q, s), s, g) for q, s, g in cases]
    scored = [(lead.probability, lead.text, s, g) for lead, s, g in found if lead is not None]
    shown = [(t, s, g) for p, t, s, g in scored if p >= threshold]

    def mean(values: list[float]) -> float:
        return round(float(np.mean(values)), 4) if values else 0.0

    return {
        "questions": float(len(cases)),
        "shown": mean([1.0] * len(shown) + [0.0] * (len(cases) - len(shown))),
        "shown_exact_match": mean([float(t.strip(" .").lower() == g.strip(" .").lower()) for t, _, g in shown]),
        "shown_f1": mean([token_f1(t, g) for t, _, g in shown]),
        "shown_sentence_f1": mean([token_f1(s, g) for _, s, g in shown]),
        "all_exact_match": mean([float(t.strip(" .").lower() == g.strip(" .").lower()) for _, t, _, g in scored]),
        "all_f1": mean([token_f1(t, g) for _, t, _, g in scored]),
        "all_sentence_f1": mean([token_f1(s, g) for _, s, g in cases]),
    }


def choose_threshold(reader: Any, cases: Sequence[tuple[str, str, str]], target_f1: float) -> float:
    """The lowest probability at which the leads shown (validation) reach ``target_f1``."""
    scored = sorted(
        ((lead.probability, token_f1(lead.text, g)) for q, s, g in cases if (lead := reader.span(q, s)) is not None),
        reverse=True,
    )
    best = 1.01  # never show, unless some threshold reaches the target on enough questions
    total = 0.0
    for k, (p, f1) in enumerate(scored, 1):
        total += f1
        if k >= 20 and total / k >= target_f1:
            best = p
    return round(best, 4)


def train_reader(policyqa: Path, out: Path, base: str, config: ReaderConfig) -> dict[str, Any]:
    """Train, save to ``out`` (fp16 safetensors) and return the record of the model card."""
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForQuestionAnswering,
        AutoTokenizer,
        Trainer,
        default_data_collator,
        set_seed,
    )

    from app.embedding import resolve_model_path
    from app.lead import Reader

    set_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    started = time.perf_counter()
    paragraphs = read_policyqa(policyqa)
    train_policies, held_out = split_policies(sorted({p.policy for p in paragraphs}))
    validation, test = held_out[: len(held_out) // 2], held_out[len(held_out) // 2 :]
    source = resolve_model_path(base)
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    model = AutoModelForQuestionAnswering.from_pretrained(str(source), local_files_only=True, dtype=torch.float32)
    encoded, questions = _windows(paragraphs, train_policies, tokenizer, config)
    if not questions:
        raise InputError(f"{policyqa}: no answer spans in the training policies")
    log.info("%d questions (%d windows) from %d policies", questions, len(encoded["input_ids"]), len(train_policies))
    work = out.with_name(out.name + ".training")
    args = _arguments(config, work)
    Trainer(
        model=model, args=args, train_dataset=Dataset.from_dict(dict(encoded)), data_collator=default_data_collator
    ).train()
    seconds = time.perf_counter() - started
    tmp = _save_fp16(model, tokenizer, out.with_name(out.name + ".tmp"))
    reader = Reader(tmp, threshold=0.0)
    threshold = choose_threshold(reader, sentence_cases(paragraphs, validation), config.target_f1)
    record = {
        "base": base,
        "data": str(policyqa),
        "train_policies": [policy_key(t) for t in train_policies],
        "validation_policies": [policy_key(t) for t in validation],
        "test_policies": [policy_key(t) for t in test],
        "questions": questions,
        "windows": len(encoded["input_ids"]),
        "hyper_parameters": asdict(config),
        "train_seconds": round(seconds, 1),
        "threshold": threshold,
        "validation": lead_figures(reader, sentence_cases(paragraphs, validation), threshold),
        "test": lead_figures(reader, sentence_cases(paragraphs, test), threshold),
        "torch_threads": torch.get_num_threads(),
    }
    (tmp / "training.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    shutil.rmtree(work, ignore_errors=True)
    return record


def _save_fp16(model: Any, tokenizer: Any, folder: Path) -> Path:
    """The model in fp16 safetensors with its tokenizer, marked to compute in float32 (a CPU
    has no fast fp16)."""
    shutil.rmtree(folder, ignore_errors=True)
    model.half().save_pretrained(str(folder), safe_serialization=True)
    tokenizer.save_pretrained(str(folder))
    config_file = folder / "config.json"
    cfg = json.loads(config_file.read_text(encoding="utf-8"))
    cfg["dtype"] = "float32"
    config_file.write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")
    return folder


def _arguments(config: ReaderConfig, work: Path) -> Any:
    """transformers' training arguments: CPU, no checkpoints."""
    from transformers import TrainingArguments

    return cpu_arguments(TrainingArguments, config, work, weight_decay=config.weight_decay, logging_steps=25)
