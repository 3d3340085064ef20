"""Several replicas behind a real nginx, sharing state in a real PostgreSQL and one index
folder: feedback, lockouts and rate limits hold across replicas, a replica killed mid-load
loses no stored message, and a new index build reaches every replica without a half-built
one ever being served. Started by the tests, on loopback ports, and stopped after."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster import ROOT, Replica, missing, nginx, postgres, replicas

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
if missing():
    pytest.skip(f"not installed: {missing()} (make cluster-deps)", allow_module_level=True)

sys.path.insert(0, str(ROOT))
from bench.load import Outcome, http_caller, rest_caller  # noqa: E402

USER, PASSWORD = "agent-cluster", "cluster-Secret-7"
QUESTION = "How long do you keep my data?"


@dataclass
class Cluster:
    database_url: str
    replicas: list[Replica]
    url: str  # nginx
    index: Path


@pytest.fixture(scope="module")
def cluster(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    work = tmp_path_factory.mktemp("cluster")
    index = work / "index"
    shutil.copytree(seed_index, index, symlinks=True)  # its own copy: a test publishes a new build
    with postgres() as url:
        env = {
            "PRIVACY_ASSISTANT_DATABASE_URL": url,
            "PRIVACY_ASSISTANT_AGENT_USER": USER,
            "PRIVACY_ASSISTANT_AGENT_PASSWORD": PASSWORD,
            "PRIVACY_ASSISTANT_TRUSTED_PROXIES": "127.0.0.1",  # nginx, and the tests' forwarded clients
            "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "100000",
        }
        with replicas(2, index, work, env) as started, nginx([r.port for r in started]) as lb:
            yield Cluster(url, started, lb, index)


def _messages(url: str) -> list[dict[str, Any]]:
    from app.pgstate import PostgresFeedbackStore, connect

    pool = connect(url)
    try:
        return list(PostgresFeedbackStore(pool).messages())
    finally:
        pool.close()


def test_each_replica_reports_its_health_and_nginx_spreads_new_clients(cluster: Cluster) -> None:
    for replica in cluster.replicas:
        health = httpx.get(replica.url + "/healthz", timeout=10).json()
        assert health["status"] == "ok" and health["database"] == "ok" and health["index"]["clauses"] > 300
    served = set()
    for _ in range(20):  # no cookie yet: a fresh random key each time
        served.add(httpx.get(cluster.url + "/healthz", timeout=10).headers["x-upstream"])
    assert served == {f"127.0.0.1:{r.port}" for r in cluster.replicas}
    with httpx.Client(base_url=cluster.url, timeout=10) as browser:  # one browser: always the same replica
        first = browser.get("/healthz").headers["x-upstream"]
        assert {browser.get("/healthz").headers["x-upstream"] for _ in range(10)} == {first}
        # so an agent's sign-in, which lives in one replica's memory, holds for every request after it
        assert browser.post("/agent/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        assert all(browser.get("/agent/config").status_code == 200 for _ in range(10))


def test_failed_sign_ins_through_one_replica_lock_the_other(cluster: Cluster) -> None:
    a, b = cluster.replicas
    attacker = {"X-Forwarded-For": "10.66.0.1"}  # believed: the replicas trust loopback as their proxy
    for _ in range(5):
        r = httpx.post(a.url + "/agent/login", data={"username": USER, "password": "nope"}, headers=attacker)
        assert r.status_code == 400
    refused = httpx.post(b.url + "/agent/login", data={"username": USER, "password": PASSWORD}, headers=attacker)
    assert refused.status_code == 429 and "Try again" in refused.json()["detail"]
    elsewhere = {"X-Forwarded-For": "10.66.0.2"}  # the real agent, from another address: not locked
    assert httpx.post(b.url + "/agent/login", data={"username": USER, "password": PASSWORD},
                      headers=elsewhere).status_code == 200  # fmt: skip


def test_a_rate_limit_holds_across_replicas(cluster: Cluster) -> None:
    """Two pools (as two replicas have) take from one bucket in the shared database."""
    from app.pgstate import PostgresBuckets, connect

    pools = [connect(cluster.database_url) for _ in range(2)]
    try:
        first, second = (PostgresBuckets(p) for p in pools)
        now = time.time()
        taken = [bucket.take("10.77.0.1", now, 1 / 60, 3.0) for bucket in (first, second, first, second)]
        assert taken == [True, True, True, False]  # a burst of 3, shared
        assert second.take("10.77.0.1", now + 60, 1 / 60, 3.0)  # a minute later: one more token
        pruning = PostgresBuckets(pools[0], prune_every=1)
        assert pruning.take("10.77.0.2", now + 10_000, 1 / 60, 3.0)  # and idle, refilled buckets are dropped
        with pools[0].connection() as conn:
            kept = [r[0] for r in conn.execute("SELECT key FROM rate_buckets WHERE key LIKE '10.77.%'")]
        assert kept == ["10.77.0.2"]
    finally:
        for pool in pools:
            pool.close()


def test_feedback_given_through_one_replica_is_listed_in_the_other_console(cluster: Cluster, page: Any) -> None:
    served: list[str] = []
    page.on("response", lambda r: served.append(r.headers.get("x-upstream", "")) if r.url.endswith("/") else None)
    page.goto(cluster.url + "/")
    question = "Do you sell my personal information to advertisers?"
    page.locator("#pa-question textarea").fill(question)
    page.locator("#pa-send").click()
    page.locator("#pa-chat .pa-reply").first.wait_for(timeout=90_000)
    page.locator("#pa-chat").get_by_role("button", name="Like").last.click()
    page.wait_for_timeout(1500)
    customer_replica = next(s for s in served if s)
    other = next(r for r in cluster.replicas if f"127.0.0.1:{r.port}" != customer_replica)
    page.goto(other.url + "/agent/")
    page.locator("input[type=text]").fill(USER)
    page.locator("input[type=password]").fill(PASSWORD)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Feedback").click()
    page.wait_for_function(
        f"document.querySelector('#pa-feedback-table').innerText.includes({question!r})", timeout=30_000
    )


@dataclass
class LoadRun:
    """What a load run saw: each request's start time and whether it got an answer."""

    ok: list[float] = field(default_factory=list)
    rest_ok: list[float] = field(default_factory=list)  # those of them answered through the REST API
    failed: list[tuple[float, str]] = field(default_factory=list)
    builds: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _load(url: str, seconds: float, clients: int, run: LoadRun, health: bool = False, rest: bool = False) -> None:
    """``clients`` threads asking through nginx (each with its own cookie, so its own replica);
    with ``rest``, every other one asks the REST API (POST /v1/answers) instead of Gradio's."""
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        through_rest = rest and n % 2 == 1
        call, close = (rest_caller if through_rest else http_caller)(url, 60)
        probe = httpx.Client(base_url=url, timeout=10)
        try:
            while time.monotonic() < stop:
                started = time.monotonic()
                try:
                    result = call(QUESTION)
                    assert result["citations"], result
                    with run.lock:
                        run.ok.append(started)
                        if through_rest:
                            run.rest_ok.append(started)
                    if health:
                        build = probe.get("/healthz").json()["index"]["build"]
                        with run.lock:
                            run.builds.add(build)
                except (Outcome, httpx.HTTPError, AssertionError, KeyError) as exc:
                    with run.lock:
                        run.failed.append((started, f"{type(exc).__name__}: {exc}"[:200]))
                    time.sleep(0.2)
        finally:
            close()
            probe.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_a_new_build_published_during_load_reaches_every_replica(cluster: Cluster) -> None:
    from app.embedding import SentenceTransformerEmbedder
    from app.index import build_index, index_version

    documents = cluster.index.parent / "documents"
    shutil.copytree(ROOT / "documents", documents)
    (documents / "cartier-privacy-policy-2024.txt").write_text(
        (ROOT / "documents" / "cartier-privacy-policy-2024.txt").read_text(encoding="utf-8")
        + "\n\nA sentence added to test publishing a new build.\n",
        encoding="utf-8",
    )
    old = Path(index_version(cluster.index)).name
    run = LoadRun()
    loader = threading.Thread(target=_load, args=(cluster.url, 25.0, 4, run, True))
    loader.start()
    time.sleep(5)
    summary = build_index(documents, cluster.index, SentenceTransformerEmbedder())  # published once
    new = Path(summary.path).resolve().name
    loader.join()
    print(f"answered {len(run.ok)}, failed {len(run.failed)}, builds served {sorted(run.builds)}")
    assert new != old and not summary.up_to_date
    assert not run.failed, run.failed[:5]
    assert run.builds <= {old, new} and new in run.builds  # never a half-built or unknown build
    for replica in cluster.replicas:
        health = httpx.get(replica.url + "/healthz", timeout=10).json()
        assert health["index"]["build"] == new


