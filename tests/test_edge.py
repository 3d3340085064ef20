"""The edge in front of Gradio (app/web/edge.py): only the routes the page and the `ask` API use,
bodies bounded before they are read, no framing, CORS only from the configured origin, sessions
that belong to the server's cookie, and no shared answer cache. Unit tests of the policy first,
then a real server on loopback (each of those failed on the code before the edge)."""

from __future__ import annotations

import json
import socket
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from app.web.edge import EdgePolicy, Mount, allow, gradio_routes

USER, PASSWORD = "agent-edge", "edge-Secret-7"
PARTNER = "https://partner.example"


# -- the policy, without a server ---------------------------------------------------------------


def _policy() -> EdgePolicy:
    public = Mount("", gradio_routes(1000, 2000), frozenset({0, 1}))
    agent = Mount("/agent", (allow("GET", r"/?"),))
    return EdgePolicy((public, agent), frozenset({PARTNER}))


@pytest.mark.parametrize(
    ("method", "path", "served"),
    [
        ("GET", "/", True),
        ("GET", "/gradio_api/queue/data", True),
        ("POST", "/gradio_api/queue/join", True),
        ("POST", "/gradio_api/call/ask", True),
        ("GET", "/gradio_api/call/ask/abc123", True),
        ("POST", "/gradio_api/upload", False),
        ("POST", "/gradio_api/process_recording", False),
        ("GET", "/gradio_api/deep_link", False),
        ("GET", "/gradio_api/file=/etc/passwd", False),
        ("POST", "/gradio_api/call/other", False),
        ("GET", "/gradio_api/queue/join", False),  # a served path, with another method
        ("GET", "/agent/", True),
        ("GET", "/agent/gradio_api/info", False),  # the agent mount answers only its own list
    ],
)
def test_the_policy_serves_only_listed_routes(method: str, path: str, served: bool) -> None:
    assert (_policy().find(method, path) is not None) is served


def test_session_cookies_are_signed_and_session_hashes_namespaced() -> None:
    policy = _policy()
    cookie = policy.new_cookie()
    owner = policy.cookie_owner(cookie)
    assert owner and policy.cookie_owner(cookie[:-2] + "xx") is None and policy.cookie_owner("forged.sig") is None
    assert EdgePolicy(policy.mounts).cookie_owner(cookie) is None  # another process's key
    mine = policy.session_hash(f"c:{owner}", "abc")
    assert mine == policy.session_hash(f"c:{owner}", "abc")  # stable for its owner
    assert mine != policy.session_hash("a:127.0.0.2", "abc") != policy.session_hash(f"c:{owner}", "abd")


# -- a real server on loopback ------------------------------------------------------------------


@dataclass(frozen=True)
class Server:
    url: str
    temp: Path  # Gradio's temporary folder (GRADIO_TEMP_DIR)

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return str(parts.hostname), int(parts.port or 80)


@pytest.fixture(scope="module")
def server(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.helpers import serving

    work = tmp_path_factory.mktemp("edge")
    temp = work / "gradio-tmp"
    env = {
        "PRIVACY_ASSISTANT_AGENT_USER": USER,
        "PRIVACY_ASSISTANT_AGENT_PASSWORD": PASSWORD,
        "PRIVACY_ASSISTANT_FEEDBACK_DB": str(work / "feedback.sqlite3"),
        "PRIVACY_ASSISTANT_RATE_PER_MINUTE": "0",  # the timing test asks many questions
        "PRIVACY_ASSISTANT_ALLOWED_ORIGINS": PARTNER,
        "GRADIO_TEMP_DIR": str(temp),
    }
    with serving(seed_index, work, env) as url:
        yield Server(url, temp)


def _client(local: str = "127.0.0.1", **kwargs: Any) -> Any:
    import httpx

    return httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=60, **kwargs)


