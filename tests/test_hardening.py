"""A hostile public: the login from many clients, forwarded-for headers, one-request stalls,
framing, and input that breaks tokenizers. Unit tests first, then a real server on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.text import clean_input, encodable
from app.web import MAX_USER_CHARS, Credentials, LoginGuard, load_config
from app.web.guards import MemoryFailureLog
from tests.helpers import Clock, login_attempt, serving

ROOT = Path(__file__).resolve().parents[1]
USER, PASSWORD = "agent-h", "h-Secret-42"


def test_failures_from_one_client_never_lock_out_another() -> None:
    clock = Clock()
    guard = LoginGuard(Credentials(USER, PASSWORD), max_failures=5, window_s=300, clock=clock)
    for _ in range(5):
        assert login_attempt(guard, "10.0.0.66", USER, "wrong") == (False, 0.0)
    ok, locked_for = login_attempt(guard, "10.0.0.66", USER, PASSWORD)
    assert not ok and locked_for == pytest.approx(300.0)  # the attacker's client is locked, even when right
    assert login_attempt(guard, "10.0.0.7", USER, PASSWORD) == (True, 0.0)  # the real agent signs in
    clock.now += 120
    assert login_attempt(guard, "10.0.0.66", USER, PASSWORD)[1] == pytest.approx(180.0)  # how long is left
    clock.now += 181
    assert login_attempt(guard, "10.0.0.66", USER, PASSWORD) == (True, 0.0)  # the lock expires


def test_failed_logins_with_distinct_huge_names_keep_memory_bounded() -> None:
    failures = MemoryFailureLog(max_entries=1_000)
    guard = LoginGuard(Credentials(USER, PASSWORD), failures=failures)
    for i in range(5_000):
        login_attempt(guard, f"10.1.{i // 250}.{i % 250}", f"{i}-" + "x" * 300_000, "p")
    assert len(failures) <= 1_000
    assert all(len(user) <= MAX_USER_CHARS for _, user in failures._failures)
    assert login_attempt(guard, "10.9.9.9", USER + "x" * 300, PASSWORD)[0] is False  # an over-long name never matches


def test_clean_input_drops_lone_surrogates_and_controls() -> None:
    assert clean_input("How long \ud800 do you keep my data?\x00") == "How long  do you keep my data? "
    assert clean_input("argv bytes \udcff here") == "argv bytes  here"
    assert clean_input("ﬁ e\u0301") == "ﬁ é"  # NFC, not NFKC: the text is kept as typed
    assert encodable("a\udfffb") == "ab"


def test_trusted_proxies_default_to_none_and_are_validated(tmp_path) -> None:
    assert load_config({}).trusted_proxies == ()
    assert load_config({"PRIVACY_ASSISTANT_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16"}).trusted_proxies == (
        "10.0.0.1",
        "10.1.0.0/16",
    )
    from app.errors import InputError

    with pytest.raises(InputError, match="PRIVACY_ASSISTANT_TRUSTED_PROXIES"):
        load_config({"PRIVACY_ASSISTANT_TRUSTED_PROXIES": "not-an-ip"})


@pytest.mark.slow
def test_a_lone_surrogate_is_answered_without_a_retry_or_traceback(seed_index: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "--index", str(seed_index), "ask", b"How long \xff do you keep my data?"],
        cwd=ROOT, env=env, capture_output=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in proc.stderr and b"Embedding attempt failed" not in proc.stderr
    assert time.monotonic() - started < 60


# -- a real server on loopback ------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("hostile")
    env = {
        "PRIVACY_ASSISTANT_AGENT_USER": USER,
        "PRIVACY_ASSISTANT_AGENT_PASSWORD": PASSWORD,
        "PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3"),
        "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "3",
    }
    with serving(seed_index, work, env) as url:
        yield url


def _client(local: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=60)


@pytest.mark.slow
def test_locked_login_says_so_and_spares_other_clients(hostile_server: str) -> None:
    login = hostile_server + "/agent/login"
    with _client("127.0.0.1") as attacker:
        for _ in range(5):
            assert attacker.post(login, data={"username": USER, "password": "nope"}).status_code == 400
        refused = attacker.post(login, data={"username": USER, "password": PASSWORD})
        assert refused.status_code == 429
        assert "Try again in 5 minutes" in refused.json()["detail"] and USER not in refused.text
        unknown = attacker.post(login, data={"username": "nobody", "password": "x"})
        assert unknown.status_code == 400  # another name: not locked, and nothing says whether it exists
    with _client("127.0.0.2") as agent:  # another client on loopback: the real agent
        assert agent.post(login, data={"username": USER, "password": PASSWORD}).status_code == 200


@pytest.mark.slow
def test_the_agent_console_cannot_be_framed(hostile_server: str) -> None:
    with _client() as client:
        page = client.get(hostile_server + "/agent/")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "pa-login-locked" in page.text  # the login page shows a lock message


@pytest.mark.slow
def test_a_huge_question_is_refused_before_any_work(hostile_server: str) -> None:
    from gradio_client import Client

    client = Client(hostile_server + "/", verbose=False)
    for _ in range(3):  # 20,000 characters: within the body limit, refused by the app
        with pytest.raises(Exception, match="character limit"):
            client.predict("4111 1111 1111 1111 " * 1_000, "", api_name="/ask")
    with pytest.raises(Exception, match="413"):  # a megabyte: refused by the edge before it is read
        client.predict("4111 1111 1111 1111 " * 50_000, "", api_name="/ask")
    # refused before the rate limit too (3 a minute here): the next real question is answered
    answer = client.predict("How long do you keep my data?", "", api_name="/ask")
    assert not answer.get("rate_limited") and answer["citations"], answer


@pytest.mark.slow
def test_forwarded_for_headers_do_not_pick_the_rate_limit_bucket(hostile_server: str) -> None:
    from gradio_client import Client

    answers = []
    for i in range(5):
        client = Client(hostile_server + "/", headers={"X-Forwarded-For": f"203.0.113.{i}"}, verbose=False)
        answers.append(client.predict("How long do you keep my data?", "", api_name="/ask"))
    limited = [a for a in answers if a.get("rate_limited")]
    assert len(limited) >= 2, answers  # the limit is 3 a minute for 127.0.0.1, whatever the header says


@pytest.mark.slow
def test_uploads_are_refused_everywhere(hostile_server: str) -> None:
    with _client() as client:
        for prefix in ("", "/agent"):
            response = client.post(
                hostile_server + prefix + "/gradio_api/upload", files={"files": ("x.bin", b"\0" * 100_000)}
            )
            assert response.status_code == 403, response.text


@pytest.mark.slow
def test_the_feedback_export_needs_the_agent_login(hostile_server: str) -> None:
    with _client("127.0.0.3") as client:
        assert client.get(hostile_server + "/agent/export/feedback.csv").status_code == 401
        assert client.post(hostile_server + "/agent/login", data={"username": USER, "password": PASSWORD}).is_success
        export = client.get(hostile_server + "/agent/export/feedback.csv")
    assert export.status_code == 200 and export.text.startswith("id,created_at")
    assert export.headers["cache-control"] == "no-store"


@pytest.mark.slow
def test_the_agent_cancel_route_needs_the_login(hostile_server: str) -> None:
    body = {"session_hash": "abc", "fn_index": 0, "event_id": "e1"}
    with _client("127.0.0.4") as client:
        assert client.post(hostile_server + "/agent/gradio_api/cancel", json=body).status_code == 401
        assert client.post(hostile_server + "/agent/login", data={"username": USER, "password": PASSWORD}).is_success
        assert client.post(hostile_server + "/agent/gradio_api/cancel", json=body).status_code != 401
