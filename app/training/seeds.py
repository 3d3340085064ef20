"""Where our own labelled questions about the seed policies are: what the selector and the
decision are fitted on and the ranker may add to PolicyQA. The project's eval sets (evals/) are
never trained on, and `refuse_eval_sets` is the one check every training command runs on what
it is given. A module of its own so that the command line reads it without loading the training
code."""

from __future__ import annotations

from pathlib import Path

from app.errors import InputError

SEED_QUESTIONS = Path("data/seeds/questions.jsonl")
SEED_FOLDER = SEED_QUESTIONS.parent  # every *.jsonl here is our own labelled questions
EVALS_DIR = Path(__file__).resolve().parents[2] / "evals"


def seed_files() -> list[Path]:
    """Our labelled question files (data/seeds/*.jsonl), the default training questions."""
    return sorted(SEED_FOLDER.glob("*.jsonl")) or [SEED_QUESTIONS]


def refuse_eval_sets(paths: list[Path], option: str, evals_dir: Path = EVALS_DIR) -> None:
    """Training data must not be the project's eval sets: not a file in ``evals_dir`` (or named
    test.jsonl anywhere), nor a file repeating any of their questions (a copied slice)."""
    from app.evaluation.dataset import load_eval_set
    from app.evaluation.metrics import norm

    for p in paths:
        if p.name == "test.jsonl":
            raise InputError(f"{option}: {p} is the held-out test set; never train or fit on it")
        if p.resolve().parent == evals_dir.resolve():
            raise InputError(f"{option}: {p} is an eval set (evals/); train on {SEED_QUESTIONS} or your own questions")
    held = {norm(i.question) for f in sorted(evals_dir.glob("*.jsonl")) for i in load_eval_set(f)}
    for p in paths:
        copied = sum(norm(i.question) in held for i in load_eval_set(p)) if p.is_file() else 0
        if copied:
            raise InputError(f"{option}: {p} repeats {copied} question(s) of evals/; never train on eval questions")
