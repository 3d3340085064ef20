"""The model card (README.md) of a trained model folder, written from what training recorded,
so that its figures are the ones the training run measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_card(folder: Path) -> Path:
    """Render ``folder/README.md`` from ``training.json`` (and ``selector.json``, ``selector-fit.json``)."""
    record = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    hp = record["hyper_parameters"]
    ranking = record["held_out_sentence_ranking"]
    lines = [
        *_ranker_intro(folder, record),
        "## Hyper-parameters",
        "",
        "| " + " | ".join(hp) + " |",
        "|" + "---|" * len(hp),
        "| " + " | ".join(str(v) for v in hp.values()) + " |",
        "",
        f"Training took {record['train_seconds'] / 60:.1f} minutes on {record['torch_threads']} CPU threads.",
        "",
        "## Held-out figures",
        "",
        "Sentence ranking on the held-out policies: every sentence of the question's policy ranked by cosine",
        "to the question; hit@1 when the top sentence overlaps the answer span.",
        "",
        "| questions | model | hit@1 | MRR@10 |",
        "|---|---|---:|---:|",
    ]
    for part, label in (("all", "all held-out"), *((k, k.replace("_", " ")) for k in ranking["tuned"] if k != "all")):
        for name in ("base", "tuned"):
            fig = ranking[name][part]
            lines.append(f"| {label} ({fig['questions']:.0f}) | {name} | {fig['hit@1']:.3f} | {fig['mrr@10']:.3f} |")
    lines += ["", "The slice row is what `tests/test_models.py` re-measures (within 0.03).", ""]
    lines += _selector_section(folder)
    lines += _end_to_end(folder)
    lines += [
        "## Reproduce",
        "",
        "```sh",
        "privacy-assistant train ranker --eval-set data/seeds/questions.jsonl   # this folder, ~13 min on 2 cores",
        "privacy-assistant train ranker --out /tmp/policyqa-only                # the same without our questions",
        "privacy-assistant train selector --features-from /tmp/policyqa-only    # selector.json, this card",
        "```",
        "",
        *(
            ["The encoder as committed was trained with `--eval-set evals/dev.jsonl`, which `train` now refuses;", ""]
            if _trained_on_evals(record)
            else []
        ),
    ]
    card = folder / "README.md"
    card.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return card


def _ranker_intro(folder: Path, record: dict[str, Any]) -> list[str]:
    """The card's title, what the model is, and its data."""
    hp = record["hyper_parameters"]
    return [
        f"# {folder.name}",
        "",
        "A sentence encoder for privacy-notice questions: all-MiniLM-L6-v2 (384 dimensions, the copy packaged",
        f"as `{record['base']}`) fine-tuned so that the sentence answering a question ranks first among the",
        "sentences of the same policy. It embeds questions, sentences and headings for the FAISS index and",
        "scores the candidate sentences of `ask`. Weights: fp16 safetensors, computed in float32 on CPU.",
        "",
        "Made by `privacy-assistant train ranker` (sentence-transformers' `SentenceTransformerTrainer`,",
        "`MultipleNegativesRankingLoss`), deterministic for its seed on CPU.",
        "",
        "## Data",
        "",
        "PolicyQA (Ahmad et al., Findings of EMNLP 2020; MIT licence), `dev.json`: 20 website privacy",
        "policies from OPP-115 with question/answer-span pairs. Split **by policy**: the held-out policies",
        "(the lowest SHA-256 digests of their names, not chosen by looking at them) are never trained on.",
        "",
        f"- trained on {len(record['train_policies'])} policies, {record['pairs']:,} (question, answering "
        "sentence, negatives) rows:",
        f"  {', '.join(record['train_policies'])}",
        f"- held out: {', '.join(record['held_out_policies'])}",
        "- the answering sentence is the run of sentences (the splitter the index uses) that holds the",
        "  answer span; negatives: one other sentence of the same paragraph and "
        f"{hp['mined_negatives']} mined from the same policy",
        "  (the base model's closest sentences that do not overlap the answer); in-batch negatives besides.",
        *_labelled_rows(record),
        "",
    ]


def _labelled_rows(record: dict[str, Any]) -> list[str]:
    """The line on the labelled questions about the seed policies added to PolicyQA (`--eval-set`)."""
    extra = record.get("eval_set_pairs") or {}
    if not extra.get("sets"):
        return ["- no labelled questions about the seed policies (PolicyQA alone)."]
    sets = ", ".join(f"`{s}`" for s in extra["sets"])
    why = (
        "an eval set: this encoder predates the rule that `evals/` is never trained on"
        if _trained_on_evals(record)
        else "questions written for training; `evals/` is never trained on"
    )
    return [
        f"- plus {extra['pairs']:,} rows from the answerable questions of {sets} over",
        f"  `{extra['documents']}` ({why}).",
    ]


