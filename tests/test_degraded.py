"""A damaged build never takes the service down (issue 22, item 5): a build that fails
verification is never published nor served; while the live build is damaged, the last good
build answers (from memory, or from disk at start) and `/healthz` says "degraded", naming the
served build by its id only."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import pytest

from app.errors import IndexNotReady
from app.index import build_index, current_build, index_version
from app.index.store import build_id, swap_current
from app.snapshot import LiveIndex
from tests.conftest import copy_index
from tests.helpers import serving

QUESTION = "How long do you keep my personal information?"


def damage(build: Path) -> None:
    """Change one sentence of the build's clauses.jsonl, as the hostile pass did."""
    path = build / "clauses.jsonl"
    rows = path.read_text(encoding="utf-8").splitlines()
    first = json.loads(rows[0])
    first["text"] = first["text"].replace(first["text"][:12], "Tampered txt", 1)
    rows[0] = json.dumps(first, ensure_ascii=False)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def publish_copy(index: Path, stamp: str, damaged: bool, source: Path | None = None) -> Path:
    """Copy a build (default: the live one) to a new build folder, damaged or not, and make it
    current, as an ingest publishes."""
    target = index / "builds" / stamp
    shutil.copytree(source or current_build(index), target)
    if damaged:
        damage(target)
    swap_current(index, target)
    return target


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake_index(fake_embedder, docs_copy, tmp_path) -> Path:
    index = tmp_path / "index"
    build_index(docs_copy, index, fake_embedder)
    return index


# -- publishing ---------------------------------------------------------------------------------


def test_a_build_that_fails_verification_is_never_published(fake_embedder, fake_index, docs_copy, monkeypatch):
    import app.index.build as build_module

    live = current_build(fake_index)
    written = build_module.write_build

    def write_then_damage(*args, **kwargs):  # a disk that lost a write between write and swap
        folder = written(*args, **kwargs)
        damage(folder)
        return folder

    monkeypatch.setattr(build_module, "write_build", write_then_damage)
    (docs_copy / "acme-privacy-2025.txt").write_text("Acme keeps your data for two years.\n", encoding="utf-8")
    with pytest.raises(IndexNotReady, match="failed verification"):
        build_index(docs_copy, fake_index, fake_embedder)
    assert current_build(fake_index) == live
    assert sorted(p.name for p in (fake_index / "builds").iterdir()) == [live.name]


def test_a_build_id_holds_no_process_id(fake_index):
    name = current_build(fake_index).name
    assert re.fullmatch(r"\d{8}T\d{6}-\d{9}", name), name
    assert build_id(name) == name
    assert build_id("20261203T090923-967616942-14745") == "20261203T090923-967616942"  # older builds


# -- serving ------------------------------------------------------------------------------------


def test_a_damaged_new_build_leaves_the_one_in_memory_serving(fake_index):
    live = LiveIndex(fake_index)
    good = live.snapshot()
    assert live.health().status == "ok"
    publish_copy(fake_index, "29990101T000000-000000001", damaged=True)
    assert live.snapshot() is good
    health = live.health()
    assert (health.status, health.build) == ("degraded", build_id(good.index.path))
    fixed = publish_copy(fake_index, "29990101T000000-000000002", damaged=False, source=good.index.path)
    assert live.snapshot().index.path == fixed
    assert live.health().status == "ok"


def test_a_build_damaged_in_place_is_noticed_and_the_memory_copy_serves(fake_index):
    clock = Clock()
    live = LiveIndex(fake_index, recheck_s=2.0, clock=clock)
    good = live.snapshot()
    original = (current_build(fake_index) / "clauses.jsonl").read_bytes()
    damage(current_build(fake_index))
    assert live.health().status == "ok"  # files are looked at every 2 s, not on every request
    clock.now = 3.0
    assert live.snapshot() is good and live.health().status == "degraded"
    (current_build(fake_index) / "clauses.jsonl").write_bytes(original)  # repaired in place
    clock.now = 6.0
    assert live.snapshot() is good and live.health().status == "ok"


def test_a_process_started_on_a_damaged_build_serves_the_last_good_one_on_disk(fake_index):
    older = current_build(fake_index)
    publish_copy(fake_index, "29990101T000000-000000001", damaged=True)
    live = LiveIndex(fake_index)
    assert live.snapshot().index.path == older
    assert live.health().status == "degraded" and live.health().build == older.name


def test_with_no_good_build_at_all_the_error_says_so(fake_index, tmp_path):
    damage(current_build(fake_index))
    with pytest.raises(IndexNotReady, match="corrupted"):
        LiveIndex(fake_index).snapshot()
    with pytest.raises(IndexNotReady, match="no index found"):
        LiveIndex(tmp_path / "empty").snapshot()


# -- a real server on loopback ------------------------------------------------------------------


def _ask(url: str) -> dict[str, object]:
    from bench.load import http_caller

    call, close = http_caller(url, timeout_s=120)
    try:
        return call(QUESTION)  # raises Outcome on an error event ({"error": null})
    finally:
        close()


def _health(url: str) -> tuple[int, dict[str, object], str]:
    import httpx

    response = httpx.get(url + "/healthz", timeout=30, trust_env=False)
    return response.status_code, response.json(), response.text


def _assert_nothing_private(text: str, body: dict[str, object]) -> None:
    """No path, no error text, no process id (the seed build was stamped by this process)."""
    assert "/" not in text and "error" not in text, text
    assert re.fullmatch(r"\d{8}T\d{6}-\d{9}", str(body["index"]["build"])), text  # type: ignore[index]


@pytest.mark.slow
def test_a_real_server_keeps_answering_from_the_last_good_build(seed_index, tmp_path):
    index = copy_index(seed_index, tmp_path / "index")
    good = build_id(current_build(index))
    work = tmp_path / "work"
    work.mkdir()
    env = {"PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3")}
    with serving(index, work, env) as url:
        assert _ask(url)["citations"]
        code, body, _ = _health(url)
        assert (code, body["status"], body["index"]["build"]) == (200, "ok", good)  # type: ignore[index]
        # An ingest publishes a damaged build: the server's reload refuses it.
        publish_copy(index, "29990101T000000-000000001", damaged=True)
        assert _ask(url)["citations"]
        code, body, text = _health(url)
        assert (code, body["status"], body["index"]["build"]) == (200, "degraded", good)  # type: ignore[index]
        _assert_nothing_private(text, body)
        # The live build is then damaged in place too: noticed within seconds, still answered.
        damage(current_build(index))
        time.sleep(2.5)
        assert _ask(url)["citations"]
    # Restarted on the damaged live build: the newest good build on disk answers.
    assert index_version(index).endswith("29990101T000000-000000001")
    with serving(index, work, env) as url:
        answer = _ask(url)
        assert answer["citations"] and not answer.get("abstained"), answer
        code, body, text = _health(url)
        assert (code, body["status"], body["index"]["build"]) == (200, "degraded", good)  # type: ignore[index]
        _assert_nothing_private(text, body)
    log = (work / "server.log").read_text(errors="replace")
    assert "failed verification" in log and "Traceback" not in log
