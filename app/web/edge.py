"""The edge in front of Gradio: the server answers only the routes its pages and its documented
API use, reads no body larger than the route needs, sends no page that another site may frame,
shares nothing cross-origin but with the configured origins, and decides itself which Gradio
session a request belongs to.

Why here and not in Gradio: Gradio serves many routes this app never uses (uploads, recordings,
deep links that write a chat to disk, streams, file proxies), reads bodies of any size, answers
pre-flights from any localhost origin with credentials, and lets a client name any session hash
(so whoever learns one gets that customer's chat). One ASGI middleware, ahead of everything,
closes all of that before Gradio sees a byte of the body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from app.web.tarpit import Tarpit

log = logging.getLogger(__name__)

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SESSION_COOKIE = "pa_session"
FRAME_HEADERS = {"x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'"}
_SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Route:
    """One route a page or the documented API uses: its methods, its path after the mount's
    prefix (a regular expression, matched whole), where it carries Gradio's session hash
    ("body", "query", "path" or none), the most body bytes it takes, whether its body names a
    Gradio function (`fn_index`) that must exist, and whether it starts a browser session."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    session: str = ""
    body_limit: int = 0
    names_fn: bool = False
    starts_session: bool = False


def allow(methods: str, pattern: str, session: str = "", body_limit: int = 0, **flags: bool) -> Route:
    """A `Route` from a compact spelling: ``allow("GET HEAD", r"/config/?", starts_session=True)``."""
    return Route(frozenset(methods.split()), re.compile(pattern), session, body_limit, **flags)


def gradio_routes(api_limit: int, event_limit: int) -> tuple[Route, ...]:
    """The Gradio routes one mounted app needs: those its page called in Chromium (page, assets,
    heartbeat, queue, run/predict) and those `gradio_client` calls for the `ask` API (config,
    info, queue, call/ask). `api_limit`: body bytes of a call to `ask`; `event_limit`: of a
    page event (a rating carries the rated reply)."""
    return (
        allow("GET HEAD", r"/|/config/?", starts_session=True),
        allow("GET HEAD", r"/theme\.css|/favicon\.ico|/robots\.txt|/(static|assets)/[^?#]+"),
        allow("GET", r"/gradio_api/info/?"),
        allow("GET", r"/gradio_api/heartbeat/[^/]+", session="path"),
        allow("GET", r"/gradio_api/queue/data/?", session="query"),
        allow("POST", r"/gradio_api/queue/join/?", session="body", body_limit=event_limit, names_fn=True),
        allow("POST", r"/gradio_api/run/predict/?", session="body", body_limit=event_limit, names_fn=True),
        allow("POST", r"/gradio_api/call/ask/?", session="body", body_limit=api_limit),
        allow("GET", r"/gradio_api/call/ask/[^/]+"),
    )


@dataclass(frozen=True)
class Mount:
    """One Gradio app at `prefix` ("" for the public chat) and the routes it answers; `fn_ids`:
    its functions (the only `fn_index` values a request may name)."""

    prefix: str
    routes: tuple[Route, ...]
    fn_ids: frozenset[int] = frozenset()

    def holds(self, path: str) -> bool:
        return not self.prefix or path == self.prefix or path.startswith(self.prefix + "/")

    def find(self, method: str, path: str) -> Route | None:
        rest = path[len(self.prefix) :]
        for rule in self.routes:
            if rule.pattern.fullmatch(rest) and (method in rule.methods or method == "OPTIONS"):
                return rule
        return None


