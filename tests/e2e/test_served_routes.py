"""The page in Chromium calls only the routes the edge serves (app/web/edge.py): a route the page
needs but the allow-list lacks would break the chat for everyone, which no API test would see."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_page_calls_only_served_routes(server: Server, page: Any) -> None:
    """Chromium loads the chat, asks, rates and clicks an example: every request it makes is
    answered (none refused by the edge), and its Gradio calls are the ones on the list."""
    answered: list[tuple[int, str]] = []
    page.on("response", lambda r: answered.append((r.status, urlsplit(r.url).path)))
    page.goto(server.url + "/")
    page.wait_for_selector("html[data-pa-ready]", timeout=60_000)
    page.fill("#pa-question textarea", "How long do you keep my data?")
    page.click("#pa-send")
    page.locator("#pa-chat .pa-reply").first.wait_for(timeout=90_000)
    page.locator("#pa-chat").get_by_role("button", name="Like").last.click()
    page.locator("#pa-examples button").first.click()
    page.wait_for_timeout(1500)
    assert answered and all(status < 400 for status, _ in answered), [a for a in answered if a[0] >= 400]
    called = {path.rsplit("/", 1)[0] if "/heartbeat/" in path else path for _, path in answered}
    gradio = {path for path in called if "/gradio_api/" in path}
    served = {"/gradio_api/heartbeat", "/gradio_api/queue/join", "/gradio_api/queue/data", "/gradio_api/run/predict"}
    assert gradio <= served, gradio - served
