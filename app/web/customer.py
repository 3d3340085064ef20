"""The public customer chat and its `/ask` API: redacted questions, answers in the customer's
language, follow-ups, ratings."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.answer import Answer
from app.errors import InputError
from app.feedback import FeedbackStore
from app.followup import SCOPE_WORDS, rewrite_followup
from app.records import Clause
from app.redact import CARD, CARD_REQUEST, PLACEHOLDERS, redact
from app.render import (
    TEXT,
    esc,
    language_of,
    lines_html,
    policy_choices,
    render_customer_reply,
    render_user_message,
    title_of,
)
from app.text import clean_input

if TYPE_CHECKING:
    import gradio as gr

    from app.assistant import Assistant
    from app.llm import LLMAnswerer

from app.web.assets import SHOW_REPLY_JS
from app.web.guards import RATE_LIMITED, RateLimiter, client_key

log = logging.getLogger(__name__)


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
            filters: dict[str, object] = {"doc_id": doc_id} if doc_id else {}
            if red.had_card and llm is None:  # as in the chat
                answer = ask_after_card(assistant, red.text, filters)
            else:
                answer = answerer(red.text, filters)
        except InputError as exc:
            raise gr.Error(str(exc)) from None  # shown to the caller; other errors stay internal
        store.log_answer("customer", red.text, answer)
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
            "请用中文或英文提问，回答均引自我们的隐私政策。请勿在此发送银行卡号等个人信息。",
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


def ask_after_card(assistant: Assistant, question: str, filters: dict[str, object]) -> Answer:
    """The question of a customer who just typed a card number. What they asked for is in
    their words, not in the redacted number, so the placeholder is left out of the question;
    and they are never quoted a sentence asking for card details."""
    asked = re.sub(r"\s{2,}", " ", question.replace(PLACEHOLDERS[CARD], " ")).strip() or question
    return assistant.ask(asked, filters, avoid=CARD_REQUEST)


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
    filters: dict[str, object] = {"doc_id": doc_id} if doc_id in metas else {}
    try:
        if llm is None and had_card:
            answer = ask_after_card(assistant, follow.question, filters)
        elif llm is None:
            answer = assistant.ask(follow.question, filters)
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
    store.log_answer("customer", follow.question, answer)
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


def _clause_lookup(assistant: Assistant) -> Callable[[str], Clause | None]:
    index = assistant.state().index

    def clause_of(clause_id: str) -> Clause | None:
        row = index.by_id.get(clause_id)
        return index.clauses[row] if row is not None else None

    return clause_of
