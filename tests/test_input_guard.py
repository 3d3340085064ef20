"""Bounded, validated and redacted user fields; quiet logs; a login that slows a guesser spread
over many addresses; logout by POST with a CSRF token; bidi controls shown inert to agents.
Unit tests with fakes and a fake clock first, then a real server on loopback."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.answer import Answer
from app.catalog import Catalog
from app.errors import InputError
from app.feedback import MAX_COMMENT_CHARS, FeedbackStore, inert
from app.records import DocumentMeta
from app.redact import Redaction, redact
from app.stages import Inquiry
from app.web import Credentials, LoginGuard, RateLimiter
from app.web.guards import LogLimiter, NameThrottle
from app.web.service import MAX_DOC_ID_CHARS, CustomerService, bounded, checked_doc_id
from app.web.session import AGENT_COOKIE, CSRF_HEADER, CsrfTokens
from tests.helpers import Clock, login_attempt, serving

USER, PASSWORD = "agent-g", "g-Secret-77"
CARD, EMAIL = "4111 1111 1111 1111", "jo.secret@example.com"
BIDI = "\u202e\u200e\u200f\u2066\u2067\u2068\u2069\u061c"
CATALOG = Catalog({
    "acme-2024": DocumentMeta("acme-2024", "Acme Policy", "Acme", "Global", ("en",), "2024-09"),
    "acme-2010": DocumentMeta("acme-2010", "Acme US", "Acme", "US", ("en",), "2010-03", superseded_by="acme-2024"),
})  # fmt: skip


class FakeAssistant:
    """What `CustomerService` asks of an assistant: its limit, its catalogue, `answer`."""

    def __init__(self) -> None:
        self.config = SimpleNamespace(max_question_chars=2000)
        self.asked: list[str] = []

    def snapshot(self) -> Any:
        return SimpleNamespace(catalog=CATALOG)

    def answer(self, inquiry: Inquiry) -> Answer:
        question = inquiry.question
        self.asked.append(question)
        return Answer(id="q", question=question, answer="We keep it ten years.", abstained=False, citations=(),
                      retrieved=(), latency_ms=1.0)  # fmt: skip


class CountingRedactor:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> Redaction:
        self.calls += 1
        return redact(text)


@pytest.fixture
def service(tmp_path: Path) -> CustomerService:
    assistant: Any = FakeAssistant()
    return CustomerService(assistant, FeedbackStore(tmp_path / "fb.sqlite3"), redactor=CountingRedactor())


def _redactions(service: CustomerService) -> int:
    assert isinstance(service.redactor, CountingRedactor)
    return service.redactor.calls


# -- 1. every user field: length-checked, validated, redacted before a log or the database ------


def test_a_huge_or_secret_doc_id_gives_one_short_line_naming_the_field_and_limit(
    service: CustomerService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    huge = service.ask("How long do you keep my data?", doc_id=f"{CARD} {EMAIL} " * 130_000)  # ~5 MB
    assert huge.answer is None and huge.error == f"doc_id is over the {MAX_DOC_ID_CHARS}-character limit"
    secret = service.ask("How long do you keep my data?", doc_id=f"{CARD} {EMAIL}")
    assert secret.answer is None and secret.error == "doc_id is not the id of a current policy in the catalogue"
    old = service.ask("How long do you keep my data?", doc_id="acme-2010")  # superseded: not for customers
    assert old.answer is None and "current policy" in old.error
    logged = caplog.text
    assert "4111" not in logged and "example.com" not in logged and len(logged) < 2_000, logged[:300]
    assert not any(r.exc_info for r in caplog.records)
    assert _redactions(service) == 0  # refused before any redaction work
    assert service.ask("How long do you keep my data?", doc_id="acme-2024").answer is not None


@pytest.mark.parametrize(
    ("field", "value", "limit", "message"),
    [
        ("question", "x" * 2_001, 2_000, "question is over the 2,000-character limit"),
        ("comment", "y" * 5_000_000, 2_000, "comment is over the 2,000-character limit"),
        ("question", None, 10, ""),  # not text: nothing
    ],
)
def test_bounded_names_the_field_and_limit_never_the_value(field: str, value: object, limit: int, message: str) -> None:
    if message:
        with pytest.raises(InputError) as raised:
            bounded(field, value, limit)
        assert str(raised.value) == message
    else:
        assert bounded(field, value, limit) == ""


def test_doc_ids_must_come_from_the_catalogue() -> None:
    assert checked_doc_id("", CATALOG) == ""
    assert checked_doc_id("acme-2010", CATALOG) == "acme-2010"  # agents may pick a superseded version
    with pytest.raises(InputError, match="current policy"):
        checked_doc_id("acme-2010", CATALOG, current_only=True)
    for bad in (f"acme-2024 {EMAIL}", "../../etc/passwd", ["acme-2024"]):
        with pytest.raises(InputError) as raised:
            checked_doc_id(bad if isinstance(bad, str) else "x", CATALOG)
        assert EMAIL not in str(raised.value) and "passwd" not in str(raised.value)
    assert checked_doc_id(["acme-2024"], CATALOG) == ""  # not text: no filter


def test_the_store_refuses_an_over_long_comment_instead_of_cutting_a_secret_in_half(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    comment = "x" * (MAX_COMMENT_CHARS - 10) + CARD  # a cut at the limit would keep "4111 1111"
    with pytest.raises(InputError, match="comment is over the 2,000-character limit"):
        store.add(view="agent", question="q", answer="a", clause_ids=[], rating=1, comment=comment)
    assert store.rows() == []


# -- 2. redaction after the length limit and the rate limit --------------------------------------


def test_oversize_and_rate_limited_questions_cost_no_redaction(tmp_path: Path) -> None:
    assistant: Any = FakeAssistant()
    limiter = RateLimiter(per_minute=1, clock=Clock())
    counting = CountingRedactor()
    service = CustomerService(assistant, FeedbackStore(tmp_path / "fb.sqlite3"), limiter, redactor=counting)
    assert service.ask("1 " * 5_000, client="a").error == "question is over the 2,000-character limit"
    assert counting.calls == 0
    assert service.ask(f"My card {CARD}, how long do you keep it?", client="a").answer is not None
    assert counting.calls == 1 and assistant.asked == ["My card , how long do you keep it?"]
    for _ in range(50):
        assert service.ask(f"{CARD} " * 100, client="a").rate_limited
    assert counting.calls == 1  # fifty refusals, no redaction


# -- 3. a refused question logs one line, never a traceback; log lines limited per client -------


def test_a_refused_question_logs_one_line_without_a_traceback(
    service: CustomerService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.web.service")
    service.ask("x" * 3_000, client="10.0.0.1")
    assert len(caplog.records) == 1 and not caplog.records[0].exc_info
    assert "\n" not in caplog.records[0].getMessage() and len(caplog.records[0].getMessage()) < 200


def test_log_lines_from_one_client_are_limited_then_summed_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock()
    limiter = LogLimiter(per_minute=20, clock=clock)
    logger = logging.getLogger("test.flood")
    logged = sum(limiter.log(logger, logging.INFO, "203.0.113.9", "refused %d", i) for i in range(300))
    assert logged == 20
    assert limiter.log(logger, logging.INFO, "198.51.100.1", "another client")  # has its own budget
    clock.now += 61
    assert limiter.log(logger, logging.INFO, "198.51.100.1", "a new minute")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 23
    summary = [m for m in messages if m.startswith("suppressed")]
    assert len(summary) == 1 and summary[0].startswith("suppressed 280 log lines from client ")
    assert "203.0.113.9" not in "\n".join(messages)  # a client appears only as a hash
    assert limiter.log(logger, logging.INFO, "203.0.113.9", "after its minute")  # the flooder's budget is back


def test_the_log_limiter_remembers_a_bounded_number_of_clients() -> None:
    limiter = LogLimiter(per_minute=1, clock=Clock(), max_clients=100)
    logger = logging.getLogger("test.many")
    for i in range(5_000):
        limiter.log(logger, logging.DEBUG, f"10.{i // 250}.{i % 250}.1", "x")
    assert len(limiter._windows) <= 100


# -- 4. sign-in: growing delays per user name, whatever the address -------------------------------


def test_forty_addresses_cannot_make_two_hundred_guesses_quickly() -> None:
    clock = Clock()
    guard = LoginGuard(Credentials(USER, PASSWORD), clock=clock)
    checked = 0
    for guess in range(200):  # 40 addresses x 5 guesses, one every 10 ms: two seconds in all
        ok, locked_for = login_attempt(guard, f"198.51.100.{guess % 40}", USER, f"guess-{guess}")
        assert not ok
        checked += locked_for == 0
        clock.now += 0.01
    assert checked <= 11  # ten free failures, then 1 s between tries (a person mistyping is never slowed)
    # A guesser who always waits out the delay: one try a minute once the delay is at its cap.
    tries_at = []
    while len(tries_at) < 30:
        clock.now += max(guard.locked_for(USER), 0.0) + 0.001
        assert login_attempt(guard, f"203.0.113.{len(tries_at)}", USER, "another-guess") == (False, 0.0)
        tries_at.append(clock.now)
    assert tries_at[-1] - tries_at[0] > 20 * 60  # thirty guesses take over 20 minutes
    assert guard.locked_for(USER) <= NameThrottle().max_delay_s  # never locked out for long
    clock.now += NameThrottle().max_delay_s
    assert login_attempt(guard, "192.0.2.10", USER, PASSWORD) == (True, 0.0)  # the real agent, once the delay passed


def test_the_delay_grows_exponentially_and_is_capped() -> None:
    throttle = NameThrottle(free_failures=5, first_delay_s=1.0, max_delay_s=60.0)
    assert [throttle.delay(n) for n in range(4, 13)] == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert throttle.delay(throttle.keep) == 60.0
    assert throttle.wait([100.0] * 7, now=103.0) == 1.0 and throttle.wait([], now=0.0) == 0.0


def test_a_name_is_kept_as_a_short_keyed_hash(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    guard = LoginGuard(Credentials(USER, PASSWORD), clock=Clock())
    login_attempt(guard, "10.0.0.1", f"{CARD} {EMAIL}", "x")
    login_attempt(guard, "10.0.0.1", "n" * 5_000_000, "x")
    keys = [name for log_ in (guard.failures, guard.name_failures) for _, name in log_._failures]  # type: ignore[attr-defined]
    assert keys and all(len(k) <= 32 and "4111" not in k and "@" not in k for k in keys)
    assert "4111" not in caplog.text and EMAIL not in caplog.text


# -- 5. logout: POST with the session's CSRF token --------------------------------------------


def test_the_csrf_token_belongs_to_the_session_cookies() -> None:
    tokens = CsrfTokens(b"k" * 32)
    mine = {AGENT_COOKIE: "s1", "other": "z"}
    token = tokens.token_for(mine)
    assert len(token) == 64 and tokens.valid(mine, token)
    assert not tokens.valid({AGENT_COOKIE: "s2"}, token)  # another session
    assert not tokens.valid({}, "") and tokens.token_for({"other": "z"}) == ""  # no session, no token
    assert not CsrfTokens(b"j" * 32).valid(mine, token)  # another process's key


# -- 6. bidi and control characters inert for agents ---------------------------------------------


def test_bidi_and_control_characters_are_stored_escaped(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    typed = f"refund\u202e{CARD}\u202c please\x85 \x07 fdp.exe\u2066x\u2069 ok\nline two\tend"
    store.add(view="customer", question=typed, answer="a", clause_ids=[], rating=-1, comment=f"\u202e{EMAIL}{BIDI}")
    row = store.rows()[0]
    exported = store.export_csv() + store.export_jsonl()
    for shown in (row.question, row.comment, exported, json.loads(store.export_jsonl())["question"]):
        assert not any(ch in shown for ch in BIDI + "\x85\x07\u202c"), shown
    assert "[U+202E]" in row.question and "[U+2066]x[U+2069]" in row.question and "\nline two\tend" in row.question
    assert "4111" not in exported and EMAIL not in exported  # redacted first, then made inert
    cells = list(csv.reader(io.StringIO(store.export_csv())))[1]
    assert cells[7].startswith("[U+202E][e-mail]")


def test_inert_leaves_ordinary_text_of_any_script_alone() -> None:
    text = "你们会保存我的数据多久？ مرحبا שלום — café 👩\u200d💻\ttab\nnewline"
    assert inert(text) == text


# -- a real server on loopback ------------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded_server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    work = tmp_path_factory.mktemp("guarded")
    env = {
        "PRIVACY_ASSISTANT_AGENT_USER": USER,
        "PRIVACY_ASSISTANT_AGENT_PASSWORD": PASSWORD,
        "PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3"),
        "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "100",
    }
    with serving(seed_index, work, env, verbose=True) as url:
        yield url, work / "server.log"


def _client(local: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    import httpx

    return httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=60)


@pytest.mark.slow
def test_server_refuses_bad_doc_ids_in_one_line_and_logs_nothing_of_them(guarded_server: tuple[str, Path]) -> None:
    from gradio_client import Client

    url, log_file = guarded_server
    client = Client(url + "/", verbose=False)
    with pytest.raises(Exception, match=f"doc_id is over the {MAX_DOC_ID_CHARS}-character limit") as huge:
        client.predict("How long do you keep my data?", f"{CARD} {EMAIL} " * 40, api_name="/ask")
    assert len(str(huge.value)) < 300 and "4111" not in str(huge.value)
    with pytest.raises(Exception, match="not the id of a current policy") as secret:
        client.predict("How long do you keep my data?", f"{CARD} {EMAIL}", api_name="/ask")
    assert EMAIL not in str(secret.value)
    with pytest.raises(Exception, match="character limit"):
        client.predict(f"{CARD} {EMAIL} " * 60, "", api_name="/ask")  # just over 2,000
    time.sleep(0.5)
    logged = log_file.read_text(errors="replace")
    assert "customer question refused: doc_id" in logged  # the server does log, one line each
    assert "4111" not in logged and EMAIL not in logged and "Traceback" not in logged, logged[-3000:]


@pytest.mark.slow
def test_server_logout_needs_a_post_with_the_csrf_token(guarded_server: tuple[str, Path]) -> None:
    url, _ = guarded_server
    export = url + "/agent/export/feedback.csv"
    with _client("127.0.0.5") as agent:
        assert agent.post(url + "/agent/login", data={"username": USER, "password": PASSWORD}).is_success
        assert agent.get(url + "/agent/logout").status_code == 405  # a link on another site: no effect
        assert agent.get(export).status_code == 200
        assert agent.post(url + "/agent/logout").status_code == 403  # no token
        assert agent.post(url + "/agent/logout", headers={CSRF_HEADER: "0" * 64}).status_code == 403
        assert agent.get(export).status_code == 200  # still signed in
        token = agent.get(url + "/agent/csrf-token").json()["token"]
        assert len(token) == 64
        with _client("127.0.0.6") as other:  # another browser's token does not fit this session
            assert other.post(url + "/agent/login", data={"username": USER, "password": PASSWORD}).is_success
            assert other.post(url + "/agent/logout", headers={CSRF_HEADER: token}).status_code == 403
        done = agent.post(url + "/agent/logout", headers={CSRF_HEADER: token})
        assert done.status_code in (200, 302), done.text
        assert agent.get(export).status_code == 401  # signed out
        config = agent.get(url + "/agent/config")  # the login page's config: the console's is behind it
    with _client("127.0.0.7") as agent:
        assert agent.post(url + "/agent/login", data={"username": USER, "password": PASSWORD}).is_success
        config = agent.get(url + "/agent/config")
    assert config.status_code == 200 and "csrf-token" in config.text
    assert '"link": "/agent/logout"' not in config.text and '"link":"/agent/logout"' not in config.text


@pytest.mark.slow
def test_server_slows_a_guesser_spread_over_many_addresses(guarded_server: tuple[str, Path]) -> None:
    url, log_file = guarded_server
    login = url + "/agent/login"
    statuses = []
    for i in range(16):  # sixteen addresses, one wrong guess each, as fast as they come
        with _client(f"127.0.1.{i + 1}") as guesser:
            statuses.append(guesser.post(login, data={"username": USER, "password": f"guess-{i}"}).status_code)
    assert statuses.count(400) <= 12 and statuses.count(429) >= 4, statuses  # ten free, then delays
    with _client("127.0.2.1") as agent:  # the real agent, from an address that never failed
        started = time.monotonic()
        response = agent.post(login, data={"username": USER, "password": PASSWORD})
        while response.status_code == 429 and time.monotonic() - started < 90:
            time.sleep(float(response.headers["retry-after"]) + 0.1)
            response = agent.post(login, data={"username": USER, "password": PASSWORD})
        assert response.status_code == 200 and time.monotonic() - started < 70
    assert "guess-" not in log_file.read_text(errors="replace")


CORPUS = Path(__file__).parent / "data" / "redaction" / "corpus.jsonl"


def _digits(text: str) -> str:
    return "".join(str(int(c)) for c in text if c.isdigit())  # any script's digits as ASCII


@pytest.mark.slow
def test_server_stores_and_logs_no_secret_of_the_corpus_in_clear(guarded_server: tuple[str, Path]) -> None:
    """Every shape of the redaction corpus (cards with any separator, e-mails in any script,
    IBANs, phones), asked in the chat's API: neither the database nor the log keeps it."""
    import sqlite3

    from gradio_client import Client

    url, log_file = guarded_server
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    secrets = [r for r in rows if r["kind"] in ("card", "email", "id")][::2]  # every shape family, 30 asks
    client = Client(url + "/", verbose=False)
    for row in secrets:
        client.predict(row["text"], "", api_name="/ask")
    time.sleep(0.5)
    with sqlite3.connect(log_file.with_name("feedback.sqlite3")) as db:
        stored = [q for (q,) in db.execute("SELECT question FROM messages")]
    logged = log_file.read_text(errors="replace")
    assert len(stored) >= len(secrets)
    for row in secrets:
        secret = row["secret"]
        assert not any(secret in text for text in [*stored, logged]), row
        if row["kind"] != "email":
            assert not any(_digits(secret) in _digits(text) for text in stored), row
