"""The real app in headless Chromium: the customer chat, the agent console, feedback and
redaction, checked in the page and in the SQLite database behind it."""

from __future__ import annotations

import os
import re
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from app.redact import CARD_REQUEST

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CARD = "4111 1111 1111 1111"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


def _shot(page: Any, name: str) -> None:
    """Screenshots for a person to look at, when PRIVACY_ASSISTANT_SCREENSHOTS names a folder."""
    if folder := os.environ.get("PRIVACY_ASSISTANT_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def _ask_customer(page: Any, text: str) -> Any:
    """Send a chat message; the new reply bubble once it is there."""
    replies = page.locator("#pa-chat .pa-reply")
    before = replies.count()
    page.locator("#pa-question textarea").fill(text)
    page.locator("#pa-send").click()
    page.wait_for_function(
        f"document.querySelectorAll('#pa-chat .pa-reply').length > {before}", timeout=90_000
    )
    return replies.nth(before)


def _log_in(page: Any, server: Any, password: str = "") -> None:
    page.goto(server.url + "/agent/")
    page.locator("input[type=text]").fill(server.user)
    page.locator("input[type=password]").fill(password or server.password)
    page.get_by_role("button", name="Login").click()


def test_customer_chat_answers_with_an_expandable_citation(server: Any, page: Any, contacted: set[str]) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "How long do you keep my data?")
    assert "ten years" in reply.inner_text()
    assert "score" not in reply.inner_text().lower()
    quote = reply.locator("details.pa-citation blockquote mark").first
    assert not quote.is_visible()
    reply.locator("details.pa-citation summary").first.click()
    quote.wait_for(state="visible")
    assert "ten years" in quote.inner_text()
    summary = reply.locator("details.pa-citation summary").first.inner_text()
    assert "Cartier Privacy Policy" in summary and "September 2024" in summary
    _shot(page, "customer")

    follow = _ask_customer(page, "and for China?")
    assert "How long do you keep my data (China)?" in follow.inner_text()
    assert "China" in follow.locator("details.pa-citation summary").first.inner_text()
    assert contacted <= {f"127.0.0.1:{server.url.rsplit(':', 1)[1]}"}, contacted  # nothing fetched from elsewhere


def test_customer_chat_in_chinese(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "你们会保存我的个人信息多久？")
    text = reply.inner_text()
    assert re.search(r"[\u4e00-\u9fff]{4}", text) and "Sources" not in text
    if reply.locator("details.pa-citation").count():
        assert "来源" in text


def test_customer_card_number_is_redacted_and_warned_about(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, f"My card {CARD} was charged, do you keep card numbers?")
    assert "please don't share card numbers" in reply.inner_text()
    chat = page.locator("#pa-chat").inner_text()
    assert "4111" not in chat and "[card number]" in chat
    _shot(page, "customer-card")
    # the customer rates the answer: stored as feedback, redacted
    page.locator("#pa-chat").get_by_role("button", name="Like").last.click()
    page.wait_for_timeout(1500)
    logged = _rows(server.feedback_db, "SELECT question FROM messages WHERE view = 'customer'")
    assert any("[card number]" in q for (q,) in logged)
    liked = _rows(server.feedback_db, "SELECT question, rating FROM feedback WHERE view = 'customer'")
    assert ("My card [card number] was charged, do you keep card numbers?", 1) in liked
    assert b"4111" not in server.feedback_db.read_bytes()
    # one vote per answer per session: more clicks add no rows
    for name in ("Dislike", "Like", "Dislike"):
        page.locator("#pa-chat").get_by_role("button", name=name).last.click()
        page.wait_for_timeout(400)
    page.wait_for_timeout(1000)
    again = _rows(server.feedback_db, "SELECT question FROM feedback WHERE view = 'customer'")
    assert [q for (q,) in again].count("My card [card number] was charged, do you keep card numbers?") == 1


def test_customer_input_errors_are_polite(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "x" * 2500)
    assert "too long" in reply.inner_text()
    reply = _ask_customer(page, "<script>alert(1)</script> how long do you keep data?")
    assert "<script>alert(1)</script>" in page.locator("#pa-chat .pa-user").last.inner_text()  # shown as text


def test_agent_console_needs_the_configured_login(server: Any, page: Any) -> None:
    _log_in(page, server, password="wrong")
    page.get_by_text("Incorrect Credentials").wait_for()
    assert page.locator("#pa-agent-question").count() == 0


