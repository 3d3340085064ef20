"""bench/seed_leakage.py: the near-duplicate rule on hand-made vectors (no model)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.seed_leakage import near_duplicates, nearest


def test_nearest_normalises_and_picks_the_closest_row() -> None:
    seeds = np.array([[2.0, 0.0], [0.0, 3.0]])
    evals = np.array([[0.0, 1.0], [1.0, 0.1]])
    best, cos = nearest(seeds, evals)
    assert best.tolist() == [1, 0]
    assert cos[1] == 1.0 and 0.99 < cos[0] < 1.0


def test_only_seeds_at_or_above_the_threshold_are_listed_closest_first() -> None:
    seeds = [("s1", "far"), ("s2", "close"), ("s3", "same")]
    evals = [("e1", "x"), ("e2", "y")]
    seed_vectors = np.array([[1.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
    eval_vectors = np.array([[1.0, 0.0], [0.05, 1.0]])
    hits = near_duplicates(seeds, evals, seed_vectors, eval_vectors, threshold=0.9)
    assert [(h.seed_id, h.eval_id) for h in hits] == [("s3", "e1"), ("s2", "e2")]
    assert hits[0].cosine == 1.0
