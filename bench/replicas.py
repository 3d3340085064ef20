"""Replicas behind nginx, sharing PostgreSQL: throughput and latency for 1, 2 and 4 replicas,
and what one replica costs to start and to keep.

    .venv/bin/python bench/replicas.py [--replicas 1 2 4] [--clients 16] [--seconds 30] [--index index]

For each replica count: a fresh PostgreSQL (tests/cluster.py), N `privacy-assistant serve`
processes on one shared index folder, nginx with deploy/nginx.conf in front, a warm-up, then
`--clients` threads asking the customer `/ask` API through nginx for `--seconds` (the same
client and question mix as bench/load.py; each client keeps its own cookie, so nginx spreads
clients over the replicas). Everything runs on 127.0.0.1 and is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import make_report, rss_bytes, run_clients, warm_up  # noqa: E402
from tests.cluster import missing, nginx, postgres, replicas  # noqa: E402

MIB = 1024 * 1024


def measure(n: int, index: Path, clients: int, seconds: float) -> dict[str, Any]:
    """One replica count: start-up, memory, and a load run through nginx."""
    with tempfile.TemporaryDirectory(prefix="pa-replicas-") as tmp, postgres() as url:
        env = {"PRIVACY_ASSISTANT_DATABASE_URL": url, "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "1000000",
               "PRIVACY_ASSISTANT_TRUSTED_PROXIES": "127.0.0.1"}  # fmt: skip
        started = time.monotonic()
        with replicas(n, index, Path(tmp), env) as running, nginx([r.port for r in running], False) as lb:
            startup_s = time.monotonic() - started  # all N started together, until each is healthy
            for replica in running:  # each one directly: every replica has its model warm
                warm_up(replica.url, "http", rounds=1)
            rss_idle = [rss_bytes(r.proc.pid) for r in running]
            tally, duration = run_clients(lb, clients, seconds, 10**9, "http")
            rss_after = [rss_bytes(r.proc.pid) for r in running]
        report = make_report(tally, duration, clients, "http", sum(rss_idle), sum(rss_after), (0.0, 0.0, 0.0))
    return {
        "replicas": n,
        "clients": clients,
        "throughput_rps": report.throughput_rps,
        "latency_ms_p50": report.latency_ms_p50,
        "latency_ms_p95": report.latency_ms_p95,
        "requests": report.requests,
        "errors": report.errors,
        "startup_s_all": round(startup_s, 1),
        "rss_mib_per_replica_idle": round(sum(rss_idle) / n / MIB, 1),
        "rss_mib_per_replica_after": round(sum(rss_after) / n / MIB, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if lacks := missing():
        print(f"not installed: {lacks} (make cluster-deps)", file=sys.stderr)
        return 2
    rows = [measure(n, args.index.resolve(), args.clients, args.seconds) for n in args.replicas]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print("| replicas | throughput req/s | p50 ms | p95 ms | requests | errors | start-up s (all) | RSS MiB each |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        latency = f"{r['latency_ms_p50']:.0f} | {r['latency_ms_p95']:.0f}"
        print(f"| {r['replicas']} | {r['throughput_rps']:.1f} | {latency} | {r['requests']} | {r['errors']} | "
              f"{r['startup_s_all']:.1f} | {r['rss_mib_per_replica_after']:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
