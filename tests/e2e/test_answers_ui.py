"""What a person sees in an answer, on a desktop and on a phone: the lead, whole references,
sources in their clause, one language per bubble, the phone layout, the agent's copy button,
Enter to ask, one score, "not addressed" comparisons, and axe-core's accessibility rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from app.redact import CARD_REQUEST
from tests.e2e.test_browser import CARD, _ask_customer, _log_in, _shot
from tests.helpers import serving

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def _axe_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not AXE.is_file():
        pytest.fail(f"{AXE} missing: `make axe` installs axe-core from the npm registry")
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
    )
    return list(found)


def _box(page: Any, selector: str) -> dict[str, float]:
    return page.locator(selector).first.bounding_box()


def test_phone_first_screen_shows_the_question_box_and_replies_fill_the_width(server: Any, phone: Any) -> None:
    phone.goto(server.url + "/")
    box = _box(phone, "#pa-question textarea")
    assert box["y"] + box["height"] <= PHONE["height"], box  # visible without scrolling
    reply = _ask_customer(phone, "How long do you keep my data?")
    phone.wait_for_timeout(500)
    chat = _box(phone, "#pa-chat")
    bubble = reply.bounding_box()
    assert bubble["width"] >= 0.8 * chat["width"], (bubble, chat)
    assert chat["y"] - 2 <= bubble["y"] <= chat["y"] + chat["height"] / 2, (bubble, chat)  # its start in view
    box = _box(phone, "#pa-question textarea")
    assert box["y"] + box["height"] <= PHONE["height"]  # still there after the answer
    _shot(phone, "phone-answer")
    assert _axe_violations(phone) == []


def test_phone_card_warning_is_visible_and_the_request_is_answered(server: Any, phone: Any) -> None:
    phone.goto(server.url + "/")
    _ask_customer(phone, "How long do you keep my data?")  # a long reply above, as in a real chat
    reply = _ask_customer(phone, f"I typed my card {CARD} here by mistake, please delete it")
    phone.wait_for_timeout(500)
    warning = reply.locator(".pa-warning")
    box = warning.bounding_box()
    assert warning.is_visible() and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    answer = reply.locator(".pa-answer").inner_text()
    assert re.search(r"delet|eras", answer, re.I), answer  # the request, not the card payment clause
    assert not CARD_REQUEST.search(answer), answer  # never asks for the card details just refused
    _shot(phone, "phone-card")


def test_customer_source_shows_its_clause_section_and_page(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "How long do you keep my data?")
    answer = reply.locator(".pa-answer").inner_text()
    reply.locator("details.pa-citation summary").first.click()
    body = reply.locator("details.pa-citation .pa-source-body").first
    body.wait_for(state="visible")
    clause, mark = body.locator(".pa-clause").inner_text(), body.locator("mark").inner_text()
    assert mark in answer and len(clause) > len(mark)  # the sentence inside its clause, not a repeat
    assert "Retaining your personal information" in body.locator(".pa-section").inner_text()
    assert body.locator(".pa-page a").get_attribute("href") == "https://www.cartier.com/"


def test_chinese_bubble_is_in_chinese_and_follow_ups_change_scope(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "你们会保存我的个人信息多久？")
    reply.locator("details.pa-citation summary").first.click()
    text = reply.inner_text()
    for english in ("Sources", "Answering", "Section", "September", "December", "According to"):
        assert english not in text, english
    assert "来源" in text and re.search(r"\d{4}年\d{1,2}月", text)
    us = _ask_customer(page, "那美国呢？")
    assert "美国" in us.inner_text() and us.locator("details.pa-citation").count() >= 1  # answered, not referred
    assert "China" not in us.locator("details.pa-citation summary").first.inner_text()


def test_english_follow_up_switches_from_china_to_the_us(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    _ask_customer(page, "How long does the China policy keep my data?")
    us = _ask_customer(page, "and for the US?")
    summaries = us.locator("details.pa-citation summary").all_inner_texts()
    assert summaries and not any("China" in s for s in summaries), summaries


def test_a_reference_to_contact_details_carries_them(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    reply = _ask_customer(page, "How do I exercise my privacy rights?")
    answer = reply.locator(".pa-answer").inner_text()
    if re.search(r"\bbelow\b|\babove\b|clicking here", answer):
        assert re.search(r"Contact details given in the policy: \S+@\S+|The link is on the policy's page: http", answer)
    assert "_lnk" not in page.locator("#pa-chat").inner_text()


@pytest.fixture(scope="module")
def lead_server(seed_index: Path, tiny_reader: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The server with a reader that shows every span it finds (threshold 0): the lead's path
    through the UI, whatever the model's quality."""
    work = tmp_path_factory.mktemp("lead-web")
    env = {
        "PRIVACY_ASSISTANT_READER": str(tiny_reader),
        "PRIVACY_ASSISTANT_LEAD_THRESHOLD": "0",
        "PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3"),
    }
    with serving(seed_index, work, env) as url:
        yield url