def _trained_on_evals(record: dict[str, Any]) -> bool:
    return any(Path(s).parent.name == "evals" for s in (record.get("eval_set_pairs") or {}).get("sets", []))


def _selector_section(folder: Path) -> list[str]:
    fit = folder / "selector-fit.json"
    if not fit.is_file():
        return []
    record: dict[str, Any] = json.loads(fit.read_text(encoding="utf-8"))
    return [
        "## The selector (`selector.json`)",
        "",
        "Two logistic models fitted by `privacy-assistant train selector` on the candidate sentences that",
        f"retrieval gives for {record['fitted_on']} ({record['items']:.0f} questions; never `evals/`),",
        f"with the features computed by {record.get('features_from', 'the model itself')} (an encoder that never",
        "saw these questions, so that their similarities look like those of a question nobody trained on):",
        "which candidate sentence to cite (P(it holds the answer)) and whether to answer at all",
        "(P(answerable)). Features: similarities, retrieval score, IDF-weighted word overlap, sentence",
        "shape; nothing specific to a policy. On the data it was fitted on: lead sentence right "
        f"{record['lead_sentence_hit']:.3f}, answer/abstain decision right {record['answerable_accuracy']:.3f};",
        f"a second sentence is cited at ≥ {record.get('support', 0.7)} × the lead's probability (chosen out of fold).",
        "",
    ]


def _end_to_end(folder: Path) -> list[str]:
    figures = folder / "figures.md"
    return (
        ["## End to end (`privacy-assistant eval`)", "", figures.read_text(encoding="utf-8").strip(), ""]
        if (figures.is_file())
        else []
    )


def write_reader_card(folder: Path) -> Path:
    """Render the reader's ``README.md`` from its ``training.json``."""
    record = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    hp, val, test = record["hyper_parameters"], record["validation"], record["test"]
    lines = [
        f"# {folder.name}",
        "",
        "The answer-lead reader: an extractive question-answering head (start/end of the answer span) on",
        f"the project's encoder (`{record['base']}`, MiniLM-L6, BERT-style). Given a question and the cited",
        "sentence it returns a span of that sentence and a probability; the chat shows the span as",
        "\"In short: … [1]\" only at or above the threshold below. Weights: fp16 safetensors, computed in",
        "float32 on CPU.",
        "",
        "Made by `privacy-assistant train reader`: transformers' `Trainer` (the one sentence-transformers'",
        "trainers are built on; sentence-transformers has no span-extraction loss), deterministic for its",
        "seed on CPU.",
        "",
        "## Data",
        "",
        "PolicyQA (Ahmad et al., Findings of EMNLP 2020; MIT licence), `dev.json`: question/answer-span",
        "pairs over 20 website privacy policies from OPP-115. Split **by policy**, the same split as the",
        "encoder's (`app/training/data.py`): the held-out policies are never trained on.",
        "",
        f"- trained on {len(record['train_policies'])} policies, {record['questions']:,} questions "
        f"({record['windows']:,} windows of question + paragraph)",
        f"- validation (chooses the threshold): {', '.join(record['validation_policies'])}",
        f"- test (reports): {', '.join(record['test_policies'])}",
        "",
        "## Hyper-parameters",
        "",
        *(f"- {k}: {v}" for k, v in hp.items()),
        f"- training time: {record['train_seconds']:.0f} s on {record['torch_threads']} CPU threads",
        "",
        "## Figures",
        "",
        "On questions whose answer lies inside one sentence, the reader reading that sentence only (as in",
        "the app). Token F1 and exact match against PolicyQA's gold span; \"sentence F1\": quoting the",
        "whole sentence instead.",
        "",
        f"Threshold: probability ≥ {record['threshold']} (the lowest at which the leads shown on the",
        f"validation policies reach token F1 {hp['target_f1']}).",
        "",
        "| policies | questions | lead shown | shown: exact match | shown: F1 | shown: sentence F1 |"
        " all spans: F1 | all: sentence F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in (("validation", val), ("test", test)):
        lines.append(
            f"| {name} | {f['questions']:.0f} | {f['shown']:.2f} | {f['shown_exact_match']:.3f} | "
            f"{f['shown_f1']:.3f} | {f['shown_sentence_f1']:.3f} | {f['all_f1']:.3f} | {f['all_sentence_f1']:.3f} |"
        )
    lines += [
        "",
        "Limits: PolicyQA's gold spans are often a phrase inside a long list, so exact match stays low; a",
        "lead is a verbatim part of the cited sentence either way, and the full sentence follows it.",
        "",
    ]
    path = folder / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
