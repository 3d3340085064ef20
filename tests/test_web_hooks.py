"""The web app on Gradio's supported hooks only: read from the source (no annotation rewriting,
no private attribute of a Gradio object, no ContextVar, no page buffering) and seen in use (the
agent signs in through our own page and session, Gradio asks our `auth_dependency` who the agent
is, a handler reads the name from `gr.Request`, a logout closes the console again)."""

from __future__ import annotations

import ast
import json
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"
GRADIO_PRIVATE = {"tokens", "cookie_id"}  # where Gradio keeps its own login's sessions
SMUGGLERS = {
    "ContextVar": "data passed from a middleware to a handler out of band (use gr.Request)",
    "BaseHTTPMiddleware": "a middleware that buffers whole pages (use head=/js= or a route)",
}
USER, PASSWORD = "ana", "pw-123"


# -- the source --------------------------------------------------------------------------------


def _gradio_names(tree: ast.AST) -> set[str]:
    """The names a module binds to Gradio or anything imported from it (at any level)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name.split(".")[0] == "gradio"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gradio":
            names |= {a.asname or a.name for a in node.names}
    return names


def _root(node: ast.expr) -> str:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def hook_violations(path: Path, root: Path = ROOT) -> list[str]:
    """What in one module (of `root`/app) leans on Gradio's internals instead of its public hooks."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    gradio = _gradio_names(tree)
    web = root / "app" / "web" in path.parents
    found = []
    for node in ast.walk(tree):
        where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Attribute):
            if node.attr == "__annotations__":
                found.append(f"{where}: touches __annotations__ (declare real annotations instead)")
            elif node.attr in GRADIO_PRIVATE and (web or gradio):
                found.append(f"{where}: reads .{node.attr}, Gradio's private login state")
            elif node.attr.startswith("_") and not node.attr.startswith("__") and _root(node) in gradio:
                found.append(f"{where}: private attribute .{node.attr} of a Gradio object")
            elif web and node.attr == "body_iterator":
                found.append(f"{where}: reads .body_iterator, buffering a page (inject through head=/js= instead)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
            name = node.args[1] if len(node.args) > 1 else None
            if isinstance(name, ast.Constant) and name.value in GRADIO_PRIVATE and (web or gradio):
                found.append(f"{where}: {node.func.id}(..., {name.value!r}), Gradio's private login state")
        elif web and isinstance(node, ast.Name) and node.id in SMUGGLERS:
            found.append(f"{where}: {node.id}: {SMUGGLERS[node.id]}")
        elif web and isinstance(node, ast.ImportFrom) and node.module == "contextvars":
            found.append(f"{where}: imports contextvars")
    return found


def test_hook_checker_catches_the_old_mechanisms(tmp_path: Path) -> None:
    web = tmp_path / "app" / "web"
    web.mkdir(parents=True)
    old = web / "old.py"
    old.write_text(
        "from contextvars import ContextVar\nimport gradio as gr\n_LOGIN: ContextVar[int] = ContextVar('x')\n"
        "def ask(request): ...\nask.__annotations__['request'] = gr.Request\n"
        "def signed_in(app, c):\n    return hasattr(app, 'tokens') and app.tokens.get(c) and app.cookie_id\n"
        "def peek(blocks: gr.Blocks):\n    return gr.routes._state\n"
        "async def buffer(r):\n    return b''.join([c async for c in r.body_iterator])\n",
        encoding="utf-8",
    )
    found = "\n".join(hook_violations(old, root=tmp_path))
    for what in ("__annotations__", ".tokens", ".cookie_id", "'tokens'", "._state", "body_iterator",
                 "contextvars", "ContextVar"):  # fmt: skip
        assert what in found, (what, found)


def test_the_app_uses_only_gradios_public_hooks() -> None:
    found = [v for path in sorted(APP.rglob("*.py")) for v in hook_violations(path)]
    assert found == [], "\n".join(found)


def test_handlers_declare_annotations_gradio_can_resolve() -> None:
    """Gradio injects the request and event data by a parameter's annotation, resolved with
    `typing.get_type_hints` in the handler's module (a NameError there silently injects nothing)."""
    gr = pytest.importorskip("gradio")
    from app.web.agent import signed_in_as
    from app.web.customer import ChatTurns, _chosen

    optional_request = gr.Request | None
    for handler in (ChatTurns.respond, ChatTurns.respond_streaming, ChatTurns.like):
        assert typing.get_type_hints(handler)["request"] == optional_request, handler
    assert typing.get_type_hints(ChatTurns.like)["data"] is gr.LikeData
    assert typing.get_type_hints(_chosen)["data"] is gr.SelectData
    assert typing.get_type_hints(signed_in_as)["request"] is gr.Request


def test_sessions_expire_end_and_stay_bounded() -> None:
    from app.web.session import AgentSessions

    now = [0.0]
    sessions = AgentSessions(max_age_s=60, max_sessions=3, clock=lambda: now[0])
    token = sessions.start(USER)
    assert sessions.user(token) == USER and sessions.user(token + "x") is None and sessions.user("") is None
    sessions.end(token)
    assert sessions.user(token) is None  # logged out: the same cookie no longer works
    token = sessions.start(USER)
    now[0] = 61.0
    assert sessions.user(token) is None  # expired
    for _ in range(10):
        sessions.start(USER)
    assert len(sessions) <= 3


# -- in use ------------------------------------------------------------------------------------

DOC = """Nova Privacy Notice
Last updated: May 2024

## How long we keep your information
We keep your order history for five years after your last purchase.
"""
CATALOGUE = """
[nova-2024]
title = "Nova Privacy Notice"
brand = "Nova"
region = "Worldwide"
languages = ["en"]
effective_date = "2024-05"
"""


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[typing.Any]:
    """The real server (customer chat and agent console) on a one-policy index and the fake embedder."""
    from fastapi.testclient import TestClient

    from app.assistant import Assistant
    from app.index import build_index
    from app.web import Credentials, WebConfig, build_server
    from tests.conftest import FakeEmbedder

    work = tmp_path_factory.mktemp("hooks")
    docs = work / "documents"
    docs.mkdir()
    (docs / "nova-2024.txt").write_text(DOC, encoding="utf-8")
    (docs / "catalogue.toml").write_text(CATALOGUE, encoding="utf-8")
    build_index(docs, work / "index", FakeEmbedder())
    assistant = Assistant(FakeEmbedder(), work / "index")
    app = build_server(assistant, WebConfig(Credentials(USER, PASSWORD), work / "fb.sqlite3"))
    with TestClient(app) as client:
        yield client


def _signed_in_as(client: typing.Any) -> str:
    """Run the console's load event (`signed_in_as`) as its page does, and return what it showed."""
    config = client.get("/agent/config").json()
    (fn,) = [i for i, d in enumerate(config["dependencies"]) if d["targets"] and d["targets"][0][1] == "load"]
    body = {"fn_index": fn, "data": [], "session_hash": "hooks-test", "event_data": None, "trigger_id": None}
    answer = client.post("/agent/gradio_api/run/predict", json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"][0])


def test_sign_in_opens_the_console_and_its_handlers_see_the_agent(client: typing.Any) -> None:
    client.cookies.clear()
    page = client.get("/agent/")
    assert page.status_code == 200 and 'type="password"' in page.text and "pa-login-locked" in page.text
    assert page.headers["cache-control"] == "no-store" and page.headers["x-frame-options"] == "DENY"
    for path in ("/agent/config", "/agent/gradio_api/info", "/agent/export/feedback.csv", "/agent/csrf-token"):
        assert client.get(path).status_code == 401, path  # nothing of the console before the sign-in
    refused = client.post("/agent/login", data={"username": USER, "password": "wrong"})
    assert refused.status_code == 400 and "pa_agent" not in refused.headers.get("set-cookie", "")
    assert client.get("/agent/config").status_code == 401

    signed = client.post("/agent/login", data={"username": USER, "password": PASSWORD})
    assert signed.status_code == 200
    cookie = signed.headers["set-cookie"]
    assert "pa_agent=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent" in cookie
    console = client.get("/agent/")
    assert console.status_code == 200 and 'type="password"' not in console.text  # Gradio's page now
    assert client.get("/agent/config").json()["username"] == USER  # Gradio asked our auth_dependency
    assert f"Signed in as <strong>{USER}</strong>" in _signed_in_as(client)  # the handler's gr.Request
    assert client.get("/agent/export/feedback.csv").status_code == 200
    assert client.get("/config").status_code == 200  # the customer chat never needed a sign-in


def test_logout_needs_the_csrf_token_and_closes_the_console(client: typing.Any) -> None:
    from app.web.session import CSRF_HEADER

    client.cookies.clear()
    assert client.post("/agent/login", data={"username": USER, "password": PASSWORD}).status_code == 200
    stolen = dict(client.cookies)
    assert client.get("/agent/logout").status_code == 405  # a link on another site signs nobody out
    assert client.post("/agent/logout").status_code == 403  # no token
    assert client.get("/agent/config").status_code == 200
    token = client.get("/agent/csrf-token").json()["token"]
    done = client.post("/agent/logout", headers={CSRF_HEADER: token})
    assert done.status_code == 200 and "Max-Age=0" in done.headers["set-cookie"]
    assert client.get("/agent/config").status_code == 401
    assert 'type="password"' in client.get("/agent/").text  # the sign-in page again
    client.cookies.clear()
    client.cookies.update(stolen)  # the old cookie, replayed: the session ended on the server too
    assert client.get("/agent/config").status_code == 401
    assert client.post("/agent/gradio_api/cancel", json={"session_hash": "x", "fn_index": 0}).status_code == 401


def test_a_locked_sign_in_says_how_long_to_wait(client: typing.Any) -> None:
    client.cookies.clear()
    for _ in range(5):
        assert client.post("/agent/login", data={"username": "locked-name", "password": "no"}).status_code == 400
    locked = client.post("/agent/login", data={"username": "locked-name", "password": "no"})
    assert locked.status_code == 429 and "Try again in 5 minutes" in json.loads(locked.text)["detail"]
    assert int(locked.headers["retry-after"]) > 0
