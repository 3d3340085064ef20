"""Browser tests: the real server in a subprocess, driven by headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import serving

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("PRIVACY_ASSISTANT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
AGENT_USER, AGENT_PASSWORD = "agent-e2e", "e2e-Secret-9"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: drives the real web app in headless Chromium")


@dataclass(frozen=True)
class Server:
    url: str
    feedback_db: Path
    log: Path
    user: str = AGENT_USER
    password: str = AGENT_PASSWORD


@contextmanager
def agent_server(seed_index: Path, work: Path) -> Iterator[Server]:
    """`privacy-assistant serve` on a free port, with agent credentials and its own feedback DB."""
    env = {
        "PRIVACY_ASSISTANT_AGENT_USER": AGENT_USER,
        "PRIVACY_ASSISTANT_AGENT_PASSWORD": AGENT_PASSWORD,
        "PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3"),
    }
    with serving(seed_index, work, env, verbose=True) as url:
        yield Server(url, work / "feedback.sqlite3", work / "server.log")


@pytest.fixture(scope="session")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The server the browser tests share."""
    with agent_server(seed_index, tmp_path_factory.mktemp("web")) as found:
        yield found


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM} (`make browser` installs Debian's chromium package)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context: its own cookies, its own chat session."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def contacted(page: Any) -> set[str]:
    """Every host the page sends a request to (the app must work offline)."""
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]) if r.url.startswith("http") else None)
    return hosts