def test_agent_console_answers_cites_and_takes_feedback(server: Any, page: Any) -> None:
    _log_in(page, server)
    page.locator("#pa-agent-question textarea").fill("How long does Cartier keep personal information?")
    page.locator("#pa-agent-ask").click()
    mark = page.locator("#pa-sources .pa-source .pa-clause mark").first
    mark.wait_for()
    assert page.locator("#pa-agent-answer a.pa-ref").count() >= 1  # [n] markers
    assert "ten years" in page.locator("#pa-sources").inner_text()
    assert page.locator("#pa-sources .pa-section").first.inner_text().startswith("§")

    # open in document: the whole policy, the clause in view, the quote highlighted
    page.locator("#pa-open label").first.click()
    target = page.locator("#pa-document .pa-target mark")
    target.wait_for()
    assert target.is_visible() and target.inner_text() == mark.inner_text()

    # the reply for e-mail: a letter in plain sentences, then the policy it quotes
    email = page.locator("#pa-email textarea").input_value()
    assert email.startswith("Dear client,") and "Quoted from:" in email and "[1]" not in email

    # retrieval details on demand
    page.locator("#pa-details").click()
    page.locator("#pa-retrieval").get_by_text("Cartier Privacy Policy").first.wait_for()
    _shot(page, "agent")

    page.locator("#pa-comment textarea").fill(f"good, but the customer sent {CARD}")
    page.locator("#pa-up").click()
    page.locator("#pa-feedback-status").get_by_text("saved").wait_for()
    rows = _rows(server.feedback_db, "SELECT view, question, rating, comment, clause_ids FROM feedback")
    agent_rows = [r for r in rows if r[0] == "agent"]
    assert agent_rows and agent_rows[-1][1:4] == (
        "How long does Cartier keep personal information?", 1, "good, but the customer sent [card number]"
    )
    assert "cartier" in agent_rows[-1][4]
    assert b"4111" not in server.feedback_db.read_bytes()

    # the review tab lists it, and exports it as CSV
    page.get_by_role("tab", name="Feedback").click()
    page.wait_for_function("document.querySelector('#pa-feedback-table').innerText.includes('[card number]')")
    with page.expect_download() as download:
        page.locator("#pa-export").click()
    assert download.value.suggested_filename == "feedback.csv"
    exported = Path(download.value.path()).read_text(encoding="utf-8")
    assert "good, but the customer sent [card number]" in exported and "4111" not in exported
    # the same URL without the agent's session: refused, and nothing left in Gradio's file cache
    try:
        urllib.request.urlopen(server.url + "/agent/export/feedback.csv")
        raise AssertionError("the export answered without a login")
    except urllib.error.HTTPError as exc:
        assert exc.code == 401


def test_agent_compares_two_versions(server: Any, page: Any) -> None:
    _log_in(page, server)
    page.get_by_role("tab", name="Compare versions").click()
    page.get_by_role("button", name="Cartier vs Harry Winston").click()  # sets both versions and compares
    page.locator("#pa-cmp-right").get_by_text("Harry Winston").first.wait_for()
    assert "Harry Winston" in page.locator("#pa-cmp-right").inner_text()
    assert "Cartier" in page.locator("#pa-cmp-left").inner_text()
    _shot(page, "agent-compare")


def test_api_from_gradio_client(server: Any) -> None:
    from gradio_client import Client

    public = Client(server.url + "/", verbose=False).predict("How long do you keep my data?", "", api_name="/ask")
    assert "ten years" in public["answer"] and public["citations"]
    assert set(public["citations"][0]) == {"n", "policy", "section", "effective_date", "quote"}  # no internals
    carded = Client(server.url + "/", verbose=False).predict(
        f"I typed my card {CARD} by mistake, please delete it", "", api_name="/ask"
    )
    assert carded["redacted"] == ["card"] and "4111" not in str(carded)
    assert not CARD_REQUEST.search(carded["answer"])  # as in the chat: no sentence asking for card details
    agent = Client(server.url + "/agent/", auth=(server.user, server.password), verbose=False)
    full = agent.predict("How long do you keep my data?", "", api_name="/ask")
    assert full["citations"][0]["clause_id"] and len(full["retrieved"]) >= 10
    with pytest.raises(Exception, match="credentials"):
        Client(server.url + "/agent/", verbose=False)


def test_server_log_keeps_no_card_numbers_or_secrets(server: Any) -> None:
    """Runs last: by now a card number was typed, logins succeeded and failed (the server
    logs at INFO level, questions included)."""
    log = server.log.read_text(errors="replace")
    assert "[card number]" in log  # the typed message was logged, redacted
    assert "4111" not in log
    assert server.password not in log


def test_a_refused_long_message_is_not_kept_in_the_chat(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    secret = "4111 1111 1111 1111 " + "y" * 2500
    reply = _ask_customer(page, secret)
    assert "too long" in reply.inner_text()
    _ask_customer(page, "How long do you keep my data?")
    chat = page.locator("#pa-chat").inner_text()
    assert "yyyy" not in chat and "4111" not in chat  # neither shown again nor sent back each turn
    assert page.locator("#pa-chat .pa-reply").count() == 2