@dataclass(frozen=True)
class EdgePolicy:
    """What the edge lets through: the mounts (a path goes to the longest prefix that holds
    it), the origins allowed to read answers cross-site (scheme://host[:port]; none: same
    origin only) and the key that signs session cookies and namespaces session hashes (new
    each start: sessions live in one process's memory anyway)."""

    mounts: tuple[Mount, ...]
    allowed_origins: frozenset[str] = frozenset()
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def find(self, method: str, path: str) -> tuple[Mount, Route] | None:
        mount = next((m for m in sorted(self.mounts, key=lambda m: -len(m.prefix)) if m.holds(path)), None)
        rule = mount.find(method, path) if mount is not None else None
        return (mount, rule) if mount is not None and rule is not None else None

    def new_cookie(self) -> str:
        token = secrets.token_urlsafe(18)
        return f"{token}.{self._sign(token)}"

    def cookie_owner(self, cookie: str) -> str | None:
        """The session cookie's id when this server issued it, else None (a forged one is ignored)."""
        token, _, signature = cookie.partition(".")
        return token if token and hmac.compare_digest(signature, self._sign(token)) else None

    def session_hash(self, owner: str, chosen: str) -> str:
        """The session Gradio sees: the client's chosen hash inside its owner's namespace, so
        the same hash sent by someone else names another (empty) session."""
        return hmac.new(self.key, f"{owner}\0{chosen}".encode(), hashlib.sha256).hexdigest()[:32]

    def _sign(self, token: str) -> str:
        digest = hmac.new(self.key, b"cookie\0" + token.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()


class Refused(Exception):
    """A request the edge answers itself, with `status` and a one-line `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


class EdgeGuard:
    """ASGI middleware applying an `EdgePolicy` to every request, ahead of FastAPI and Gradio."""

    def __init__(self, app: Any, policy: EdgePolicy, tarpit: Tarpit | None = None) -> None:
        self.app, self.policy, self.tarpit = app, policy, tarpit or Tarpit()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":  # no page here opens one
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        origin = headers.get("origin", "")
        shared = origin in self.policy.allowed_origins
        cookie = _cookie(headers.get("cookie", ""))
        owner = self.policy.cookie_owner(cookie) if cookie else None
        issue = None
        try:
            found = self.policy.find(scope["method"], scope["path"])
            if found is None or "deep_link" in dict(parse_qsl(scope["query_string"].decode("latin-1"))):
                raise _unserved(scope["path"])
            mount, rule = found
            if scope["method"] == "OPTIONS":
                await _preflight(send, shared, headers)
                return
            _check_origin(scope["method"], origin, headers.get("host", ""), shared)
            if owner is None and rule.starts_session:
                issue = self.policy.new_cookie()
            namespace = f"c:{owner}" if owner else f"a:{_client(scope)}"
            receive = await self._admitted(scope, receive, headers, mount, rule, namespace)
        except Refused as refusal:  # one quiet line: a refusal is routine, and a client can send many
            log.debug("edge: %s refused with %d (%s)", scope["method"], refusal.status, refusal.detail)
            await self.tarpit.pause(_client(scope))  # a client refused again and again waits for it
            await _answer(_secured(send, shared, origin, None, scope), refusal)
            return
        await self.app(scope, receive, self.tarpit.slowed(_secured(send, shared, origin, issue, scope), _client(scope)))

    async def _admitted(
        self, scope: dict[str, Any], receive: Receive, headers: dict[str, str], mount: Mount, rule: Route, owner: str
    ) -> Receive:
        """The request's body read (within the route's limit) and its session hash namespaced;
        `receive` for the app, replaying the body. Refused with 413 before any byte beyond the
        limit is read."""
        if rule.session == "query":
            rename = lambda chosen: self.policy.session_hash(owner, chosen)  # noqa: E731
            scope["query_string"] = _namespaced_query(scope["query_string"], rename)
        elif rule.session == "path":
            head, _, chosen = scope["path"].rpartition("/")
            scope["path"] = f"{head}/{self.policy.session_hash(owner, chosen)}"
            scope["raw_path"] = scope["path"].encode()
        declared = headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise Refused(400, "bad Content-Length")
        if declared is not None and int(declared) > rule.body_limit:
            raise Refused(413, "request body too large")
        if rule.body_limit == 0:
            if "transfer-encoding" in headers:
                raise Refused(413, "request body too large")
            return receive
        body = await _read_body(receive, rule.body_limit)
        if rule.session == "body" or rule.names_fn:
            body = self._checked_body(body, mount, rule, owner)
            _set_header(scope, b"content-length", str(len(body)).encode())
        return _replay(body, receive)

    def _checked_body(self, body: bytes, mount: Mount, rule: Route, owner: str) -> bytes:
        """A JSON body with a known `fn_index` (where the route names one) and its session
        hash namespaced; a body that is not a JSON object goes on unchanged, for Gradio to refuse."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            if rule.names_fn:
                raise Refused(422, "the body must be a JSON object")
            return body
        if rule.names_fn:
            fn = data.get("fn_index")
            if type(fn) is not int or fn not in mount.fn_ids:
                raise Refused(404, "unknown function")
        if isinstance(chosen := data.get("session_hash"), str):
            data["session_hash"] = self.policy.session_hash(owner, chosen)
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _unserved(path: str) -> Refused:
    """403 for a Gradio route this app does not serve (uploads, recordings, deep links, file
    proxies, ...), 404 for any other path."""
    return Refused(403, "not served here") if "/gradio_api/" in path else Refused(404, "Not Found")


