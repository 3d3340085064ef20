"""The REST path against the Gradio path, in one run: the same questions, clients and server(s).

    .venv/bin/python bench/api.py [--clients 16] [--seconds 20] [--replicas 0 1 2] [--index index] [--json]

`--replicas 0` is one server on its own (SQLite, no proxy), as `make run` serves; `N >= 1` is N
replicas behind nginx sharing a fresh PostgreSQL (tests/cluster.py, Debian's binaries), as in
docs/replicas.md. For each setup both paths are warmed up, then measured one after the other for
`--seconds` each with `--clients` threads (bench/load.py's question mix and clients):
- gradio: the customer chat's `ask` API, POST /gradio_api/call/ask then its event stream (two
  round trips, through Gradio's queue);
- rest: POST /v1/answers (one round trip, a plain FastAPI route in its threadpool).
Besides req/s and latency, the servers' CPU time over each run gives requests per CPU-second of
the server processes ("per core"), which holds up better than req/s on a busy shared machine.
Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import QUESTIONS, Server, cpu_seconds, make_report, run_clients  # noqa: E402

PATHS = {"gradio": "http", "rest": "rest"}  # the path's name -> bench/load.py's client kind


@contextlib.contextmanager
def setup(replicas: int, index: Path) -> Iterator[tuple[str, Callable[[], float], list[str]]]:
    """The URL to load, a reader of the servers' CPU seconds so far, and each server's own URL."""
    if replicas == 0:
        server = Server(index, 0)
        try:
            server.wait_ready()
            yield server.url, server.cpu, [server.url]
        finally:
            server.stop()
        return
    from tests.cluster import missing, nginx, postgres
    from tests.cluster import replicas as started

    if lacks := missing():
        raise SystemExit(f"not installed: {lacks} (make cluster-deps)")
    env = {"PRIVACY_ASSISTANT_RATE_PER_MINUTE": "1000000", "PRIVACY_ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"}
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="pa-api-bench-"))
        env["PRIVACY_ASSISTANT_DATABASE_URL"] = stack.enter_context(postgres())
        running = stack.enter_context(started(replicas, index, Path(tmp), env))
        lb = stack.enter_context(nginx([r.port for r in running], False))
        yield lb, lambda: sum(cpu_seconds(r.proc.pid) for r in running), [r.url for r in running]


def warm(urls: list[str]) -> None:
    """Every server answers the question list once on each path (models and caches loaded)."""
    for url in urls:
        for kind in PATHS.values():
            run_clients(url, 1, 60.0, len(QUESTIONS), kind)


def measure(replicas: int, index: Path, clients: int, seconds: float) -> list[dict[str, Any]]:
    """One setup: both paths, one after the other, on the same warmed-up servers."""
    rows = []
    with setup(replicas, index) as (url, cpu, urls):
        warm(urls)
        for path, kind in PATHS.items():
            load0, cpu0 = os.getloadavg()[0], cpu()
            tally, duration = run_clients(url, clients, seconds, 10**9, kind)
            server_cpu = cpu() - cpu0
            report = make_report(tally, duration, clients, kind, 0, 0, os.getloadavg(), server_cpu_s=server_cpu)
            rows.append({
                "replicas": replicas, "path": path, "clients": clients, "requests": report.requests,
                "errors": report.errors, "throttled": report.throttled, "throughput_rps": report.throughput_rps,
                "latency_ms_p50": report.latency_ms_p50, "latency_ms_p95": report.latency_ms_p95,
                "server_cpu_percent": report.server_cpu_percent,
                "requests_per_cpu_second": round(report.requests / server_cpu, 1) if server_cpu else 0.0,
                "load_average_before": round(load0, 2), "samples": tally.samples[:3],
            })  # fmt: skip
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| setup | path | req/s | p50 ms | p95 ms | req per server CPU-s | server CPU % | requests | errors "
            "| load avg before |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")  # fmt: skip
    lines = [head]
    for r in rows:
        where = "1 server" if r["replicas"] == 0 else f"{r['replicas']} replica(s) + nginx + PostgreSQL"
        lines.append(
            f"| {where} | {r['path']} | {r['throughput_rps']:.1f} | {r['latency_ms_p50']:.0f} | "
            f"{r['latency_ms_p95']:.0f} | {r['requests_per_cpu_second']:.1f} | {r['server_cpu_percent']:.0f} | "
            f"{r['requests']} | {r['errors']} | {r['load_average_before']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="bench/api.py")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (threads)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration of each path")
    parser.add_argument("--replicas", type=int, nargs="+", default=[0, 1, 2],
                        help="0: one server alone; N: N replicas behind nginx with PostgreSQL")  # fmt: skip
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="index folder the servers load")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    rows = [row for n in args.replicas for row in measure(n, args.index.resolve(), args.clients, args.seconds)]
    print(json.dumps(rows, indent=2) if args.json else table(rows))
    for r in rows:
        for sample in r["samples"]:
            print(f"error ({r['path']}, {r['replicas']} replicas): {sample}", file=sys.stderr)
    return 1 if any(r["errors"] or r["throttled"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
