"""Fit the answer-or-refer model (app/decision.py) on labelled questions nobody tuned on.

Each question is run through the assistant up to its decision (`Assistant.judge`), and its
signals — the selector's P(answerable), the intent model's probabilities, the cue flags —
are one row, labelled by whether the question is answerable. The rows come from:

- our own labelled questions about the seed policies (`data/seeds/*.jsonl`), answerable
  and not, asked over the seed index;
- CLINC150's validation requests (real requests that are not about privacy notices, small talk
  and out-of-scope), asked over the seed index, all unanswerable — its *train* part taught the
  intent model, so these look to it like new requests;
- PolicyQA's benchmark questions of the policies the encoder trained on, each asked of its own
  policy, all answerable.

Never `evals/`. The figures reported are out of fold (five folds by a hash of the question), by
source, so they say how the model does on questions it was not fitted on.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.assistant import Assistant
from app.decision import DECISION_FEATURES, DECISION_FILE, DecisionModel
from app.evaluation.dataset import load_eval_set
from app.selection import Logistic
from app.stages import Inquiry
from app.training.seeds import SEED_QUESTIONS, refuse_eval_sets, seed_files

CLINC = Path("../shared/datasets/clinc150/data_full.json")
POLICYQA_QUESTIONS = Path("../shared/benchmarks/policyqa-dev/questions.jsonl")


@dataclass(frozen=True)
class Example:
    """One labelled question and where it is asked."""

    source: str
    question: str
    filters: dict[str, object]
    answerable: bool


def seed_examples(path: Path = SEED_QUESTIONS) -> list[Example]:
    return [Example("seeds", i.question, dict(i.filters), i.answerable) for i in load_eval_set(path)]


def clinc_examples(path: Path = CLINC, limit: int = 600, seed: int = 13) -> list[Example]:
    """A sample of CLINC150's validation part (in-scope and out-of-scope), all unanswerable."""
    data = json.loads(path.read_text(encoding="utf-8"))
    rows = [text for text, _ in [*data["val"], *data["oos_val"]]]
    random.Random(seed).shuffle(rows)
    return [Example("clinc150-val", text, {}, False) for text in rows[:limit]]


def policyqa_examples(policies: Iterable[str], path: Path = POLICYQA_QUESTIONS) -> list[Example]:
    """The benchmark's questions about the given policies (their doc ids), each on its policy."""
    wanted = set(policies)
    return [
        Example("policyqa-train", i.question, dict(i.filters), True)
        for i in load_eval_set(path)
        if i.filters.get("doc_id") in wanted
    ]


def signal_rows(assistant: Assistant, examples: Sequence[Example]) -> np.ndarray:
    """The decision's input for each example (its signals on that assistant)."""
    return np.array(
        [assistant.judge(Inquiry(e.question, dict(e.filters))).signals.vector() for e in examples], dtype=np.float64
    ).reshape(-1, len(DECISION_FEATURES))


