"""The customer question rate limit (pure, fast) and, marked slow, a short run of the
load test (bench/load.py) against the real server on loopback."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from app.errors import InputError
from app.web import DEFAULT_RATE_PER_MINUTE, RATE_LIMITED, RateLimiter, client_key, load_config
from app.web.guards import MemoryBuckets

ROOT = Path(__file__).resolve().parent.parent
LOAD = ROOT / "bench" / "load.py"


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_load", LOAD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_load"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- the token bucket -------------------------------------------------------------------------


def test_bucket_allows_a_burst_then_refuses() -> None:
    limiter = RateLimiter(per_minute=60, burst=5, clock=Clock())
    assert [limiter.allow("a") for _ in range(7)] == [True] * 5 + [False, False]


def test_bucket_refills_at_the_configured_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)  # one token a second
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")
    clock.now += 0.5
    assert not limiter.allow("a")  # half a token is not enough (and refusals take none)
    clock.now += 0.5
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 3600
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")  # never above the burst


def test_default_burst_is_one_minute_of_questions() -> None:
    limiter = RateLimiter(per_minute=10, clock=Clock())
    assert sum(limiter.allow("a") for _ in range(30)) == 10


def test_clients_have_their_own_buckets() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())
    assert limiter.allow("10.0.0.1") and not limiter.allow("10.0.0.1")
    assert limiter.allow("10.0.0.2")


def test_zero_rate_never_limits() -> None:
    limiter = RateLimiter(per_minute=0, clock=Clock())
    assert all(limiter.allow("a") for _ in range(1000))
    assert len(limiter.buckets) == 0


def test_idle_buckets_are_dropped_so_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=1, clock=clock, buckets=MemoryBuckets(max_clients=100))
    for n in range(1000):
        limiter.allow(f"client-{n}")
        clock.now += 1.0  # each bucket is full again a second later
    assert len(limiter.buckets) <= 101
    busy = RateLimiter(per_minute=60, burst=1, clock=clock, buckets=MemoryBuckets(max_clients=3))
    for n in range(5):
        busy.allow(f"c{n}")
    assert not busy.allow("c0")  # still-empty buckets are kept: pruning never resets a limit


def test_client_key_is_the_connecting_address() -> None:
    assert client_key(SimpleNamespace(client=SimpleNamespace(host="127.0.0.1"))) == "127.0.0.1"
    assert client_key(None) == "unknown"
    assert client_key(SimpleNamespace(client=None)) == "unknown"


def test_rate_limited_message_is_polite_in_both_languages() -> None:
    assert set(RATE_LIMITED) == {"en", "zh"}
    assert all(text and "error" not in text.lower() for text in RATE_LIMITED.values())


# -- configuration ----------------------------------------------------------------------------


def test_rate_comes_from_the_environment_then_the_config_file(tmp_path: Path) -> None:
    assert load_config({}).rate_per_minute == DEFAULT_RATE_PER_MINUTE == 60
    assert load_config({"PRIVACY_ASSISTANT_RATE_PER_MINUTE": "600"}).rate_per_minute == 600
    path = tmp_path / "web.toml"
    path.write_text("[limits]\nrate_per_minute = 12\n")
    assert load_config({"PRIVACY_ASSISTANT_CONFIG": str(path)}).rate_per_minute == 12
    both = {"PRIVACY_ASSISTANT_CONFIG": str(path), "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "0"}
    assert load_config(both).rate_per_minute == 0  # 0 turns the limit off


@pytest.mark.parametrize("bad", ["lots", "-1", "nan"])
def test_a_bad_rate_is_a_one_line_error(bad: str) -> None:
    with pytest.raises(InputError, match="PRIVACY_ASSISTANT_RATE_PER_MINUTE"):
        load_config({"PRIVACY_ASSISTANT_RATE_PER_MINUTE": bad})


# -- the load script's arithmetic -------------------------------------------------------------


def test_percentiles_and_report() -> None:
    bench = _bench()
    values = [float(v) for v in range(1, 101)]
    assert bench.percentile(values, 50) == 50 and bench.percentile(values, 95) == 95
    assert bench.percentile(values, 99) == 99 and bench.percentile([], 95) == 0.0
    assert bench.percentile([7.0], 99) == 7.0
    tally = bench.Tally(latencies=[0.010, 0.020, 0.030, 0.040])
    report = bench.make_report(tally, 2.0, 4, "http", 100 * 2**20, 101 * 2**20, (0.5, 0.4, 0.3))
    assert (report.requests, report.throughput_rps, report.latency_ms_p50) == (4, 2.0, 20.0)
    assert report.rss_mib_growth == 1.0
    assert "| throughput" in bench.format_table(report)
    assert len(bench.QUESTIONS) >= 40 and any("卡地亚" in q for q in bench.QUESTIONS)
    assert bench.HOST == "127.0.0.1"


# -- the real thing, on loopback --------------------------------------------------------------


@pytest.mark.slow
def test_load_smoke_has_no_errors(seed_index: Path) -> None:
    """4 clients for 5 s through the real HTTP API: every request answered, none throttled.
    Latency is reported, not asserted (it depends on the machine and what else runs)."""
    run = subprocess.run(
        [sys.executable, str(LOAD), "--clients", "4", "--seconds", "5", "--json", "--index", str(seed_index),
         "--warmup-seconds", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    report: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["errors"] == 0 and report["throttled"] == 0, report
    assert report["requests"] > 0 and report["clients"] == report["active_clients"] == 4
    assert report["rss_mib_before"] > 0 and report["rss_mib_after"] > 0


@pytest.mark.slow
def test_a_throttled_client_gets_a_polite_answer_not_an_error(seed_index: Path) -> None:
    bench = _bench()
    server = bench.Server(seed_index, 0, rate_per_minute="3")
    try:
        server.wait_ready()
        call, close = bench.http_caller(server.url, 60.0)
        try:
            answers = [call(q) for q in ("How long do you keep my data?",) * 4 + ("你们如何保护我的个人信息？",)]
        finally:
            close()
    finally:
        server.stop()
    assert [bool(a.get("rate_limited")) for a in answers] == [False, False, False, True, True]
    assert answers[3]["answer"] == RATE_LIMITED["en"] and answers[4]["answer"] == RATE_LIMITED["zh"]
    assert answers[3]["citations"] == [] and answers[3]["abstained"] is True