def test_a_lead_is_a_quote_of_its_cited_sentence_shown_before_it(lead_server: str, page: Any) -> None:
    page.goto(lead_server + "/")
    shown = 0
    for question in ("How long do you keep my data?", "How do you protect my information?", "Do you use cookies?"):
        reply = _ask_customer(page, question)
        for lead in reply.locator(".pa-lead").all():
            shown += 1
            span = re.sub(r"^In short:\s*|\s*\[\d+\]$", "", lead.inner_text()).strip()
            assert span and span in reply.locator(".pa-answer").inner_text(), span
            box, answer = lead.bounding_box(), reply.locator(".pa-answer").bounding_box()
            assert box["y"] < answer["y"]  # the lead comes first
    assert shown >= 1
    _shot(page, "customer-lead")


def test_agent_enter_asks_copy_copies_and_one_score(server: Any, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _log_in(page, server)
        page.locator("#pa-agent-question textarea").fill("How long does Cartier keep personal information?")
        page.locator("#pa-agent-question textarea").press("Enter")  # Enter asks
        page.locator("#pa-sources .pa-source").first.wait_for()
        email = page.locator("#pa-email textarea").input_value()
        quote = page.locator("#pa-sources mark").first.inner_text()
        assert email.count(quote.strip()[:60]) == 1  # the answer once, not quoted again below it
        assert "web.archive.org" not in email and "https://www.cartier.com/" in email
        page.locator("#pa-copy").click()
        page.locator("#pa-copied").get_by_text("Copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == email
        # one score: the source card's relevance is the retrieval table's for the same clause
        shown = page.locator("#pa-sources .pa-score").first
        assert "Relevance" in (shown.get_attribute("title") or "")
        card_score = re.search(r"relevance ([\d.]+)", shown.inner_text()).group(1)
        page.locator("#pa-details").click()
        page.locator("#pa-retrieval").get_by_text("Cartier Privacy Policy").first.wait_for()
        assert card_score in page.locator("#pa-retrieval").inner_text()
        assert _axe_violations(page) == []
    finally:
        context.close()


def test_compare_says_not_addressed_instead_of_an_unrelated_clause(server: Any, page: Any) -> None:
    _log_in(page, server)
    page.get_by_role("tab", name="Compare versions").click()
    page.locator("#pa-cmp-go").click()  # the default: retention, 2010 against 2024
    page.locator("#pa-cmp-left .pa-compare").wait_for()
    left, right = page.locator("#pa-cmp-left").inner_text(), page.locator("#pa-cmp-right").inner_text()
    assert "Not addressed in the Cartier US Online Privacy Policy" in left, left  # 2010 says nothing on it
    assert "ten years" in right and "Not addressed" not in right


def test_customer_view_has_no_serious_accessibility_violations(server: Any, page: Any) -> None:
    page.goto(server.url + "/")
    assert page.locator("#pa-question textarea").get_attribute("aria-label") or page.get_by_label(
        re.compile("Your question")
    ).count()
    _ask_customer(page, "Do you sell my personal information?")
    assert _axe_violations(page) == []
