"""The web app: a public customer chat and an agent console behind a login, on one server.

`build_customer_app` and `build_agent_app` build the two Gradio Blocks (nothing is built
or loaded at import); `build_server` mounts them on one FastAPI app — the customer chat
at "/", the agent console at "/agent" behind Gradio's login form — and `launch`, called
only by the CLI, serves it with uvicorn. Both views answer through `Assistant.ask`, the
code path of `privacy-assistant ask`.

Everything put into HTML is escaped (app.render): policy text and user text alike. What a
user types is redacted (app.redact) before it is logged, stored or even echoed back.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import os
import re
import threading
import time
import tomllib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.answer import Answer
from app.errors import InputError
from app.feedback import FeedbackStore
from app.followup import SCOPE_WORDS, rewrite_followup
from app.records import Clause, DocumentMeta
from app.redact import CARD, CARD_REQUEST, PLACEHOLDERS, redact
from app.render import (
    RETRIEVAL_HEADERS,
    TEXT,
    citation_label,
    email_text,
    esc,
    language_of,
    lines_html,
    policy_choices,
    render_agent_answer,
    render_compare_panel,
    render_customer_reply,
    render_document,
    render_sources,
    render_user_message,
    retrieval_rows,
    title_of,
)
from app.text import clean_input

if TYPE_CHECKING:
    import fastapi
    import gradio as gr

    from app.assistant import Assistant
    from app.llm import LLMAnswerer

log = logging.getLogger(__name__)

ENV_USER = "PRIVACY_ASSISTANT_AGENT_USER"
ENV_PASSWORD = "PRIVACY_ASSISTANT_AGENT_PASSWORD"
ENV_CONFIG = "PRIVACY_ASSISTANT_CONFIG"
ENV_FEEDBACK_DB = "PRIVACY_ASSISTANT_FEEDBACK_DB"
ENV_RATE = "PRIVACY_ASSISTANT_RATE_PER_MINUTE"
ENV_PROXIES = "PRIVACY_ASSISTANT_TRUSTED_PROXIES"
DEFAULT_RATE_PER_MINUTE = 60.0
AGENT_PATH = "/agent"
EXPORT_ROUTE = AGENT_PATH + "/export/feedback.csv"

# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class WebConfig:
    """Where the agent login and the feedback database come from."""

    credentials: Credentials | None
    feedback_db: Path
    rate_per_minute: float = DEFAULT_RATE_PER_MINUTE  # customer questions per client; 0: no limit
    # Addresses of reverse proxies whose X-Forwarded-For is believed; none by default, so a
    # client cannot pick its own rate-limit bucket or login identity with a header.
    trusted_proxies: tuple[str, ...] = ()


def load_config(environ: Mapping[str, str] | None = None) -> WebConfig:
    """Agent credentials, feedback path and the customer question rate limit: the
    environment first, then the TOML file named by $PRIVACY_ASSISTANT_CONFIG
    (``[agent] user/password``, ``[feedback] db``, ``[limits] rate_per_minute``)."""
    env = os.environ if environ is None else environ
    table: dict[str, Any] = {}
    if path := env.get(ENV_CONFIG):
        try:
            with open(path, "rb") as handle:
                table = tomllib.load(handle)
        except OSError as exc:
            raise InputError(f"{ENV_CONFIG}={path}: cannot be read ({exc.strerror})") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{ENV_CONFIG}={path}: invalid TOML ({exc})") from None
    agent = table.get("agent", {})
    user = env.get(ENV_USER) or str(agent.get("user", ""))
    password = env.get(ENV_PASSWORD) or str(agent.get("password", ""))
    db = env.get(ENV_FEEDBACK_DB) or str(table.get("feedback", {}).get("db", "")) or "feedback.sqlite3"
    credentials = Credentials(user.strip(), password) if user.strip() and password else None
    rate = env.get(ENV_RATE) or str(table.get("limits", {}).get("rate_per_minute", "")) or str(DEFAULT_RATE_PER_MINUTE)
    try:
        rate_per_minute = float(rate)
    except ValueError:
        raise InputError(f"{ENV_RATE}={rate!r}: not a number of questions per minute") from None
    if not rate_per_minute >= 0:
        raise InputError(f"{ENV_RATE}={rate!r}: must be 0 (no limit) or more")
    proxies_raw = env.get(ENV_PROXIES) or ",".join(str(p) for p in table.get("server", {}).get("trusted_proxies", []))
    proxies = tuple(p.strip() for p in proxies_raw.split(",") if p.strip())
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise InputError(f"{ENV_PROXIES}: {proxy!r} is not an IP address or network") from None
    return WebConfig(credentials, Path(db), rate_per_minute, proxies)


# The client of the login request being checked (set by the server's middleware: Gradio
# calls `auth(user, password)` without the request) and what the guard decided about it.
_LOGIN: ContextVar[dict[str, Any] | None] = ContextVar("privacy_assistant_login", default=None)
MAX_USER_CHARS = 128
MAX_PASSWORD_CHARS = 1024


class LoginGuard:
    """Gradio's `auth` callable: checks the configured credentials, and after
    `max_failures` failed logins for a user name *from one client* within `window_s`
    refuses that client and name (even with the right password) until the window has
    passed. Other clients are not affected, so nobody can lock the real agent out from
    elsewhere. Memory stays bounded: at most `max_entries` (client, name) pairs, oldest
    dropped first, names cut to `MAX_USER_CHARS`, entries forgotten once expired."""

    def __init__(
        self,
        credentials: Credentials,
        max_failures: int = 5,
        window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._credentials = credentials
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_entries = max_entries
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(user: str) -> tuple[str, str]:
        login = _LOGIN.get()
        return (str(login.get("client", "unknown")) if login else "unknown", user[:MAX_USER_CHARS])

    def locked_for(self, user: str) -> float:
        """Seconds until this client may try this user name again (0: not locked)."""
        now = self._clock()
        key = self._key(user)
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
            if recent:
                self._failures[key] = recent
            else:
                self._failures.pop(key, None)
            if len(recent) < self.max_failures:
                return 0.0
            return self.window_s - (now - recent[-self.max_failures])

    def locked(self, user: str) -> bool:
        return self.locked_for(user) > 0

    def __call__(self, user: str, password: str) -> bool:
        login = _LOGIN.get()
        if (wait := self.locked_for(user)) > 0:
            if login is not None:
                login["locked_for"] = wait
            log.warning("agent login refused: too many failed attempts from this client for this user name")
            return False
        ok = (
            len(user) <= MAX_USER_CHARS
            and len(password) <= MAX_PASSWORD_CHARS
            and hmac.compare_digest(user.encode(), self._credentials.user.encode())
            & hmac.compare_digest(password.encode(), self._credentials.password.encode())
        )
        if not ok:
            self._record_failure(user)
            log.warning("agent login failed")
        return bool(ok)

    def _record_failure(self, user: str) -> None:
        now = self._clock()
        key = self._key(user)
        with self._lock:
            self._failures.setdefault(key, []).append(now)
            self._failures.move_to_end(key)
            self._failures[key] = self._failures[key][-self.max_failures :]
            while len(self._failures) > self.max_entries:
                self._failures.popitem(last=False)

    def __len__(self) -> int:
        return len(self._failures)


LOCKED_MESSAGE = "Too many failed sign-ins from this device. Try again in {minutes} minute{s}."


class RateLimiter:
    """A token bucket per client key: `per_minute` questions a minute on average, and at
    most `burst` (default: one minute's worth) at once. `per_minute <= 0` never limits.
    Full (idle) buckets are dropped once more than `max_clients` are held, so memory stays
    bounded."""

    def __init__(
        self,
        per_minute: float = DEFAULT_RATE_PER_MINUTE,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.per_minute = per_minute
        self.burst = max(1.0, burst if burst is not None else per_minute)
        self.max_clients = max_clients
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def _tokens(self, tokens: float, when: float, now: float) -> float:
        return min(self.burst, tokens + (now - when) * self.per_minute / 60.0)

    def allow(self, key: str) -> bool:
        """Take one token from `key`'s bucket; False (and nothing taken) when it is empty."""
        if self.per_minute <= 0:
            return True
        now = self._clock()
        with self._lock:
            tokens, when = self._buckets.get(key, (self.burst, now))
            tokens = self._tokens(tokens, when, now)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > self.max_clients:
                self._buckets = {
                    k: (t, w) for k, (t, w) in self._buckets.items() if self._tokens(t, w, now) < self.burst
                }
            return allowed

    def __len__(self) -> int:
        return len(self._buckets)


def client_key(request: gr.Request | None) -> str:
    """Who is asking, for the rate limit: the connecting address (behind a reverse proxy
    that is the proxy's; forwarded-for headers are not trusted)."""
    client = getattr(request, "client", None) if request is not None else None
    return str(getattr(client, "host", "") or "unknown")


RATE_LIMITED = {
    "en": "You're sending questions faster than I can answer them. Please wait a moment and try again.",
    "zh": "您提问的速度有点快，请稍等片刻再试。",
}


# -- the apps ---------------------------------------------------------------------------------

CSS = """
#pa-intro h1 { font-size: 1.5em; margin: 0 0 6px 0; }
.pa-reply p { margin: 0.25em 0; }
#pa-chat .prose { opacity: 1 !important; }  /* Gradio dims replies to 0.8: text under WCAG contrast */
.pa-lead { font-size: 1.05em; }
.pa-lead .pa-n, .pa-reply .pa-n { color: #4b5563; font-size: 0.85em; }
.pa-source-body { margin: 4px 0 8px 0; }
.pa-source-body .pa-clause { margin: 4px 0; padding: 4px 10px; border-left: 3px solid #cbd5e1; white-space: normal; }
.pa-page a, .pa-source-body a { color: #1d4ed8; }
.pa-not-addressed { font-weight: 600; color: #92400e; }
.pa-score { border-bottom: 1px dotted #6b7280; cursor: help; }
#pa-copied p { margin: 6px 0 0 0; color: #166534; }
/* A phone: the question box on the first screen, replies the full width of the chat. */
@media (max-width: 640px) {
  #pa-chat { height: calc(100dvh - 360px) !important; min-height: 260px; }
  #pa-chat .message-row { margin: 8px 0 !important; max-width: 100% !important; width: 100% !important; }
  #pa-chat .message-row .message, #pa-chat .message-row .role, #pa-chat .message-row .flex-wrap,
  #pa-chat .message-row .message-content { max-width: 100% !important; width: 100% !important; }
  #pa-chat .message-row .bot.message, #pa-chat .message-row .user.message { padding: 4px 8px !important; }
  #pa-chat .message-wrap { padding: 2px !important; }
  #pa-intro p { font-size: 0.85em; margin: 0; }
  #pa-intro h1 { font-size: 1.2em; margin: 0 0 4px 0; }
}
.pa-warning { background: #fff4e5; border-left: 4px solid #f59e0b; padding: 6px 10px; color: #7c2d12; }
.pa-asked { color: #6b7280; font-size: 0.9em; }
.pa-contact { font-weight: 600; }
.pa-sources-title { font-weight: 600; margin-top: 0.6em !important; }
.pa-citation summary, #pa-chat summary { cursor: pointer; color: #1d4ed8 !important; }
/* Gradio's footer and hint texts are #bbbbc2 on white (1.9:1): darkened to pass WCAG AA. */
.show-api, .show-api *, footer a, .info-text, span[data-testid="block-info"] + .info-text { color: #4b5563 !important; }
.pa-citation blockquote { margin: 4px 0 8px 0; padding: 4px 10px; border-left: 3px solid #cbd5e1; }
mark { background: #fde68a; color: inherit; padding: 0 1px; }
.pa-agent-answer { font-size: 1.05em; line-height: 1.5; }
.pa-agent-answer.pa-abstained { color: #92400e; }
.pa-ref { text-decoration: none; font-weight: 600; }
.pa-meta, .pa-ids { color: #6b7280; font-size: 0.8em; }
.pa-source, .pa-compare { border: 1px solid #e5e7eb; border-radius: 8px; padding: 8px 12px; margin-bottom: 10px; }
.pa-section { color: #374151; font-size: 0.9em; margin: 2px 0 6px 0; }
.pa-clause { white-space: pre-wrap; line-height: 1.5; }
.pa-export { display: inline-block; padding: 4px 12px; border: 1px solid #d1d5db; border-radius: 6px; }
.pa-badge { background: #fee2e2; color: #991b1b; border-radius: 4px; padding: 0 6px; font-size: 0.8em; }
.pa-doc-head { margin-bottom: 6px; }
.pa-doc { white-space: pre-wrap; max-height: 560px; overflow-y: auto; border: 1px solid #e5e7eb;
          border-radius: 8px; padding: 10px 14px; line-height: 1.5; }
.pa-target { background: #dbeafe; border-radius: 2px; }
.pa-empty { color: #6b7280; font-style: italic; }
"""

# One-click copy of the e-mail reply: the clipboard API where the page is a secure context
# (HTTPS, localhost), a selected hidden textarea and execCommand elsewhere; the result is shown.
COPY_JS = """
async (text) => {
  if (!text) { return "Ask a question first."; }
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(text); }
    else {
      const area = document.createElement("textarea");
      area.value = text; area.setAttribute("readonly", ""); area.style.position = "fixed"; area.style.opacity = "0";
      document.body.appendChild(area); area.select();
      const ok = document.execCommand("copy"); area.remove();
      if (!ok) { throw new Error("copy refused"); }
    }
    return "✓ Copied to the clipboard (" + text.length + " characters).";
  } catch (e) {
    return "Could not copy automatically: select the text and press Ctrl+C.";
  }
}
"""

# After a reply arrives: the chat shows the start of the new reply (its warning, its lead),
# not its end; the page itself is left where it is.
SHOW_REPLY_JS = """
() => {
  const box = document.querySelector('#pa-chat');
  const replies = box ? box.querySelectorAll('.pa-reply') : [];
  if (!replies.length) { return; }
  const reply = replies[replies.length - 1];
  let scroller = reply.parentElement;
  while (scroller && scroller !== box.parentElement) {
    const style = getComputedStyle(scroller);
    if (/(auto|scroll)/.test(style.overflowY) && scroller.scrollHeight > scroller.clientHeight) { break; }
    scroller = scroller.parentElement;
  }
  if (!scroller || scroller === box.parentElement) { return; }
  const row = reply.closest('.message-row') || reply;
  scroller.scrollTop += row.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
}
"""

# After "open in document" renders, bring the cited clause into view inside the panel.
SCROLL_JS = """
watch('value', () => {
  const target = element.querySelector('.pa-target');
  const box = element.querySelector('.pa-doc');
  if (target && box) { box.scrollTop = target.offsetTop - box.offsetTop - 40; }
});
"""


def _theme() -> Any:
    import gradio as gr

    # System fonts only: the default theme would fetch Google fonts at run time.
    # Primary buttons: white on orange-800 (7.3:1; the default orange-500 gave 2.8:1, under
    # WCAG's 4.5:1).
    return gr.themes.Default(
        font=[gr.themes.Font("system-ui"), "sans-serif"],
        font_mono=[gr.themes.Font("ui-monospace"), "monospace"],
    ).set(
        button_primary_background_fill="#9a3412",
        button_primary_background_fill_hover="#7c2d12",
        button_primary_background_fill_dark="#9a3412",
        button_primary_background_fill_hover_dark="#7c2d12",
        button_primary_text_color="#ffffff",
        button_primary_text_color_dark="#ffffff",
        button_primary_border_color="#9a3412",
        button_primary_border_color_dark="#9a3412",
    )


@dataclass
class _ChatState:
    """One customer's conversation (kept in the browser session, never on disk)."""

    history: list[dict[str, str]] = field(default_factory=list)
    topic: str = ""
    turns: dict[int, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    voted: set[int] = field(default_factory=set)  # one vote per answer: a script cannot stuff the ratings


def _customer_api(
    assistant: Assistant, store: FeedbackStore, limiter: RateLimiter | None = None, llm: LLMAnswerer | None = None
) -> Callable[..., dict[str, Any]]:
    import gradio as gr

    answerer = llm.ask if llm is not None else assistant.ask

    def ask(question: str, doc_id: str = "", request: gr.Request | None = None) -> dict[str, Any]:
        """Answer a privacy question as the customer chat does (no scores, no clause ids)."""
        text = clean_input(question if isinstance(question, str) else "")
        if len(text) > assistant.config.max_question_chars:  # checked first: redacting 1 MB is not free
            raise gr.Error(f"question is over the {assistant.config.max_question_chars:,}-character limit")
        if limiter is not None and not limiter.allow(client_key(request)):
            red = redact(text)
            lang = language_of(red.text)
            return {
                "answer": RATE_LIMITED[lang],
                "abstained": True,
                "lang": lang,
                "contact": "",
                "redacted": list(red.kinds),
                "citations": [],
                "rate_limited": True,
            }
        red = redact(text)
        metas = assistant.state().metas
        try:
            if doc_id and (doc_id not in metas or not metas[doc_id].is_current):
                raise InputError(f"doc_id: unknown policy {doc_id!r}")
            answer = answerer(red.text, {"doc_id": doc_id} if doc_id else {})
        except InputError as exc:
            raise gr.Error(str(exc)) from None  # shown to the caller; other errors stay internal
        store.log_message(
            view="customer",
            question=red.text,
            answer=answer.answer,
            clause_ids=[c.clause_id for c in answer.citations],
            abstained=answer.abstained,
        )
        return {
            "answer": answer.answer,
            "abstained": answer.abstained,
            "lang": answer.lang,
            "contact": answer.contact,
            "redacted": list(red.kinds),
            "lead": {k: answer.extras["lead"][k] for k in ("text", "n")} if "lead" in answer.extras else None,
            "citations": [
                {
                    "n": c.n,
                    "policy": title_of(metas.get(c.doc_id), c.doc_id, answer.lang),
                    "section": c.section,
                    "effective_date": metas[c.doc_id].effective_date if c.doc_id in metas else "",
                    "quote": c.quote,
                }
                for c in answer.citations
            ],
        }

    # Gradio injects the request by the parameter's type (and leaves it out of the API);
    # with postponed annotations it needs the real class.
    ask.__annotations__["request"] = gr.Request
    return ask


def build_customer_app(
    assistant: Assistant, store: FeedbackStore, limiter: RateLimiter | None = None, llm: LLMAnswerer | None = None
) -> gr.Blocks:
    """The public self-serve chat. `limiter` (when given) limits each client's questions,
    in the chat and through the `/ask` API alike. With `llm`, answers come from the
    language model, streamed into the chat as it writes, then replaced by the validated
    answer and its citations."""
    import gradio as gr

    metas = assistant.state().metas
    choices = [("Any (the assistant chooses) · 自动选择", ""), *policy_choices(metas, include_superseded=False)]

    def respond_streaming(
        message: str, doc_id: str, state: _ChatState, request: gr.Request | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The chat's turn: the user's message, then the reply (with `llm`, first the model's
        draft as it arrives, then the checked answer)."""
        state = state if isinstance(state, _ChatState) else _ChatState()
        text = clean_input(message if isinstance(message, str) else "")
        if len(text) > assistant.config.max_question_chars:  # checked first; the message is not kept
            lang = language_of(text[:400])
            reply = render_customer_reply(None, metas, lang, message=TEXT[lang]["too_long"])
            state.history.append({"role": "assistant", "content": reply})  # only the short reply
            yield state.history, "", state
            return
        red = redact(text)
        lang = language_of(red.text)
        shown = red.text.strip()
        if shown:
            state.history.append({"role": "user", "content": render_user_message(shown)})
        if limiter is not None and not limiter.allow(client_key(request)):
            log.info("customer question refused: rate limit")
            reply = render_customer_reply(None, metas, lang, card_warning=red.had_card, message=RATE_LIMITED[lang])
            state.history.append({"role": "assistant", "content": reply})
            yield state.history, "", state
            return
        for event in customer_turn_events(assistant, store, state, red.text, doc_id, lang, red.had_card, llm):
            if isinstance(event, str):
                yield [*state.history, {"role": "assistant", "content": render_draft(event, lang)}], "", state
                continue
            reply, answer, asked = event
            state.history.append({"role": "assistant", "content": reply})
            if answer is not None:
                state.turns[len(state.history) - 1] = (
                    asked,
                    answer.answer,
                    tuple(c.clause_id for c in answer.citations),
                )
            yield state.history, "", state

    def respond(message: str, doc_id: str, state: _ChatState, request: gr.Request | None = None) -> tuple[Any, ...]:
        *_, last = respond_streaming(message, doc_id, state, request)
        return last

    def like(data: gr.LikeData, state: _ChatState, request: gr.Request | None = None) -> None:
        if not isinstance(state, _ChatState) or not isinstance(data.index, int) or data.index not in state.turns:
            return
        if data.liked not in (True, False) or data.index in state.voted:
            return  # a like taken back, or this answer already rated in this session
        if limiter is not None and not limiter.allow(client_key(request)):
            log.info("customer feedback refused: rate limit")
            return  # ratings count against the same per-client limit as questions
        state.voted.add(data.index)
        question, answer_text, clause_ids = state.turns[data.index]
        store.add(
            view="customer",
            question=question,
            answer=answer_text,
            clause_ids=clause_ids,
            rating=1 if data.liked else -1,
        )

    # Gradio injects LikeData and Request by the parameter's type; with postponed
    # annotations and gradio imported here (not at module import) it needs the real class.
    like.__annotations__["data"] = gr.LikeData
    like.__annotations__["request"] = gr.Request
    respond.__annotations__["request"] = gr.Request
    respond_streaming.__annotations__["request"] = gr.Request

    with gr.Blocks(title="Privacy questions · 隐私问题", analytics_enabled=False) as demo:
        gr.Markdown(
            elem_id="pa-intro",
            value="# Questions about your privacy? · 隐私问题\n"
            "Ask in English or Chinese. Answers quote our privacy policies. "
            "Please don't share card numbers or other personal details here. · "
            "请用中文或英文提问，回答均引自我们的隐私政策。请勿在此发送银行卡号等个人信息。"
        )
        state = gr.State(_ChatState())
        with gr.Row():
            policy = gr.Dropdown(
                choices=choices, value="", label="Site / region · 网站 / 地区", scale=1, elem_id="pa-policy"
            )
        chat = gr.Chatbot(
            label="Privacy assistant",
            show_label=False,  # its floating label covered the first line of a reply
            elem_id="pa-chat",
            height=520,
            latex_delimiters=[],
            sanitize_html=True,
            autoscroll=False,  # SHOW_REPLY_JS shows the start of each new reply instead
            buttons=["copy", "copy_all"],  # no "share" (to Hugging Face: nothing leaves this server)
            feedback_options=("Like", "Dislike"),
            placeholder="Ask a question, e.g. “How long do you keep my data?” · 例如：“你们会保存我的数据多久？”",
        )
        with gr.Row():
            box = gr.Textbox(
                label="Your question · 您的问题",
                show_label=False,
                placeholder="Type your question · 输入您的问题",
                scale=5,
                elem_id="pa-question",
                max_lines=4,
            )
            send = gr.Button("Send · 发送", variant="primary", scale=1, elem_id="pa-send")
        gr.Examples(
            examples=[
                "How long do you keep my data?",
                "Do you sell my personal information?",
                "How can I delete my data?",
                "你们如何保护我的个人信息？",
            ],
            inputs=[box],
            label="Examples · 示例",
        )
        for trigger in (box.submit, send.click):
            trigger(
                respond if llm is None else respond_streaming,
                [box, policy, state],
                [chat, box, state],
                api_visibility="private",
                show_progress="minimal",
            ).then(None, None, None, js=SHOW_REPLY_JS)
        chat.like(like, [state], None, api_visibility="private")
        gr.api(_customer_api(assistant, store, limiter, llm), api_name="ask")
    return demo


Turn = tuple[str, Answer | None, str]


def customer_turn_events(
    assistant: Assistant,
    store: FeedbackStore,
    state: _ChatState,
    text: str,
    doc_id: str,
    lang: str,
    had_card: bool,
    llm: LLMAnswerer | None = None,
) -> Iterator[str | Turn]:
    """One (redacted) customer message as events: the model's reply so far (str; only with
    `llm`), then the turn: the reply HTML, the answer, and what was asked."""
    metas = assistant.state().metas
    t = TEXT[lang]
    leftover = text
    for placeholder in PLACEHOLDERS.values():
        leftover = leftover.replace(placeholder, " ")
    if not re.search(r"\w", leftover):
        message = t["card_only"] if had_card else t["empty"]
        yield render_customer_reply(None, metas, lang, card_warning=had_card, message=message), None, ""
        return
    if len(text) > assistant.config.max_question_chars:
        yield render_customer_reply(None, metas, lang, card_warning=had_card, message=t["too_long"]), None, ""
        return
    follow = rewrite_followup(state.topic, text, SCOPE_WORDS | metas.brand_names | metas.region_names)
    # What the customer asked for is in their words, not in the redacted number: the
    # placeholder is left out of the question, and a customer who just typed a card number
    # is never quoted a sentence asking for card details.
    asked = re.sub(r"\s{2,}", " ", follow.question.replace(PLACEHOLDERS[CARD], " ")).strip() if had_card else ""
    avoid = CARD_REQUEST if had_card else None
    filters: dict[str, object] = {"doc_id": doc_id} if doc_id in metas else {}
    try:
        if llm is None:
            answer = assistant.ask(asked or follow.question, filters, avoid=avoid)
        else:
            final: Answer | None = None
            for event in llm.stream(follow.question, filters):
                if isinstance(event, Answer):
                    final = event
                else:
                    yield event
            assert final is not None  # the stream ends with the answer
            answer = final
    except InputError as exc:
        log.info("customer question refused: %s", exc)
        message = t["too_long"] if len(follow.question) > len(text) else t["empty"]
        yield render_customer_reply(None, metas, lang, card_warning=had_card, message=message), None, ""
        return
    except Exception:
        log.exception("customer question failed: %r", follow.question)
        yield render_customer_reply(None, metas, lang, card_warning=had_card, message=t["error"]), None, ""
        return
    state.topic = follow.topic
    log.info("customer asked %r (%s)", follow.question, "abstained" if answer.abstained else "answered")
    store.log_message(
        view="customer",
        question=follow.question,
        answer=answer.answer,
        clause_ids=[c.clause_id for c in answer.citations],
        abstained=answer.abstained,
    )
    reply = render_customer_reply(
        answer,
        metas,
        lang,
        clause_of=_clause_lookup(assistant),
        card_warning=had_card,
        asked=follow.question if follow.rewritten else "",
    )
    yield reply, answer, follow.question


DRAFT = {"en": "Checking this draft against the policies…", "zh": "正在根据隐私政策核对草稿……"}


def render_draft(text: str, lang: str) -> str:
    """The model's reply as it is being written: escaped, marked as a draft to be checked."""
    return f'<div class="pa-reply pa-draft"><p class="pa-asked">{esc(DRAFT[lang])}</p><p>{lines_html(text)}</p></div>'


def generator_note(answer: Answer) -> str:
    """For agents: which generator wrote the answer, and what was dropped from the model's reply."""
    generator = str(answer.extras.get("generator", "extractive"))
    dropped = answer.extras.get("dropped") or []
    parts = [f"generator: {generator}"]
    if reason := answer.extras.get("fallback_reason"):
        parts.append(f"model reply not used: {reason}")
    if dropped:
        parts.append(
            f"{len(dropped)} reply sentence(s) dropped: "
            + "; ".join(f"“{d['sentence']}” ({d['reason']})" for d in dropped[:5])
        )
    return f'<p class="pa-meta pa-generator">{esc(" · ".join(parts))}</p>'


def _clause_lookup(assistant: Assistant) -> Callable[[str], Clause | None]:
    index = assistant.state().index

    def clause_of(clause_id: str) -> Clause | None:
        row = index.by_id.get(clause_id)
        return index.clauses[row] if row is not None else None

    return clause_of


def compare_presets(metas: Mapping[str, DocumentMeta]) -> list[tuple[str, tuple[str, str]]]:
    """One-click comparisons worked out from the catalogue, never from doc ids in code: each
    superseded version against the one that replaced it, and the first current worldwide
    policies of two different brands."""
    presets: list[tuple[str, tuple[str, str]]] = []
    for meta in sorted(metas.values(), key=lambda m: (m.brand, m.effective_date, m.doc_id)):
        newer = metas.get(meta.superseded_by)
        if newer is not None:
            old_year, new_year = meta.effective_date[:4], newer.effective_date[:4]
            label = f"{meta.brand or title_of(meta, meta.doc_id)} {old_year} vs {new_year}".strip()
            presets.append((label, (meta.doc_id, newer.doc_id)))
    broad = sorted(
        (m for m in metas.values() if m.is_current and not m.regional and m.brand and m.effective_date),
        key=lambda m: (m.brand, m.doc_id),
    )
    by_brand: dict[str, DocumentMeta] = {}
    for meta in broad:
        by_brand.setdefault(meta.brand, meta)
    if len(by_brand) >= 2:
        a, b = list(by_brand.values())[:2]
        presets.append((f"{a.brand} vs {b.brand}", (a.doc_id, b.doc_id)))
    return presets


def build_agent_app(assistant: Assistant, store: FeedbackStore, llm: LLMAnswerer | None = None) -> gr.Blocks:
    """The agent console: policy selector, cited answers, sources, documents, versions, feedback.
    With `llm`, answers (and the `/ask` API) come from the language model, validated; the
    version comparison stays extractive."""
    import gradio as gr

    answerer = llm.ask if llm is not None else assistant.ask

    metas = assistant.state().metas
    all_choices = [("Current policies (the assistant chooses)", ""), *policy_choices(metas, include_superseded=True)]
    doc_choices = policy_choices(metas, include_superseded=True)
    presets = compare_presets(metas)
    default_pair = presets[0][1] if presets else ((doc_choices[0][1], doc_choices[-1][1]) if doc_choices else ("", ""))

    def answer_question(question: str, doc_id: str) -> tuple[Any, ...]:
        red = redact(question or "")
        filters: dict[str, object] = {"doc_id": doc_id} if doc_id else {}
        try:
            answer = answerer(red.text, filters)
        except InputError as exc:
            msg = f'<div class="pa-agent-answer pa-abstained"><p>{esc(str(exc).capitalize())}.</p></div>'
            return (msg, "", "", [], gr.update(choices=[], value=None), "", None, "")
        log.info("agent asked %r (%s)", red.text, "abstained" if answer.abstained else "answered")
        store.log_message(
            view="agent",
            question=red.text,
            answer=answer.answer,
            clause_ids=[c.clause_id for c in answer.citations],
            abstained=answer.abstained,
        )
        current = assistant.state().metas
        clause_of = _clause_lookup(assistant)
        opens = [(citation_label(c, current.get(c.doc_id)), c.n) for c in answer.citations]
        notice = ""
        if red.had_card:
            notice = '<p class="pa-warning">A card number was removed from the question before it was asked.</p>'
        return (
            notice + render_agent_answer(answer) + (generator_note(answer) if llm is not None else ""),
            render_sources(answer, current, clause_of),
            email_text(answer, current),
            retrieval_rows(answer, current),
            gr.update(choices=opens, value=None),
            "",
            answer,
            "",
        )

    def open_document(n: int | None, answer: Answer | None) -> str:
        if answer is None or n is None:
            return ""
        c = next((c for c in answer.citations if c.n == n), None)
        state = assistant.state()
        clause = _clause_lookup(assistant)(c.clause_id) if c else None
        if c is None or clause is None or c.doc_id not in state.index.documents:
            return '<p class="pa-empty">This clause is no longer in the index.</p>'
        return render_document(state.index.documents[c.doc_id].text, state.metas.get(c.doc_id), clause, c)

    def rate(rating: int) -> Callable[[str, Answer | None], tuple[str, str]]:
        def save(comment: str, answer: Answer | None) -> tuple[str, str]:
            if answer is None:
                return "Ask a question first, then rate its answer.", comment
            row = store.add(
                view="agent",
                question=answer.question,
                answer=answer.answer,
                clause_ids=[c.clause_id for c in answer.citations],
                rating=rating,
                comment=comment or "",
            )
            word = "👍 helpful" if rating > 0 else "👎 not helpful"
            return f"Thanks: feedback #{row.id} saved ({word}).", ""

        return save

    def feedback_rows() -> list[list[object]]:
        rows = store.rows()[-100:]
        return [
            [r.id, r.created_at.replace("T", " ")[:16], r.view, "+1" if r.rating > 0 else "-1", r.question, r.comment]
            for r in reversed(rows)
        ]

    def compare(doc_a: str, doc_b: str, topic: str) -> tuple[str, str]:
        current = assistant.state().metas
        clause_of = _clause_lookup(assistant)
        panels = []
        for doc_id in (doc_a, doc_b):
            if doc_id not in current:
                panels.append('<p class="pa-empty">Choose a document.</p>')
                continue
            try:
                answer = assistant.ask(redact(topic or "").text, {"doc_id": doc_id})
            except InputError as exc:
                panels.append(f'<p class="pa-empty">{esc(str(exc).capitalize())}.</p>')
                continue
            panels.append(render_compare_panel(current.get(doc_id), doc_id, answer, clause_of))
        return panels[0], panels[1]

    with gr.Blocks(title="Privacy assistant · agent console", analytics_enabled=False) as demo:
        last = gr.State(None)
        with gr.Row():
            gr.Markdown("# Privacy assistant · agent console")
            gr.Button("Log out", link=f"{AGENT_PATH}/logout", size="sm", scale=0, elem_id="pa-logout")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                with gr.Row():
                    with gr.Column(scale=3):
                        policy = gr.Dropdown(
                            choices=all_choices,
                            value="",
                            label="Policy (brand · region · version)",
                            elem_id="pa-agent-policy",
                        )
                        question = gr.Textbox(  # one line: Enter asks, Shift+Enter starts a new line
                            label="Question",
                            lines=1,
                            max_lines=6,
                            elem_id="pa-agent-question",
                            placeholder="e.g. How long does Cartier keep customer data?",
                            info="Enter to ask · Shift+Enter for a new line",
                        )
                        go = gr.Button("Answer", variant="primary", elem_id="pa-agent-ask")
                        gr.Markdown("## Answer")
                        answer_html = gr.HTML(elem_id="pa-agent-answer")
                        with gr.Group():
                            with gr.Row():
                                up = gr.Button("👍 Helpful", size="sm", elem_id="pa-up")
                                down = gr.Button("👎 Not helpful", size="sm", elem_id="pa-down")
                            comment = gr.Textbox(label="Comment (optional)", lines=1, elem_id="pa-comment")
                        feedback_status = gr.Markdown(elem_id="pa-feedback-status")
                        with gr.Group():
                            email = gr.Textbox(
                                label="Reply for e-mail (edit if needed, then copy)",
                                lines=6,
                                max_lines=14,
                                interactive=True,
                                elem_id="pa-email",
                            )
                            with gr.Row():
                                copy = gr.Button("📋 Copy reply", size="sm", scale=0, elem_id="pa-copy")
                                copied = gr.Markdown(elem_id="pa-copied")
                    with gr.Column(scale=4):
                        gr.Markdown("## Sources")
                        sources = gr.HTML(elem_id="pa-sources")
                        opener = gr.Radio(label="Open in document", choices=[], elem_id="pa-open")
                        document = gr.HTML(elem_id="pa-document", js_on_load=SCROLL_JS)
                with gr.Accordion("Retrieval details (top clauses and scores)", open=False, elem_id="pa-details"):
                    details = gr.Dataframe(
                        headers=RETRIEVAL_HEADERS,
                        interactive=False,
                        wrap=True,
                        column_widths=["6%", "8%", "26%", "36%", "24%"],
                        elem_id="pa-retrieval",
                    )
            with gr.Tab("Compare versions", id="compare"):
                gr.Markdown("The clause of each document that best matches a topic, side by side.")
                with gr.Row():
                    doc_a = gr.Dropdown(choices=doc_choices, value=default_pair[0], label="Left", elem_id="pa-cmp-a")
                    doc_b = gr.Dropdown(choices=doc_choices, value=default_pair[1], label="Right", elem_id="pa-cmp-b")
                with gr.Row():
                    topic = gr.Textbox(
                        label="Topic or section",
                        value="How long is personal information kept?",
                        scale=4,
                        elem_id="pa-cmp-topic",
                    )
                    cmp_go = gr.Button("Compare", variant="primary", scale=1, elem_id="pa-cmp-go")
                with gr.Row():
                    preset_buttons = []
                    for label, pair in presets:
                        if pair:
                            b = gr.Button(label, size="sm")
                            preset_buttons.append((b, pair))
                with gr.Row(equal_height=False):
                    left = gr.HTML(elem_id="pa-cmp-left")
                    right = gr.HTML(elem_id="pa-cmp-right")
            with gr.Tab("Feedback", id="feedback") as feedback_tab:
                gr.Markdown("Ratings and comments from both views (questions and comments are stored redacted).")
                with gr.Row():
                    refresh_btn = gr.Button("Refresh", size="sm", scale=0, elem_id="pa-refresh")
                    # Streamed by the server behind the agent login, never left in Gradio's shared
                    # file cache (which the public app serves).
                    gr.HTML(
                        f'<a id="pa-export" class="pa-export" href="{EXPORT_ROUTE.removeprefix(AGENT_PATH + "/")}" '
                        'download="feedback.csv">Export feedback (CSV)</a>'
                    )
                review = gr.Dataframe(
                    headers=["id", "time (UTC)", "view", "rating", "question", "comment"],
                    interactive=False,
                    wrap=True,
                    elem_id="pa-feedback-table",
                    column_widths=["6%", "16%", "9%", "7%", "37%", "25%"],
                )

        outputs = [answer_html, sources, email, details, opener, document, last, feedback_status]
        for trigger in (question.submit, go.click):
            trigger(answer_question, [question, policy], outputs, api_visibility="private")
        opener.change(open_document, [opener, last], [document], api_visibility="private")
        copy.click(None, [email], [copied], js=COPY_JS)
        up.click(rate(1), [comment, last], [feedback_status, comment], api_visibility="private")
        down.click(rate(-1), [comment, last], [feedback_status, comment], api_visibility="private")
        refresh_btn.click(feedback_rows, None, [review], api_visibility="private")
        feedback_tab.select(feedback_rows, None, [review], api_visibility="private")
        for trigger in (topic.submit, cmp_go.click):
            trigger(compare, [doc_a, doc_b, topic], [left, right], api_visibility="private")
        for button, pair in preset_buttons:  # a preset sets both versions and compares at once
            button.click(lambda p=pair: p, None, [doc_a, doc_b], api_visibility="private").then(
                compare, [doc_a, doc_b, topic], [left, right], api_visibility="private"
            )

        def api_ask(question: str, doc_id: str = "") -> dict[str, Any]:
            """The contract's full answer JSON (scores, clause ids, retrieved clauses)."""
            red = redact(question)
            return answerer(red.text, {"doc_id": doc_id} if doc_id else {}).to_json()

        gr.api(api_ask, api_name="ask")
    return demo


def _disabled_page() -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Agent console disabled</title>"
        "<p>The agent console is disabled: no credentials are configured. Set "
        f"<code>{ENV_USER}</code> and <code>{ENV_PASSWORD}</code>, or <code>[agent] user/password</code> "
        f"in the TOML file named by <code>{ENV_CONFIG}</code>, and restart.</p>"
    )


def build_server(
    assistant: Assistant, config: WebConfig | None = None, llm: LLMAnswerer | None = None
) -> fastapi.FastAPI:
    """One FastAPI app: the customer chat at "/" and, when credentials are configured,
    the agent console at "/agent" behind a login. `llm`: answer with the language model."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Gradio's queue rebuilds a pandas summary of its last 10,000 events after every event
    # (for its /monitoring page, unused here): 3-10 ms of CPU per request under load
    # (bench/load.py). Recompute it every 1,000 events, over at most 1,000.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
    import fastapi
    import gradio as gr
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

    config = config or load_config()
    store = FeedbackStore(config.feedback_db)
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_EdgeGuard)
    common: dict[str, Any] = {"theme": _theme(), "css": CSS, "ssr_mode": False, "footer_links": ["api"]}
    # The agent console is mounted first: a mount at "/" would swallow "/agent".
    if config.credentials is not None:

        @app.get(AGENT_PATH, include_in_schema=False)
        def agent_slash() -> RedirectResponse:
            return RedirectResponse(AGENT_PATH + "/")

        def export_feedback(request: fastapi.Request) -> Response:
            """The feedback as CSV, to a signed-in agent only; streamed, never stored as a file."""
            if not _agent_signed_in(app, request):
                return JSONResponse({"detail": "sign in to the agent console first"}, status_code=401)
            return Response(
                store.export_csv(),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": 'attachment; filename="feedback.csv"', "Cache-Control": "no-store"},
            )

        # FastAPI reads the request parameter by its class (postponed annotations are strings).
        export_feedback.__annotations__.update(request=fastapi.Request, **{"return": Response})
        app.get(EXPORT_ROUTE, include_in_schema=False)(export_feedback)

        agent = build_agent_app(assistant, store, llm)
        gr.mount_gradio_app(
            app,
            agent,
            path=AGENT_PATH,
            auth=LoginGuard(config.credentials),
            auth_message="Agent console: sign in with your agent credentials.",
            **common,
        )
    else:
        log.warning("agent console disabled: set %s and %s (or %s) to enable it", ENV_USER, ENV_PASSWORD, ENV_CONFIG)

        @app.get(AGENT_PATH, response_class=HTMLResponse)
        @app.get(AGENT_PATH + "/", response_class=HTMLResponse)
        def agent_disabled() -> str:
            return _disabled_page()

    # Customers see no tracebacks or internal messages (their handlers answer politely).
    limiter = RateLimiter(config.rate_per_minute)
    gr.mount_gradio_app(app, build_customer_app(assistant, store, limiter, llm), path="/", show_error=False, **common)
    return app


# Shown on the agent login page: Gradio's form says "Incorrect credentials" for any refusal;
# a locked sign-in (HTTP 429) gets its own message, with how long to wait.
_LOGIN_SCRIPT = """<script>(() => {
  const fetch0 = window.fetch;
  window.fetch = async (...args) => {
    const response = await fetch0(...args);
    const url = String((args[0] && args[0].url) || args[0]);
    if (response.status === 429 && /\\/login\\/?$/.test(url)) {
      let note = document.getElementById("pa-login-locked");
      if (!note) {
        note = document.createElement("p");
        note.id = "pa-login-locked";
        note.setAttribute("role", "alert");
        note.style.cssText = "color:#991b1b;font-weight:600;text-align:center;margin:12px auto;max-width:480px";
        (document.querySelector("form") || document.body).prepend(note);
      }
      let detail = "Try again later.";
      try { detail = (await response.clone().json()).detail; } catch (e) {}
      note.textContent = detail;
    }
    return response;
  };
})();</script>"""


def _agent_signed_in(app: Any, request: Any) -> bool:
    """Whether the request carries a session of the agent console's Gradio app (its login)."""
    for route in app.routes:
        gradio_app: Any = getattr(route, "app", None)
        if getattr(route, "path", None) == AGENT_PATH and hasattr(gradio_app, "tokens"):
            cookie_id = getattr(gradio_app, "cookie_id", "")
            for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
                token = request.cookies.get(name)
                if token and gradio_app.tokens.get(token):
                    return True
    return False


class _EdgeGuard:
    """ASGI middleware: closes Gradio's upload route (nothing in either view takes a file)
    and sends the agent console's requests through `_agent_guard`. Customer requests pass
    straight through, so the public chat pays nothing for the console's checks."""

    def __init__(self, app: Any) -> None:
        from starlette.middleware.base import BaseHTTPMiddleware

        self.app = app
        self.agent = BaseHTTPMiddleware(app, dispatch=_agent_guard)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path.rstrip("/").endswith("/gradio_api/upload"):
                from fastapi.responses import JSONResponse

                await JSONResponse({"detail": "uploads are not accepted"}, status_code=403)(scope, receive, send)
                return
            if path == AGENT_PATH or path.startswith(AGENT_PATH + "/"):
                await self.agent(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _agent_guard(request: Any, call_next: Callable[[Any], Any]) -> Any:
    """Middleware for the agent console: tells the login guard which client is signing in
    and answers a locked sign-in with its own message; no page of the console may be framed
    by another site (clickjacking)."""
    from fastapi.responses import JSONResponse, Response

    path = request.url.path  # an agent path: `_EdgeGuard` sends only those here
    if request.method == "POST" and path.rstrip("/").endswith("/cancel") and not _agent_signed_in(request.app, request):
        return JSONResponse({"detail": "Not authenticated"}, status_code=401)  # Gradio leaves this route open
    login: dict[str, Any] | None = None
    token = None
    if request.method == "POST" and path.rstrip("/").endswith("/login"):
        login = {"client": request.client.host if request.client else "unknown"}
        token = _LOGIN.set(login)
    try:
        response = await call_next(request)
    finally:
        if token is not None:
            _LOGIN.reset(token)
    if login is not None and (wait := float(login.get("locked_for", 0.0))) > 0:
        minutes = max(1, math.ceil(wait / 60))
        detail = LOCKED_MESSAGE.format(minutes=minutes, s="" if minutes == 1 else "s")
        response = JSONResponse({"detail": detail}, status_code=429, headers={"Retry-After": str(math.ceil(wait))})
    elif request.method == "GET" and response.headers.get("content-type", "").startswith("text/html"):
        body = b"".join([chunk async for chunk in response.body_iterator])
        body = body.replace(b"</head>", _LOGIN_SCRIPT.encode() + b"</head>", 1)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        response = Response(body, status_code=response.status_code, headers=headers)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    return response


def launch(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860, llm: LLMAnswerer | None = None) -> None:
    """Serve both views until interrupted (called by `privacy-assistant serve`)."""
    import sys

    import uvicorn

    config = load_config()
    app = build_server(assistant, config, llm)
    agent = f"http://{host}:{port}{AGENT_PATH}/" if config.credentials else "disabled (no credentials configured)"
    print(
        f"customer chat: http://{host}:{port}/\nagent console: {agent}\nfeedback: {config.feedback_db}",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="warning",
        proxy_headers=bool(config.trusted_proxies),  # uvicorn would trust any client on 127.0.0.1
        forwarded_allow_ips=",".join(config.trusted_proxies) or None,
    )
