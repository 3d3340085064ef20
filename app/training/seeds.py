"""Where our own labelled questions about the seed policies are: what the selector and the
decision are fitted on and the ranker may add to PolicyQA. The project's eval sets (evals/) are
never trained on. A module of its own so that the command line reads it without loading the
training code."""

from __future__ import annotations

from pathlib import Path

SEED_QUESTIONS = Path("data/seeds/questions.jsonl")
SEED_FOLDER = SEED_QUESTIONS.parent  # every *.jsonl here is our own labelled questions


def seed_files() -> list[Path]:
    """Our labelled question files (data/seeds/*.jsonl), the default training questions."""
    return sorted(SEED_FOLDER.glob("*.jsonl")) or [SEED_QUESTIONS]
