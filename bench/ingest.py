"""Ingest of the seed documents: cold, unchanged, and with one document changed.

    .venv/bin/python bench/ingest.py                 # documents/ into temporary index folders
    .venv/bin/python bench/ingest.py --cold-runs 3 --json

Every run is a fresh Python process doing what `privacy-assistant ingest` does, timed
from outside (wall, interpreter start included) and inside (imports, model load, and each
phase of `build_index`):

- cold: an empty index folder, nothing cached;
- unchanged: the same documents again (the model is not even loaded);
- one changed: a paragraph appended to one document: only its new text is embedded.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.query import machine  # noqa: E402

CHANGED_DOC = "harry-winston-privacy-policy-2015.txt"
NEW_PARAGRAPH = (
    "Retention of gift registry data: We keep the details of a gift registry for twenty-four months after "
    "the event date, after which they are deleted."
)


def one(documents: Path, index: Path, load_model: bool) -> dict[str, Any]:
    """In this process: import, (load the model), build; the timings as a dict."""
    t0 = time.perf_counter()
    from app.embedding import SentenceTransformerEmbedder
    from app.index import build_index

    t1 = time.perf_counter()
    embedder = SentenceTransformerEmbedder()
    if load_model:
        embedder.model  # noqa: B018 - the load is what is timed
    t2 = time.perf_counter()
    summary = build_index(documents, index, embedder)
    t3 = time.perf_counter()
    return {
        "import_s": t1 - t0,
        "model_load_s": t2 - t1,
        "build_s": t3 - t2,
        "embedded": summary.embedded,
        "reused": summary.reused,
        "up_to_date": summary.up_to_date,
        "clauses": sum(summary.documents.values()),
        "phases_ms": summary.phases_ms,
        "bf16": embedder.bf16 if load_model else None,  # asking imports torch: not in a run that needs no model
    }


def timed_run(documents: Path, index: Path, load_model: bool) -> dict[str, Any]:
    """One ingest in a fresh process; wall time measured from here."""
    cmd = [sys.executable, __file__, "--one", str(documents), str(index)]
    if load_model:
        cmd.append("--load-model")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest run failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return {"wall_s": wall, **json.loads(done.stdout.strip().splitlines()[-1])}


def run(documents: Path, cold_runs: int, warm_runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="pa-bench-ingest-") as tmp:
        base = Path(tmp)
        docs = base / "documents"
        shutil.copytree(documents, docs)
        cold = []
        for i in range(cold_runs):
            cold.append(timed_run(docs, base / f"cold-{i}", load_model=True))
        index = base / "cold-0"
        unchanged = [timed_run(docs, index, load_model=False) for _ in range(warm_runs)]
        with open(docs / CHANGED_DOC, "a", encoding="utf-8") as handle:
            handle.write(f"\n\n{NEW_PARAGRAPH}\n")
        changed = timed_run(docs, index, load_model=False)
        size = sum(p.stat().st_size for p in (index / "current").resolve().rglob("*") if p.is_file())
    return {
        "machine": machine(),
        "documents": str(documents),
        "cold": cold,
        "unchanged": unchanged,
        "one_changed": changed,
        "index_bytes": size,
    }


def _row(name: str, r: dict[str, Any]) -> str:
    embed = r["phases_ms"].get("embed", 0.0) / 1000
    return (
        f"| {name} | {r['wall_s']:.1f} | {r['import_s']:.1f} | {r['model_load_s']:.1f} | {embed:.1f} "
        f"| {r['build_s']:.1f} | {r['embedded']} | {r['reused']} |"
    )


def format_table(r: dict[str, Any]) -> str:
    cold = r["cold"][0]
    lines = [
        f"machine: {r['machine']}",
        f"documents: {r['documents']} ({cold['clauses']} clauses); index on disk {r['index_bytes'] / 1e6:.1f} MB; "
        f"bf16 autocast: {'on' if cold['bf16'] else 'off'}",
        "",
        "| run | wall s | imports s | model load s | embedding s | build s | texts embedded | reused |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [_row(f"cold #{i + 1}", c) for i, c in enumerate(r["cold"])]
    lines += [_row(f"unchanged #{i + 1}", u) for i, u in enumerate(r["unchanged"])]
    lines.append(_row("one document changed", r["one_changed"]))
    lines += ["", "Cold build by phase (ms):", "", "| phase | ms |", "|---|---:|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in cold["phases_ms"].items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=Path, default=ROOT / "documents")
    parser.add_argument("--cold-runs", type=int, default=1)
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--one", nargs=2, type=Path, metavar=("DOCUMENTS", "INDEX"), help=argparse.SUPPRESS)
    parser.add_argument("--load-model", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(one(args.one[0], args.one[1], args.load_model)))
        return 0
    report = run(args.documents, args.cold_runs, args.warm_runs)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