async def _read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, counted as it arrives (chunked or not); refused once it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Refused(413, "request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then the client's own messages
    (a disconnect, which a streaming answer watches for)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _check_origin(method: str, origin: str, host: str, shared: bool) -> None:
    """A request that changes something comes from this site or an allowed origin (CSRF)."""
    if method in _SAFE_METHODS or not origin or shared:
        return
    if urlsplit(origin).netloc.lower() != host.lower():
        raise Refused(403, "cross-origin request refused")


async def _preflight(send: Send, shared: bool, headers: dict[str, str]) -> None:
    """A CORS pre-flight: allowed for the configured origins only, never with a wildcard."""
    if not shared:
        await _answer(send, Refused(403, "origin not allowed"))
        return
    allowed = [
        (b"access-control-allow-origin", headers["origin"].encode()),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-allow-methods", b"GET, POST"),
        (b"access-control-allow-headers", b"content-type"),
        (b"access-control-max-age", b"600"),
        (b"vary", b"Origin"),
    ]
    await send({"type": "http.response.start", "status": 204, "headers": allowed + _frame_headers()})
    await send({"type": "http.response.body", "body": b""})


def _secured(send: Send, shared: bool, origin: str, issue: str | None, scope: dict[str, Any]) -> Send:
    """`send` with the app's CORS headers replaced by ours, the anti-framing headers on every
    answer, and a new session cookie where one was issued."""

    async def secured(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if not k.lower().startswith(b"access-control-")]
            present = {k.lower() for k, _ in kept}
            kept += [(k, v) for k, v in _frame_headers() if k not in present]
            if shared:
                kept += [(b"access-control-allow-origin", origin.encode()), (b"vary", b"Origin"),
                         (b"access-control-allow-credentials", b"true")]  # fmt: skip
            if issue is not None:
                secure = "; Secure" if scope.get("scheme") == "https" else ""
                cookie = f"{SESSION_COOKIE}={issue}; Path=/; HttpOnly; SameSite=Lax{secure}"
                kept.append((b"set-cookie", cookie.encode()))
            message = {**message, "headers": kept}
        await send(message)

    return secured


async def _answer(send: Send, refusal: Refused) -> None:
    body = json.dumps({"detail": refusal.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if refusal.status == 413:
        headers.append((b"connection", b"close"))  # the unread rest of the body is not wanted
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _frame_headers() -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in FRAME_HEADERS.items()]


def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _set_header(scope: dict[str, Any], name: bytes, value: bytes) -> None:
    scope["headers"] = [(k, v) for k, v in scope.get("headers", []) if k.lower() != name] + [(name, value)]


def _cookie(header: str) -> str:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # a malformed Cookie header: no session cookie
        return ""
    morsel = jar.get(SESSION_COOKIE)
    return morsel.value if morsel is not None else ""


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _namespaced_query(query: bytes, rename: Callable[[str], str]) -> bytes:
    pairs: Iterable[tuple[str, str]] = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    return urlencode([(k, rename(v) if k == "session_hash" else v) for k, v in pairs]).encode("latin-1")
