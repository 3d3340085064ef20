"""The page around the reply, as a person sees it on a 1280×800 desktop and a 390×844 phone:
the question box, its examples and Send on the first screen, the policy list that closes,
the chat's own buttons off the text, an opened source in view, clarifying choices as buttons,
the agent's e-mail draft as it is copied, and axe-core on every page at both sizes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_answers_ui import _axe_violations
from tests.e2e.test_browser import _ask_customer, _log_in, _shot

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SIZES = {"desktop": DESKTOP, "phone": PHONE}
LISTBOX = "ul[role=listbox]"


def _context(browser: Any, size: str, **kw: Any) -> Any:
    mobile = size == "phone"
    return browser.new_context(viewport=SIZES[size], is_mobile=mobile, has_touch=mobile, **kw)


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    context = _context(browser, "desktop")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = _context(browser, "phone")
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def _in_viewport(page: Any, selector: str, size: dict[str, int]) -> dict[str, float]:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (selector, box)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (selector, box)
    return box


def test_desktop_first_screen_has_the_question_box_and_its_examples(server: Any, desktop: Any) -> None:
    desktop.goto(server.url + "/")
    for when in ("empty", "answered"):
        _in_viewport(desktop, "#pa-question textarea", DESKTOP)
        _in_viewport(desktop, "#pa-send", DESKTOP)
        _in_viewport(desktop, "#pa-examples", DESKTOP)
        assert desktop.evaluate("window.scrollY") == 0, when
        if when == "empty":
            _shot(desktop, "desktop-empty")
            desktop.locator("#pa-examples").get_by_text("How long do you keep my data?").click()  # usable as seen
            desktop.wait_for_function(
                "document.querySelector('#pa-question textarea').value === 'How long do you keep my data?'"
            )
            _ask_customer(desktop, "How long do you keep my data?")


def test_phone_send_button_is_fully_visible(server: Any, phone: Any) -> None:
    phone.goto(server.url + "/")
    _in_viewport(phone, "#pa-send", PHONE)
    _ask_customer(phone, "How long do you keep my data?")
    phone.wait_for_timeout(300)
    _in_viewport(phone, "#pa-send", PHONE)
    phone.locator("#pa-question textarea").fill("A longer question that wraps over several lines of the box " * 3)
    _in_viewport(phone, "#pa-send", PHONE)  # the box grows to its four lines: Send stays on screen
    _in_viewport(phone, "#pa-question textarea", PHONE)


def test_policy_list_closes_after_tabbing_through_it_and_after_sending(server: Any, desktop: Any) -> None:
    desktop.goto(server.url + "/")
    desktop.wait_for_selector("html[data-pa-ready]", state="attached")  # the page script has run
    policy = desktop.locator("#pa-policy input")
    policy.focus()
    desktop.keyboard.press("ArrowDown")
    desktop.locator(LISTBOX).wait_for()
    desktop.keyboard.press("Tab")  # to the question box
    desktop.wait_for_timeout(400)
    assert desktop.locator(LISTBOX).count() == 0
    policy.focus()
    desktop.keyboard.press("ArrowDown")
    desktop.locator(LISTBOX).wait_for()
    desktop.keyboard.press("Tab")
    desktop.keyboard.type("How long do you keep my data?")
    desktop.keyboard.press("Enter")
    desktop.wait_for_function("document.querySelectorAll('#pa-chat .pa-reply').length >= 1", timeout=90_000)
    desktop.wait_for_timeout(400)
    assert desktop.locator(LISTBOX).count() == 0


# What of the chat's text an icon button covers, at the chat's present scroll: each reply's
# first line and every source title, clipped to the part in view.
_COVERED = """() => {
  const chat = document.querySelector('#pa-chat');
  const view = chat.querySelector('.bubble-wrap').getBoundingClientRect();
  const icons = [...chat.querySelectorAll('button[aria-label]')].filter(b => b.offsetParent !== null)
    .map(b => [b.getAttribute('aria-label'), b.getBoundingClientRect()]);
  const texts = [];
  for (const reply of chat.querySelectorAll('.pa-reply')) {
    const walker = document.createTreeWalker(reply, NodeFilter.SHOW_TEXT, n => n.textContent.trim() ? 1 : 3);
    const first = walker.nextNode();
    if (first) {
      const range = document.createRange();
      range.selectNodeContents(first);
      texts.push(['first line: ' + first.textContent.slice(0, 30), range.getClientRects()[0]]);
    }
    for (const s of reply.querySelectorAll('summary')) {
      texts.push(['source: ' + s.innerText.slice(0, 30), s.getBoundingClientRect()]);
    }
  }
  const out = [];
  for (const [what, r] of texts) {
    const top = Math.max(r.top, view.top), bottom = Math.min(r.bottom, view.bottom);
    if (bottom - top < 2) { continue; }
    for (const [label, b] of icons) {
      const apart = b.right <= r.left + 1 || r.right <= b.left + 1 || b.bottom <= top + 1 || bottom <= b.top + 1;
      if (!apart) { out.push(label + ' over ' + what); }
    }
  }
  return out;
}"""


def test_phone_chat_buttons_cover_no_source_title_or_first_line(server: Any, phone: Any) -> None:
    phone.goto(server.url + "/")
    _ask_customer(phone, "How long do you keep my data?")
    _ask_customer(phone, "Do you sell my personal information?")
    phone.wait_for_timeout(500)
    covered = set(phone.evaluate(_COVERED))  # as the new reply is shown
    height = phone.evaluate("document.querySelector('#pa-chat .bubble-wrap').scrollHeight")
    for top in range(0, height, 50):  # and at every place the customer may scroll to
        phone.evaluate(f"document.querySelector('#pa-chat .bubble-wrap').scrollTop = {top}")
        phone.wait_for_timeout(120)
        covered |= set(phone.evaluate(_COVERED))
    assert phone.locator("#pa-chat button[aria-label='Scroll down']").count() <= 1
    assert not covered, sorted(covered)
    _shot(phone, "phone-chat-buttons")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_opening_a_source_brings_its_sentence_into_view(server: Any, browser: Any, size: str) -> None:
    context = _context(browser, size)
    page = context.new_page()
    try:
        page.goto(server.url + "/")
        reply = _ask_customer(page, "How long do you keep my data?")
        summary = reply.locator("details.pa-citation summary").last
        summary.evaluate("s => s.scrollIntoView({block: 'end'})")  # the source's title at the chat's lower edge
        summary.click()
        page.wait_for_timeout(600)
        mark = reply.locator("details.pa-citation mark").last.bounding_box()
        view = page.locator("#pa-chat .bubble-wrap").bounding_box()
        assert mark and view
        bottom = mark["y"] + min(mark["height"], view["height"])  # a sentence taller than the chat: its start
        assert view["y"] - 1 <= mark["y"] and bottom <= view["y"] + view["height"] + 1, (mark, view)
    finally:
        context.close()


def test_clarifying_choices_are_buttons_that_ask_their_question(server: Any, desktop: Any) -> None:
    desktop.goto(server.url + "/")
    _ask_customer(desktop, "my data?")
    choices = desktop.locator("#pa-chat button.option")
    choices.first.wait_for(timeout=5_000)
    assert choices.count() >= 2
    _shot(desktop, "customer-clarify")
    choices.first.click()  # sent as if typed: the customer's message, then its answer
    desktop.wait_for_function("document.querySelectorAll('#pa-chat .pa-reply').length >= 2", timeout=90_000)
    asked = desktop.locator("#pa-chat .pa-user").last.inner_text()
    assert asked != "my data?" and asked.endswith("?")
    assert desktop.locator("#pa-chat .pa-reply").last.locator("details.pa-citation").count() >= 1


def test_agent_copies_a_sendable_draft_and_sees_the_warning_beside_it(server: Any, browser: Any) -> None:
    context = _context(browser, "desktop")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        _log_in(page, server)
        page.locator("#pa-agent-policy input").click()
        page.get_by_role("option", name=re.compile("2010")).click()
        page.locator("#pa-agent-question textarea").fill("How do you use cookies?")
        page.locator("#pa-agent-ask").click()
        page.locator("#pa-sources .pa-source").first.wait_for()
        page.locator("#pa-copy").click()
        page.locator("#pa-copied").get_by_text("Copied").wait_for()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied.startswith("Dear client,\n") and copied.rstrip().endswith("Client Relations")
        assert not re.search(r"\[\d+\]", copied) and not re.search(r"^(Source|According to)", copied, re.M)
        assert "Cartier US Online Privacy Policy (March 2010)" in copied
        assert "http://www.cartier.us/privacy-policy" in copied
        assert "WARNING" not in copied and "superseded" not in copied
        warning = page.locator("#pa-email-warning .pa-draft-warning")
        assert warning.is_visible() and "superseded" in warning.inner_text()
        _shot(page, "agent-draft-warning")
    finally:
        context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
@pytest.mark.parametrize("view", ["customer", "login", "agent"])
def test_no_serious_accessibility_violations(server: Any, browser: Any, view: str, size: str) -> None:
    context = _context(browser, size)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        if view == "customer":
            page.goto(server.url + "/")
            _ask_customer(page, "How long do you keep my data?")
        elif view == "login":
            page.goto(server.url + "/agent/")
            page.locator("input[type=password]").wait_for()
            assert page.title()  # axe's document-title; Gradio's login page had none
        else:
            _log_in(page, server)
            page.locator("#pa-agent-policy input").click()
            page.get_by_role("option", name=re.compile("2010")).click()  # the warning box is on the page too
            page.locator("#pa-agent-question textarea").fill("How do you use cookies?")
            page.locator("#pa-agent-ask").click()
            page.locator("#pa-sources .pa-source").first.wait_for()
        page.wait_for_timeout(300)
        assert _axe_violations(page) == []
    finally:
        context.close()
