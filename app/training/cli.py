"""`privacy-assistant train ranker|selector`: the commands that make the shipped models."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.training.seeds import SEED_FOLDER, SEED_QUESTIONS, refuse_eval_sets, seed_files

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("../shared/datasets/policyqa/dev.json")



def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `train` command and its two targets."""
    from app.embedding import DEFAULT_MODEL, PACKAGED_MODEL
    from app.training.ranker import TrainConfig

    train = sub.add_parser("train", help="train the sentence ranker or fit the selector (CPU, offline)")
    targets = train.add_subparsers(dest="target", required=True, parser_class=type(train))
    ranker = targets.add_parser("ranker", help="fine-tune the encoder on PolicyQA (split by policy)")
    ranker.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PolicyQA/SQuAD JSON (default: %(default)s)")
    ranker.add_argument("--base", default=PACKAGED_MODEL, help="model to start from (default: %(default)s)")
    ranker.add_argument("--out", type=Path, default=Path(DEFAULT_MODEL), help="output folder")
    ranker.add_argument(
        "--eval-set",
        type=Path,
        action="append",
        default=[],
        help=f"also train on this labelled set's answerable items, over --documents (e.g. {SEED_QUESTIONS}; "
        "never evals/)",
    )
    _add_options(ranker, TrainConfig(), RANKER_OPTIONS)
    from app.training.reader import ReaderConfig

    reader = targets.add_parser("reader", help="train the answer-lead reader (extractive QA) on PolicyQA")
    reader.add_argument("--data", type=Path, default=DEFAULT_DATA, help="PolicyQA/SQuAD JSON (default: %(default)s)")
    reader.add_argument("--base", default=DEFAULT_MODEL, help="encoder to start from (default: %(default)s)")
    reader.add_argument("--out", type=Path, default=Path("models/privacy-reader"), help="output folder")
    _add_options(reader, ReaderConfig(), READER_OPTIONS)
    selector = targets.add_parser("selector", help="fit the sentence selector and abstention on an eval set")
    selector.add_argument(
        "--dataset", type=Path, action="append", help=f"labelled questions (default {SEED_FOLDER}/*.jsonl, not evals/)"
    )
    selector.add_argument("--out", type=Path, help="selector file (default: selector.json in the model's folder)")
    selector.add_argument(
        "--features-from",
        metavar="MODEL",
        help="compute the features with this encoder (a folder or package:NAME; default: the model in use) — "
        "one trained without the labelled questions, so that they look like unseen ones",
    )

    intent = targets.add_parser("intent", help="fit the question-intent model (CLINC150, PolicyQA, data/intent/)")
    intent.add_argument("--out", type=Path, default=Path("models/intent-minilm"), help="output folder")
    intent.add_argument("--seed", type=int, default=0, help="seed of the choosing fold (default 0)")

    decision = targets.add_parser("decision", help="fit the answer-or-refer model (seed questions, CLINC150, PolicyQA)")
    decision.add_argument(
        "--seeds", type=Path, action="append", help=f"our labelled questions (default {SEED_FOLDER}/*.jsonl)"
    )
    decision.add_argument("--clinc", type=int, default=600, help="CLINC150 validation requests to use (default 600)")
    decision.add_argument("--out", type=Path, help="decision file (default: decision.json in the model's folder)")


# The hyper-parameters each command takes as options (the rest keep their defaults).
RANKER_OPTIONS = ("epochs", "batch_size", "learning_rate", "max_seq_length", "mined_negatives", "seed", "limit")
READER_OPTIONS = ("epochs", "batch_size", "learning_rate", "max_length", "target_f1", "seed", "limit")


def _add_options(parser: argparse.ArgumentParser, defaults: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(defaults, name)
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value, help=f"(default {value})")


def _config(cls: Any, args: argparse.Namespace, names: tuple[str, ...]) -> Any:
    """A hyper-parameter record from the command's options."""
    return cls(**{name: getattr(args, name) for name in names})


def run_cli(args: argparse.Namespace) -> int:
    if args.target == "ranker":
        return _ranker(args)
    if args.target == "reader":
        return _reader(args)
    if args.target == "intent":
        return _intent(args)
    if args.target == "decision":
        from app.training.decision import run_decision

        return run_decision(args)
    return _selector(args)


def _ranker(args: argparse.Namespace) -> int:
    from app.training.ranker import TrainConfig, train_ranker

    if not args.data.is_file():
        raise InputError(f"train ranker --data: {args.data} not found")
    refuse_eval_sets(args.eval_set, "train ranker --eval-set")
    config = _config(TrainConfig, args, RANKER_OPTIONS)
    from app.training.card import write_card

    record = train_ranker(args.data, args.out, args.base, config, args.eval_set, args.documents)
    write_card(args.out)
    print(json.dumps(record["held_out_sentence_ranking"], indent=2))
    print(f"model written to {args.out} in {record['train_seconds']:.0f} s", file=sys.stderr)
    return 0


def _reader(args: argparse.Namespace) -> int:
    from app.training.card import write_reader_card
    from app.training.reader import ReaderConfig, train_reader

    if not args.data.is_file():
        raise InputError(f"train reader --data: {args.data} not found")
    config = _config(ReaderConfig, args, READER_OPTIONS)
    record = train_reader(args.data, args.out, args.base, config)
    write_reader_card(args.out)
    print(json.dumps({k: record[k] for k in ("threshold", "validation", "test")}, indent=2))
    print(f"reader written to {args.out} in {record['train_seconds']:.0f} s", file=sys.stderr)
    return 0


def _intent(args: argparse.Namespace) -> int:
    from app.embedding import SentenceTransformerEmbedder
    from app.training.intent import train_intent

    record = train_intent(SentenceTransformerEmbedder.from_settings(args.settings), args.out, args.seed)
    print(json.dumps(record["figures"], indent=2))
    print(f"intent model written to {args.out} in {record['train_seconds']:.0f} s", file=sys.stderr)
    return 0


def _selector(args: argparse.Namespace) -> int:
    from app.assistant import Assistant
    from app.choose import SELECTOR_FILE
    from app.embedding import SentenceTransformerEmbedder
    from app.evaluation.dataset import load_eval_set
    from app.index import build_index
    from app.training.selector import fit_selector

    datasets = args.dataset or seed_files()
    refuse_eval_sets(datasets, "train selector --dataset")
    items = [item for p in datasets for item in load_eval_set(p)]
    target = SentenceTransformerEmbedder.from_settings(args.settings)
    embedder, index = target, args.index
    if args.features_from:
        embedder = SentenceTransformerEmbedder(args.features_from)
        index = args.index.with_name(args.index.name + ".models") / embedder.path.name
    build_index(args.documents, index, embedder, ann_threshold=args.settings.ann_threshold)
    assistant = Assistant(embedder, index)  # only its candidates' features: no chooser is loaded
    selector, figures = fit_selector(assistant, items, fitted_on=", ".join(str(p) for p in datasets))
    out = args.out or target.path / SELECTOR_FILE
    selector.save(out)
    if out.resolve().parent == target.path.resolve() and (out.parent / "training.json").is_file():
        from app.training.card import write_card

        fit = {**figures, "fitted_on": selector.fitted_on, "features_from": args.features_from or "the model itself"}
        (out.parent / "selector-fit.json").write_text(json.dumps(fit, indent=2) + "\n", encoding="utf-8")
        write_card(out.parent)
    print(json.dumps(figures, indent=2))
    print(f"selector written to {out}", file=sys.stderr)
    return 0
