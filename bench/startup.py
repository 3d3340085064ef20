"""From `privacy-assistant serve` to the first answered request.

    .venv/bin/python bench/startup.py                # ./index, 3 starts
    .venv/bin/python bench/startup.py --runs 5 --json

Each run starts the real server (`python -m app.cli --index INDEX serve`) in a fresh
process, polls its HTTP API until it answers, and asks one question through the customer
chat's API, as a browser would; the clock runs from the process start to the answer. The
index must exist (`privacy-assistant ingest`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Server, http_caller  # noqa: E402
from bench.query import machine  # noqa: E402

QUESTION = "How long do you keep my personal information?"


def one_start(index: Path, timeout_s: float) -> dict[str, float]:
    started = time.perf_counter()
    server = Server(index, 0)
    try:
        server.wait_ready(timeout_s)
        ready = time.perf_counter()
        call, close = http_caller(server.url, timeout_s)
        try:
            result = call(QUESTION)
        finally:
            close()
        answered = time.perf_counter()
        if not result:
            raise RuntimeError("the first request came back without an answer")
        return {"http_ready_s": ready - started, "first_answer_s": answered - started, "rss_mib": server.rss() / 2**20}
    finally:
        server.stop()


def run(index: Path, runs: int, timeout_s: float) -> dict[str, Any]:
    if not (index / "current").exists():
        raise SystemExit(f"{index}: no index; run `.venv/bin/privacy-assistant ingest` first")
    return {"machine": machine(), "index": str(index), "runs": [one_start(index, timeout_s) for _ in range(runs)]}


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"machine: {r['machine']}",
        f"index: {r['index']}; question: {QUESTION!r}",
        "",
        "| start | HTTP ready s | first answer s | server RSS MiB |",
        "|---|---:|---:|---:|",
    ]
    for i, run in enumerate(r["runs"], 1):
        lines.append(f"| #{i} | {run['http_ready_s']:.1f} | {run['first_answer_s']:.1f} | {run['rss_mib']:.0f} |")
    firsts = sorted(run["first_answer_s"] for run in r["runs"])
    lines.append(f"| median | | {firsts[len(firsts) // 2]:.1f} | |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the server")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    report = run(args.index, args.runs, args.timeout)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
