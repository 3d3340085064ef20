"""Screenshots of the real app for the README: `make screenshots` (or `python docs/screenshots.py`).

Starts `privacy-assistant serve` on the built index (``index/``), drives it with headless
Chromium through Playwright, and writes PNGs into docs/img/: the customer chat on a desktop
(1280×800) and on a phone (390×844), and the agent console after a question. Nothing is staged: the
questions are typed and answered by the running app, so the images show what a person sees.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.helpers import serving  # noqa: E402  (the tests' own server starter)

USER, PASSWORD = "agent-screenshots", "screenshots-Only-7"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def _ask(page: object, question: str) -> None:
    page.fill("#pa-question textarea", question)  # type: ignore[attr-defined]
    page.keyboard.press("Enter")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "n => document.querySelectorAll('#pa-chat .pa-reply').length >= n", arg=_ask.count + 1
    )
    _ask.count += 1


_ask.count = 0  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "index")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--chromium", default=os.environ.get("PRIVACY_ASSISTANT_CHROMIUM") or shutil.which("chromium"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    env = {"PRIVACY_ASSISTANT_AGENT_USER": USER, "PRIVACY_ASSISTANT_AGENT_PASSWORD": PASSWORD}
    with tempfile.TemporaryDirectory() as work, sync_playwright() as p:
        env["PRIVACY_ASSISTANT_FEEDBACK_DB"] = str(Path(work) / "feedback.sqlite3")
        with serving(args.index, Path(work), env) as url:
            browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            sizes = (("customer-desktop", (1280, 800), False), ("customer-phone", (390, 844), True))
            for name, (width, height), mobile in sizes:
                ctx = browser.new_context(
                    viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile
                )
                page = ctx.new_page()
                page.set_default_timeout(60_000)
                page.goto(url + "/")
                page.wait_for_selector("#pa-question textarea")
                if mobile:
                    page.screenshot(path=str(args.out / f"{name}-empty.png"))  # the first screen
                _ask.count = 0  # type: ignore[attr-defined]
                _ask(page, "How long do you keep my data?")
                if not mobile:
                    page.locator("#pa-chat details.pa-citation summary").last.click()  # a source, opened
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.out / f"{name}.png"))
                _ask(page, "我的信息会传到国外吗?")
                page.wait_for_timeout(500)
                page.screenshot(path=str(args.out / f"{name}-zh.png"))
                ctx.close()
            ctx = browser.new_context(viewport={"width": 1280, "height": 800})
            page = ctx.new_page()
            page.set_default_timeout(60_000)
            page.goto(url + "/agent/")
            page.locator("input[type=text]").fill(USER)
            page.locator("input[type=password]").fill(PASSWORD)
            page.get_by_role("button", name="Login").click()
            page.locator("#pa-agent-question textarea").fill("How long do you keep my data?")
            page.click("#pa-agent-ask")
            page.wait_for_selector("#pa-agent-answer .pa-agent-answer")
            page.wait_for_timeout(500)
            page.screenshot(path=str(args.out / "agent-console.png"), full_page=True)
            ctx.close()
            browser.close()
    print(f"screenshots written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
