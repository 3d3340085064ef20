"""The public customer chat and its `/ask` API, both answering through one `CustomerService`:
redacted questions, answers in the customer's language, follow-ups, ratings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

# Imported here, not under TYPE_CHECKING: Gradio finds the request and event parameters of the
# handlers below by their annotations, which it resolves in this module's namespace. So this
# module is imported only when the app is built (`app.web` loads it lazily).
import gradio as gr

from app.catalog import Catalog
from app.feedback import FeedbackStore
from app.records import Clause
from app.web.assets import SHOW_REPLY_JS
from app.web.guards import RateLimiter, client_key
from app.web.render import (
    clarify_options,
    esc,
    lines_html,
    policy_choices,
    render_customer_reply,
    render_user_message,
    title_of,
)
from app.web.service import CustomerReply, CustomerService, Draft

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer

log = logging.getLogger(__name__)


@dataclass
class ChatState:
    """One customer's conversation (kept in the browser session, never on disk)."""

    history: list[dict[str, Any]] = field(default_factory=list)  # Gradio's message dicts
    topic: str = ""
    turns: dict[int, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    voted: set[int] = field(default_factory=set)  # one vote per answer: a script cannot stuff the ratings


def _api(service: CustomerService) -> Callable[..., dict[str, Any]]:
    def ask(question: str, doc_id: str = "", request: gr.Request | None = None) -> dict[str, Any]:
        """Answer a privacy question as the customer chat does (no scores, no clause ids)."""
        reply = service.ask(question, doc_id if isinstance(doc_id, str) else "", client_key(request))
        if reply.rate_limited:
            return {**_api_fields(reply, reply.message, None), "citations": [], "rate_limited": True}
        if reply.answer is None:
            raise gr.Error(reply.error, print_exception=False)  # one line to the caller, no traceback in the log
        return _api_json(reply, reply.answer, service.assistant.snapshot().catalog)

    return ask  # Gradio injects the request by its parameter's type, and leaves it out of the API


def _api_fields(reply: CustomerReply, text: str, answer: Any) -> dict[str, Any]:
    return {
        "answer": text,
        "abstained": True if answer is None else answer.abstained,
        "lang": reply.lang if answer is None else answer.lang,
        "contact": "" if answer is None else answer.contact,
        "redacted": list(reply.redacted),
    }


def _api_json(reply: CustomerReply, answer: Any, catalog: Catalog) -> dict[str, Any]:
    choices = [{"label": o["label"], "question": o["value"]} for o in clarify_options(answer)]
    return {
        **({"clarify": choices} if choices else {}),  # a clarifying question: the topics to pick from
        **_api_fields(reply, answer.answer, answer),
        "lead": {"text": answer.lead.text, "n": answer.lead.n} if answer.lead is not None else None,
        "citations": [
            {
                "n": c.n,
                "policy": title_of(catalog.get(c.doc_id), c.doc_id, answer.lang),
                "section": c.section,
                "effective_date": catalog[c.doc_id].effective_date if c.doc_id in catalog else "",
                "quote": c.quote,
            }
            for c in answer.citations
        ],
    }


class ChatTurns:
    """The chat's handlers: a question's turn (drafts, then the reply) and a rating."""

    def __init__(self, service: CustomerService) -> None:
        self.service = service

    def respond_streaming(
        self, message: str, doc_id: str, state: ChatState, request: gr.Request | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """The user's message, then the reply (with an LLM, first its draft as it arrives)."""
        state = state if isinstance(state, ChatState) else ChatState()
        assistant = self.service.assistant
        catalog = assistant.snapshot().catalog
        doc_id = doc_id if isinstance(doc_id, str) else ""
        events = self.service.turn(message, doc_id, client_key(request), state.topic)
        for n, event in enumerate(events):
            if n == 0 and event.said:  # the customer's own words, redacted, before any reply
                state.history.append({"role": "user", "content": render_user_message(event.said)})
            if isinstance(event, Draft):
                draft = {"role": "assistant", "content": render_draft(event.text, event.lang)}
                yield [*state.history, draft], "", state
                continue
            reply = render_customer_reply(
                event.answer, catalog, event.lang, clause_of=_clause_lookup(assistant), card_warning=event.had_card,
                asked=event.asked, message=event.message,
            )  # fmt: skip
            options = clarify_options(event.answer)  # a clarifying question: its choices as buttons
            state.history.append({"role": "assistant", "content": reply, **({"options": options} if options else {})})
            if event.answer is not None:
                state.topic = event.topic
                citations = tuple(c.clause_id for c in event.answer.citations)
                state.turns[len(state.history) - 1] = (event.question, event.answer.answer, citations)
            yield state.history, "", state

    def respond(
        self, message: str, doc_id: str, state: ChatState, request: gr.Request | None = None
    ) -> tuple[Any, ...]:
        *_, last = self.respond_streaming(message, doc_id, state, request)
        return last

    def like(self, data: gr.LikeData, state: ChatState, request: gr.Request | None = None) -> None:
        """A rating of an answer: one per answer and session, counted against the rate limit."""
        if not isinstance(state, ChatState) or not isinstance(data.index, int) or data.index not in state.turns:
            return
        if data.liked not in (True, False) or data.index in state.voted:
            return  # a like taken back, or this answer already rated in this session
        limiter = self.service.limiter
        if limiter is not None and not limiter.allow(client_key(request)):
            log.info("customer feedback refused: rate limit")
            return
        state.voted.add(data.index)
        question, answer_text, clause_ids = state.turns[data.index]
        rating = 1 if data.liked else -1
        store = self.service.store
        store.add(view="customer", question=question, answer=answer_text, clause_ids=clause_ids, rating=rating)


def build_customer_app(
    assistant: Assistant, store: FeedbackStore, limiter: RateLimiter | None = None, llm: LLMAnswerer | None = None
) -> gr.Blocks:
    """The public self-serve chat. `limiter` (when given) limits each client's questions,
    in the chat and through the `/ask` API alike. With `llm`, answers come from the
    language model, streamed into the chat as it writes, then replaced by the validated
    answer and its citations."""
    service = CustomerService(assistant, store, limiter, llm)
    chat_turn = ChatTurns(service)
    current = policy_choices(assistant.snapshot().catalog, include_superseded=False)
    choices = [("Any (the assistant chooses) · 自动选择", ""), *current]

    with gr.Blocks(title="Privacy questions · 隐私问题", analytics_enabled=False) as demo:
        policy, chat, box, send = _chat_layout(choices)
        state = gr.State(ChatState())
        respond = chat_turn.respond if llm is None else chat_turn.respond_streaming
        turn: dict[str, Any] = {"fn": respond, "inputs": [box, policy, state], "outputs": [chat, box, state],
                                "api_visibility": "private", "show_progress": "minimal"}  # fmt: skip
        for trigger in (box.submit, send.click):
            trigger(**turn).then(None, None, None, js=SHOW_REPLY_JS)
        # A clarifying question's choice: its question goes into the box and is sent as if typed.
        chat.option_select(_chosen, None, [box], api_visibility="private", queue=False).then(**turn).then(
            None, None, None, js=SHOW_REPLY_JS
        )
        chat.like(chat_turn.like, [state], None, api_visibility="private")
        gr.api(_api(service), api_name="ask")
    return demo


def _chat_layout(choices: list[tuple[str, str]]) -> tuple[Any, Any, Any, Any]:
    """The chat page: intro, policy selector, conversation, question box, examples."""
    with gr.Row(elem_id="pa-head"):  # on a desktop the selector sits beside the intro: the chat gets the height
        gr.Markdown(
            elem_id="pa-intro",
            value="# Questions about your privacy? · 隐私问题\n"
            "Ask in English or Chinese. Answers quote our privacy policies. "
            "Please don't share card numbers or other personal details here. · "
            "请用中文或英文提问，回答均引自我们的隐私政策。请勿在此发送银行卡号等个人信息。",
        )
        label = "Site / region · 网站 / 地区"
        policy = gr.Dropdown(choices=choices, value="", label=label, elem_id="pa-policy")
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
    with gr.Row(elem_id="pa-ask-row", equal_height=True):  # one row on a phone too: Send stays on the first screen
        box = gr.Textbox(label="Your question · 您的问题", show_label=False, scale=5, elem_id="pa-question",
                         placeholder="Ask here · 在此提问", max_lines=4, min_width=150)  # fmt: skip
        send = gr.Button("Send · 发送", variant="primary", scale=1, elem_id="pa-send", min_width=90)
    examples = ["How long do you keep my data?", "Do you sell my personal information?", "How can I delete my data?",
                "你们如何保护我的个人信息？"]  # fmt: skip
    gr.Examples(examples=examples, inputs=[box], label="Examples · 示例", elem_id="pa-examples")
    return policy, chat, box, send


def _chosen(data: gr.SelectData) -> str:
    """The question of the choice clicked under a clarifying reply."""
    return str(data.value)


DRAFT = {"en": "Checking this draft against the policies…", "zh": "正在根据隐私政策核对草稿……"}


def render_draft(text: str, lang: str) -> str:
    """The model's reply as it is being written: escaped, marked as a draft to be checked."""
    return f'<div class="pa-reply pa-draft"><p class="pa-asked">{esc(DRAFT[lang])}</p><p>{lines_html(text)}</p></div>'


def _clause_lookup(assistant: Assistant) -> Callable[[str], Clause | None]:
    index = assistant.snapshot().index

    def clause_of(clause_id: str) -> Clause | None:
        row = index.by_id.get(clause_id)
        return index.clauses[row] if row is not None else None

    return clause_of
