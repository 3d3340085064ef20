"""The Insights tab in headless Chromium, end to end: customers ask covered and uncovered
questions in the real chat; the agent signs in, opens Insights and finds the questions about a
topic no notice covers (watch repairs) in one group with the right count; corrects two answers
(one with the clause and sentence that answer it, one as not covered); then
`privacy-assistant insights --export-eval FILE` writes them as eval lines and
`privacy-assistant eval --dataset FILE` scores them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from app.evaluation.dataset import load_eval_set
from tests.e2e.conftest import Server, agent_server

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
REPAIRS = ("How do I get my watch repaired?", "Where can I send my watch for servicing?",
           "Who can fix the broken strap of my watch?")  # fmt: skip
COVERED = ("How long do you keep my data?", "Do you sell my personal information?")
OTHER = ("Do you accept bitcoin?",)


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: the counts below are of this test's exchanges only (the session's
    shared server also holds every other browser test's questions and ratings)."""
    with agent_server(seed_index, tmp_path_factory.mktemp("insights-web")) as found:
        yield found


def _wait_for_rating(db: Path, timeout_s: float = 30.0) -> None:
    """Until the thumbs down is stored (a click is sent, not awaited, by the page)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with closing(sqlite3.connect(db)) as con:
            if con.execute("SELECT count(*) FROM feedback WHERE rating < 0").fetchone()[0]:
                return
        time.sleep(0.2)
    raise AssertionError(f"no rating stored in {db} within {timeout_s:.0f} s")


def _ask_customer(page: Any, text: str) -> None:
    before = page.locator("#pa-chat .pa-reply").count()
    page.locator("#pa-question textarea").fill(text)
    page.locator("#pa-send").click()
    page.wait_for_function(f"document.querySelectorAll('#pa-chat .pa-reply').length > {before}", timeout=90_000)


def _choose(page: Any, elem_id: str, *texts: str) -> None:
    """Pick the first option of a Gradio dropdown that contains each of `texts`."""
    page.locator(f"#{elem_id} input").click()
    options = page.locator("ul[role=listbox] li")
    for text in texts:
        options = options.filter(has_text=text)
    options.first.click()


def _group_rows(page: Any) -> list[list[str]]:
    rows = page.locator("#pa-insights-groups [role=row].virtual-row")  # the grid's body rows
    return [[c.strip() for c in rows.nth(i).locator("[role=gridcell]").all_inner_texts()] for i in range(rows.count())]


def _cli(server: Any, index: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PRIVACY_ASSISTANT_FEEDBACK_DB": str(server.feedback_db)}
    for name in ("PRIVACY_ASSISTANT_CONFIG", "PRIVACY_ASSISTANT_DATABASE_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "app.cli", "--index", str(index), *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def test_insights_groups_uncovered_questions_and_takes_corrections(
    server: Any, browser: Any, seed_index: Path, tmp_path: Path
) -> None:
    customer = browser.new_context(viewport={"width": 1280, "height": 900})
    chat = customer.new_page()
    chat.set_default_timeout(60_000)
    chat.goto(server.url + "/")
    for question in (*REPAIRS, *COVERED, *OTHER):
        _ask_customer(chat, question)
        if question == COVERED[0]:  # this customer did not like the answer
            chat.locator("#pa-chat").get_by_role("button", name="Dislike").last.click()
            _wait_for_rating(server.feedback_db)
    customer.close()

    agent = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = agent.new_page()
    page.set_default_timeout(90_000)
    page.goto(server.url + "/agent/")
    page.locator("input[type=text]").fill(server.user)
    page.locator("input[type=password]").fill(server.password)
    page.get_by_role("button", name="Login").click()
    page.get_by_role("tab", name="Insights").click()
    page.wait_for_function("(document.querySelector('#pa-insights-groups') || {innerText: ''}).innerText"
                           ".includes('watch')")  # fmt: skip
    rows = _group_rows(page)
    repairs = [r for r in rows if "watch" in r[0] or "watch" in r[-1]]
    assert len(repairs) == 1, rows  # one group for the topic no notice covers
    name, count, _, referred, *_ = repairs[0]
    assert name in REPAIRS and (count, referred) == ("3", "3")
    assert not any("bitcoin" in r[0] for r in repairs) and any("bitcoin" in r[0] for r in rows)
    assert any(r[0] == COVERED[0] and r[4] == "1" for r in rows)  # the disliked answer, under "disliked"
    assert "data:image/png;base64," in page.locator("#pa-insights-plot").inner_html()
    assert page.locator("#pa-insights-downloads a[download='insights.json']").count() == 1

    # The disliked answer: the agent names the clause and sentence that answer it.
    _choose(page, "pa-fix-exchange", "disliked", COVERED[0])
    _choose(page, "pa-fix-policy", "Cartier Privacy Policy")
    page.wait_for_function("document.querySelectorAll('#pa-fix-clause input').length > 0")
    _choose(page, "pa-fix-clause", "★")
    _choose(page, "pa-fix-sentence")
    page.locator("#pa-fix-save").click()
    page.locator("#pa-fix-status").get_by_text("saved").wait_for()
    # A repair question: not covered by the notices.
    _choose(page, "pa-fix-exchange", "referred", REPAIRS[0])
    page.locator("#pa-fix-uncovered").click()
    page.locator("#pa-fix-status").get_by_text("not covered by the notices").wait_for()
    if folder := os.environ.get("PRIVACY_ASSISTANT_SCREENSHOTS"):
        page.get_by_role("tab", name="Insights").scroll_into_view_if_needed()
        page.screenshot(path=str(Path(folder) / "insights.png"), full_page=True)
    agent.close()

    target = tmp_path / "corrections.jsonl"
    done = _cli(server, seed_index, "insights", "--export-eval", str(target))
    assert done.returncode == 0, done.stderr
    items = {i.question: i for i in load_eval_set(target)}
    assert set(items) >= {COVERED[0], REPAIRS[0]}
    assert items[COVERED[0]].answerable and items[COVERED[0]].sources[0].doc_id == "cartier-privacy-policy-2024"
    assert not items[REPAIRS[0]].answerable
    scored = _cli(server, seed_index, "eval", "--dataset", str(target), "--json", "--no-intent")
    assert scored.returncode == 0, scored.stderr
    metrics = json.loads(scored.stdout.strip().splitlines()[-1])
    assert metrics["items"] == len(items) and 0 <= metrics["citation_hit"] <= 1 and "correct" in metrics, metrics