def test_migrations_run_once_when_replicas_start_together(cluster: Cluster) -> None:
    from app.pgstate import connect, migrate, migrations

    pools = [connect(cluster.database_url) for _ in range(2)]  # each migrates on connect, as a replica does
    try:
        assert migrate(pools[0]) == [] and migrate(pools[1]) == []
        with pools[0].connection() as conn:
            versions = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert versions == [v for v, _, _ in migrations()]
    finally:
        for pool in pools:
            pool.close()


def test_a_replica_killed_during_load_loses_no_stored_message(cluster: Cluster) -> None:
    before = len(_messages(cluster.database_url))
    run = LoadRun()
    loader = threading.Thread(target=_load, args=(cluster.url, 30.0, 6, run), kwargs={"rest": True})
    started = time.monotonic()
    loader.start()
    time.sleep(10)
    victim = cluster.replicas[0]
    victim.kill()  # SIGKILL: no clean-up of any kind
    killed_at = time.monotonic()
    loader.join()
    stored = len(_messages(cluster.database_url)) - before
    print(f"answered {len(run.ok)} ({len(run.rest_ok)} through REST), failed {len(run.failed)} (all started before "
          f"the kill + 1 s), stored {stored}")
    answered_after = [t for t in run.ok if t > killed_at + 1]
    late_failures = [(t - started, why) for t, why in run.failed if t > killed_at + 1]
    assert len(run.ok) >= 20 and answered_after, (len(run.ok), run.failed[:5])
    assert [t for t in run.rest_ok if t > killed_at + 1], "the REST API answered after the kill too"
    assert not late_failures, late_failures[:5]  # only requests in flight at the kill may fail
    assert stored >= len(run.ok)  # every answer a client received is on record
    cluster.replicas.remove(victim)