def _fold(text: str, folds: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % folds


def balanced_weights(sources: Sequence[str], y: np.ndarray) -> np.ndarray:
    """Row weights giving each (source, label) group the same total weight: 600 easy CLINC150
    requests must not outweigh 50 unanswerable questions in a customer's own words."""
    groups = [(source, float(label)) for source, label in zip(sources, y, strict=True)]
    sizes: dict[tuple[str, float], int] = defaultdict(int)
    for g in groups:
        sizes[g] += 1
    weights = np.array([len(groups) / (len(sizes) * sizes[g]) for g in groups])
    return weights


def choose_threshold(p: np.ndarray, y: np.ndarray, max_false_referrals: float) -> float:
    """The highest threshold whose share of answerable questions refused stays within
    ``max_false_referrals`` (out-of-fold probabilities of the questions written like customers')."""
    answerable = np.sort(p[y == 1])
    if not len(answerable):
        return 0.5
    k = int(np.floor(max_false_referrals * len(answerable)))  # this many may fall below
    return float(min(0.5, answerable[k] - 1e-6)) if k < len(answerable) else 0.5


def fit_decision(
    x: np.ndarray, y: np.ndarray, sources: Sequence[str], questions: Sequence[str], fitted_on: str,
    needs_intent: bool, l2: float = 1.0, folds: int = 5, max_false_referrals: float = 0.03,
    target: str = "seeds",
) -> tuple[DecisionModel, dict[str, float]]:  # fmt: skip
    """The model fitted on every row (groups balanced), its threshold chosen out of fold on the
    ``target`` source's answerable questions, and its out-of-fold figures by source."""
    weights = balanced_weights(sources, y)
    fold = np.array([_fold(q, folds) for q in questions])
    predicted = np.zeros(len(y))
    for k in range(folds):
        train = fold != k
        model = Logistic.fit(x[train], y[train], DECISION_FEATURES, l2=l2, weights=weights[train])
        predicted[~train] = model.probability(x[~train])
    mine = np.array([s == target for s in sources]) if target in sources else np.ones(len(y), dtype=bool)
    threshold = choose_threshold(predicted[mine], y[mine], max_false_referrals)
    figures: dict[str, float] = {"threshold": round(threshold, 4)}
    by_source: dict[str, list[int]] = defaultdict(list)
    for i, source in enumerate(sources):
        by_source[source].append(i)
    for source, rows in sorted(by_source.items()):
        right = (predicted[rows] >= threshold) == (y[rows] == 1)
        figures[f"{source}/n"] = float(len(rows))
        figures[f"{source}/accuracy"] = round(float(right.mean()), 4)
    for name, rows_mask in (("all", np.ones(len(y), dtype=bool)), (target, mine)):
        for key, rows in (("false_referrals", y == 1), ("refused_unanswerable", y == 0)):
            chosen = predicted[rows_mask & rows]
            if len(chosen):
                figures[f"out_of_fold/{name}/{key}"] = round(float((chosen < threshold).mean()), 4)
    model = Logistic.fit(x, y, DECISION_FEATURES, l2=l2, weights=weights)
    return DecisionModel(model, threshold, fitted_on, needs_intent), figures


def run_decision(args: argparse.Namespace) -> int:
    """`privacy-assistant train decision`: gather the rows, fit, write the model and its figures."""
    from app.embedding import SentenceTransformerEmbedder
    from app.index import build_index

    seed_paths = args.seeds or seed_files()
    refuse_eval_sets(seed_paths, "train decision --seeds")
    embedder = SentenceTransformerEmbedder.from_settings(args.settings)
    build_index(args.documents, args.index, embedder, ann_threshold=args.settings.ann_threshold)
    assistant = Assistant(embedder, args.index)
    needs_intent = assistant.intent_model is not None
    seeds = [*(e for p in seed_paths for e in seed_examples(p)), *clinc_examples(limit=args.clinc)]
    rows = [signal_rows(assistant, seeds)]
    examples = list(seeds)
    held_out = json.loads((embedder.path / "training.json").read_text(encoding="utf-8"))["held_out_policies"]
    pqa_docs = POLICYQA_QUESTIONS.parent / "documents"
    trained = sorted(p.stem for p in pqa_docs.glob("*.txt") if p.stem not in set(held_out))
    pqa_index = Path(".cache/policyqa-index")
    build_index(pqa_docs, pqa_index, embedder, ann_threshold=args.settings.ann_threshold)
    pqa = policyqa_examples(trained)
    rows.append(signal_rows(Assistant(embedder, pqa_index), pqa))
    examples += pqa
    x = np.vstack(rows)
    y = np.array([float(e.answerable) for e in examples])
    seeds_named = ", ".join(map(str, seed_paths))
    fitted_on = f"{seeds_named}, CLINC150 val ({args.clinc}), PolicyQA training policies ({len(pqa)})"
    model, figures = fit_decision(
        x, y, [e.source for e in examples], [e.question for e in examples], fitted_on, needs_intent
    )
    out = args.out or embedder.path / DECISION_FILE
    model.save(out)
    (out.with_name("decision-fit.json")).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    out.with_name("decision.md").write_text(decision_card(model, figures), encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print(f"decision model written to {out}", file=sys.stderr)
    return 0


def decision_card(model: DecisionModel, figures: dict[str, float]) -> str:
    """The model card of a fitted decision model: data, hyper-parameters, out-of-fold figures."""
    weights = "\n".join(f"| {f} | {w:+.3f} |" for f, w in zip(model.model.features, model.model.weights, strict=True))
    rows = "\n".join(f"| {k} | {v:g} |" for k, v in figures.items())
    return f"""# Answer-or-refer decision (`decision.json`)

Whether the assistant answers a question with the sentences it chose, or refers it: a logistic
model (app/decision.py) over the signals of `Assistant.judge`. Made by
`privacy-assistant train decision` (app/training/decision.py), offline, in about a minute.

- **Data**: {model.fitted_on}. Never `evals/`. Each (source, label) group weighs the same.
- **Fit**: Newton's method, L2 penalty 1.0 on standardised features (the bias not shrunk).
- **Threshold**: {model.threshold:.4f} — the highest that refers at most 3 % of our seed questions'
  answerable ones, out of fold (five folds by a hash of the question).
- **Needs the intent model**: {model.needs_intent} (without it, the referral rules and the
  selector's threshold decide, as before this model).

| feature (standardised) | weight |
|---|---:|
{weights}

Out-of-fold figures (a question counts as right when answered if answerable, referred if not):

| figure | value |
|---|---:|
{rows}
"""