def _raw(server: Server, head: str, body: bytes = b"", wait: float = 10.0) -> int:
    """Send a request as bytes (headers that promise more body than is sent, or a chunked body
    that never ends) and return the status of the answer; a server still waiting for the body
    times out here."""
    with socket.create_connection(server.address, timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = sock.recv(4096)
    return int(answer.split(b" ", 2)[1])


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.slow
def test_the_ask_api_works_through_gradio_client_and_plain_http(server: Server) -> None:
    from gradio_client import Client

    answer = Client(server.url + "/", verbose=False).predict("How long do you keep my data?", "", api_name="/ask")
    assert answer["citations"], answer
    with _client() as client:
        event = client.post(server.url + "/gradio_api/call/ask", json={"data": ["Do you sell my data?", ""]})
        assert event.status_code == 200, event.text
        result = client.get(server.url + f"/gradio_api/call/ask/{event.json()['event_id']}")
    assert "event: complete" in result.text


UNSERVED = [
    "/gradio_api/upload",
    "/gradio_api/process_recording",
    "/gradio_api/stream/e1",
    "/gradio_api/reset",
    "/gradio_api/cancel",
    "/gradio_api/api/predict",
    "/gradio_api/run/ask",
    "/gradio_api/vibe-edit",
    "/agent/gradio_api/upload",
    "/agent/gradio_api/process_recording",
]


@pytest.mark.slow
@pytest.mark.parametrize("path", UNSERVED)
def test_unserved_routes_are_refused_before_the_body_is_read(server: Server, path: str) -> None:
    """A 200 MB multipart upload, announced but not sent: refused at once (the old server
    read it, and left the recording in /tmp even when it answered 400)."""
    head = (
        f"POST {path} HTTP/1.1\nHost: {server.address[0]}:{server.address[1]}\n"
        "Content-Type: multipart/form-data; boundary=xyz\nContent-Length: 200000000\n"
    )
    assert _raw(server, head) in (403, 404)


@pytest.mark.slow
def test_deep_links_are_refused_and_nothing_reaches_the_temp_folder(server: Server) -> None:
    with _client() as client:
        client.get(server.url + "/")
        for path in ("/gradio_api/deep_link?session_hash=abc", "/config?deep_link=abc", "/?deep_link=abc"):
            assert client.get(server.url + path).status_code in (403, 404), path
        for path in ("/gradio_api/upload", "/gradio_api/process_recording"):
            files = {"video": ("x.webm", b"\0" * 50_000, "video/webm"), "files": ("x.bin", b"\0" * 50_000)}
            assert client.post(server.url + path, files=files).status_code == 403
        assert client.get(server.url + "/gradio_api/file=" + str(server.temp)).status_code == 403
    assert _files(server.temp) == []  # no recording, no upload, no chat state written by any request


@pytest.mark.slow
def test_bodies_over_the_limit_are_refused_before_they_are_read(server: Server) -> None:
    host = f"Host: {server.address[0]}:{server.address[1]}\n"
    for path in ("/gradio_api/call/ask", "/gradio_api/queue/join", "/agent/login"):
        head = f"POST {path} HTTP/1.1\n{host}Content-Type: application/json\nContent-Length: 100000000\n"
        assert _raw(server, head) == 413, path  # the old server waited for the 100 MB
    chunked = f"POST /gradio_api/call/ask HTTP/1.1\n{host}Content-Type: application/json\nTransfer-Encoding: chunked\n"
    chunk = b"%x\r\n%s\r\n" % (8192, b"1" * 8192)
    assert _raw(server, chunked, chunk * 5) == 413  # 40 KB, never terminated: counted, and stopped at the limit
    with _client() as client:  # a question of the largest accepted length still passes, however it is encoded
        for text in ("数据" * 1000, "😀" * 2000):
            body = json.dumps({"data": [text, ""]}, ensure_ascii=True).encode()
            response = client.post(server.url + "/gradio_api/call/ask", content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
            assert response.status_code == 200, (len(body), response.text)


@pytest.mark.slow
def test_an_unknown_function_is_a_client_error(server: Server) -> None:
    body = {"data": ["x"], "fn_index": 9999, "session_hash": "abc", "trigger_id": None}
    with _client() as client:
        for path in ("/gradio_api/queue/join", "/gradio_api/run/predict"):
            for fn in (9999, -1, "0", None):
                response = client.post(server.url + path, json={**body, "fn_index": fn})
                assert 400 <= response.status_code < 500, (path, fn, response.status_code)


@pytest.mark.slow
def test_every_answer_refuses_framing(server: Server) -> None:
    with _client() as client:
        for path in ("/", "/config", "/gradio_api/info", "/agent/", "/healthz", "/nowhere", "/gradio_api/upload"):
            response = client.get(server.url + path)
            assert response.headers["x-frame-options"] == "DENY", path
            assert response.headers["content-security-policy"] == "frame-ancestors 'none'", path


@pytest.mark.slow
def test_cross_origin_access_only_from_the_configured_origin(server: Server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    with _client() as client:
        for origin in ("http://localhost:9999", "http://127.0.0.1:1", "null", "https://evil.example"):
            response = client.options(server.url + "/gradio_api/call/ask", headers={**preflight, "Origin": origin})
            assert "access-control-allow-origin" not in response.headers, origin
            info = client.get(server.url + "/gradio_api/info", headers={"Origin": origin})
            assert "access-control-allow-origin" not in info.headers, origin
            ask = client.post(server.url + "/gradio_api/call/ask", json={"data": ["hi", ""]},
                              headers={"Origin": origin})  # fmt: skip
            assert ask.status_code == 403, origin  # a write from another site: refused (CSRF)
        allowed = client.options(server.url + "/gradio_api/call/ask", headers={**preflight, "Origin": PARTNER})
        assert allowed.headers["access-control-allow-origin"] == PARTNER
        assert allowed.headers["access-control-allow-credentials"] == "true"
        same_site = client.post(server.url + "/gradio_api/call/ask", json={"data": ["hi", ""]},
                                headers={"Origin": server.url})  # fmt: skip
        assert same_site.status_code == 200


def _chat(server: Server, client: Any, session: str, question: str) -> list[dict[str, Any]]:
    """One chat turn as the page sends it (queue/join, then the event stream); the chat's history."""
    config = client.get(server.url + "/config").json()
    send = next(d for d in config["dependencies"] if any(t[1] == "submit" for t in d["targets"]) and d["backend_fn"])
    join = {"data": [question, "", None], "fn_index": send["id"], "trigger_id": send["targets"][0][0],
            "session_hash": session, "event_data": None}  # fmt: skip
    assert client.post(server.url + "/gradio_api/queue/join", json=join).status_code == 200
    with client.stream("GET", server.url + "/gradio_api/queue/data", params={"session_hash": session}) as events:
        for line in events.iter_lines():
            message = json.loads(line[5:]) if line.startswith("data:") else {}
            if message.get("msg") == "process_completed":
                return list(message["output"]["data"][0])
    raise AssertionError("the event stream ended without an answer")


@pytest.mark.slow
def test_a_session_hash_reaches_only_its_own_browser(server: Server) -> None:
    """A customer's session hash, used by another client (another address, or the same address
    without the customer's cookie), opens an empty chat, never the customer's."""
    session = "victim-session-1"
    with _client("127.0.0.1") as victim:
        victim.get(server.url + "/")  # the page: the server's session cookie
        mine = _chat(server, victim, session, "How long do you keep my order history?")
        assert len(mine) == 2 and "order history" in json.dumps(mine)
        assert len(_chat(server, victim, session, "And my e-mails?")) == 4  # the same browser: the same chat
    for local, fetch_page in (("127.0.0.2", True), ("127.0.0.1", False)):
        with _client(local) as other:
            if fetch_page:
                other.get(server.url + "/")
            theirs = _chat(server, other, session, "Do you sell my data?")
        assert len(theirs) == 2 and "order history" not in json.dumps(theirs), (local, theirs)


def _ask(server: Server, client: Any, question: str) -> float:
    """Seconds to answer one question through the plain HTTP `ask` API (the least overhead)."""
    start = time.perf_counter()
    event = client.post(server.url + "/gradio_api/call/ask", json={"data": [question, ""]}).json()["event_id"]
    assert "event: complete" in client.get(server.url + f"/gradio_api/call/ask/{event}").text
    return time.perf_counter() - start


@pytest.mark.slow
def test_the_answer_time_does_not_tell_what_others_asked(server: Server) -> None:
    """Someone else's question, asked again from another address, takes as long as a new one:
    no shared cache of question vectors (the old server answered it in half the time: 19 ms
    against 38 ms, medians on loopback)."""
    topics = ["order history", "e-mail address", "delivery address", "phone number", "purchase records",
              "newsletter choices", "loyalty points", "payment details", "store visits", "repair requests"]  # fmt: skip
    asked, fresh = [], []
    with _client("127.0.0.1") as asker, _client("127.0.0.2") as prober:
        for n in range(3):
            _ask(server, prober, f"How long do you keep my data, warm-up {n}?")
        for n, topic in enumerate(topics):
            _ask(server, asker, f"How long do you keep my {topic}, case {n}?")
            asked.append(_ask(server, prober, f"How long do you keep my {topic}, case {n}?"))
            fresh.append(_ask(server, prober, f"How long do you keep my {topic}, item {n}?"))
    assert statistics.median(asked) > 0.75 * statistics.median(fresh), (asked, fresh)


def test_a_client_refused_again_and_again_waits_for_its_refusals() -> None:
    from app.web.tarpit import Tarpit

    now = [0.0]
    pit = Tarpit(free=3, free_overall=100, window_s=60.0, delay_s=0.25, max_clients=2, clock=lambda: now[0])
    assert [pit.delay("10.0.0.1") for _ in range(5)] == [0.0, 0.0, 0.0, 0.25, 0.25]
    assert pit.delay("10.0.0.2") == 0.0  # another address has its own allowance
    now[0] = 61.0
    assert pit.delay("10.0.0.1") == 0.0  # a new window
    pit.delay("10.0.0.3")
    assert len(pit._seen) == 2  # bounded: the least recently refused address is forgotten


def test_a_guesser_spread_over_many_addresses_waits_too() -> None:
    from app.web.tarpit import Tarpit

    pit = Tarpit(free=3, free_overall=5, window_s=60.0, delay_s=0.25, clock=lambda: 0.0)
    waits = [pit.delay(f"10.0.0.{i}") for i in range(8)]  # one refusal per address
    assert waits == [0.0] * 5 + [0.25] * 3
