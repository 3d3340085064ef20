"""The agent console: cited answers with sources, documents, the e-mail reply, version
comparison and feedback review."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# Not under TYPE_CHECKING: Gradio finds a handler's `gr.Request` parameter by its annotation,
# resolved in this module's namespace (`app.web` imports this module lazily).
import gradio as gr

from app.answer import Answer, Generation
from app.errors import InputError
from app.feedback import MAX_COMMENT_CHARS, FeedbackStore
from app.records import DocumentMeta
from app.redact import redact
from app.web.insights import build_insights_tab
from app.web.letter import Letter, email_text, render_draft_warnings
from app.web.render import (
    RETRIEVAL_HEADERS,
    citation_label,
    esc,
    policy_choices,
    render_agent_answer,
    render_compare_panel,
    render_document,
    render_sources,
    retrieval_rows,
    title_of,
)

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer

from app.web.assets import COPY_JS, SCROLL_JS
from app.web.config import AGENT_PATH, EXPORT_ROUTE
from app.web.customer import _clause_lookup
from app.web.service import bounded, checked_doc_id, preview
from app.web.session import LOGOUT_JS

log = logging.getLogger(__name__)


def generator_note(answer: Answer) -> str:
    """For agents: which generator wrote the answer, and what was dropped from the model's reply."""
    made = answer.generation or Generation("extractive")
    parts = [f"generator: {made.generator}"]
    if made.fallback_reason:
        parts.append(f"model reply not used: {made.fallback_reason}")
    if made.dropped:
        parts.append(
            f"{len(made.dropped)} reply sentence(s) dropped: "
            + "; ".join(f"“{d.sentence}” ({d.reason})" for d in made.dropped[:5])
        )
    return f'<p class="pa-meta pa-generator">{esc(" · ".join(parts))}</p>'


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


@dataclass
class _Widgets:
    """The console's components that handlers read or update (set once the layout is built)."""

    policy: Any
    question: Any
    answer: Any
    sources: Any
    email: Any
    email_warning: Any
    details: Any
    opener: Any
    document: Any
    last: Any
    feedback_status: Any
    comment: Any


class AgentConsole:
    """The agent console's handlers, each returning ``{component: value}`` for what it updates."""

    def __init__(
        self, assistant: Assistant, store: FeedbackStore, llm: LLMAnswerer | None = None, letter: Letter | None = None
    ) -> None:
        self.assistant = assistant
        self.store = store
        self.llm = llm
        self.letter = letter
        self.answerer = llm.ask if llm is not None else assistant.ask
        self.ui: _Widgets | None = None
        self.sides: tuple[Any, Any] | None = None  # the comparison's left and right panels

    def widgets(self) -> _Widgets:
        assert self.ui is not None, "build() first"
        return self.ui

    def _checked(self, question: object, doc_id: object) -> tuple[str, str]:
        """The question and policy filter, length-checked and validated before any redaction."""
        limit, catalog = self.assistant.config.max_question_chars, self.assistant.snapshot().catalog
        return bounded("question", question, limit), checked_doc_id(doc_id, catalog)

    def answer(self, question: str, doc_id: str) -> dict[Any, Any]:
        """Ask: the answer, its sources, the e-mail reply and the retrieval details."""
        ui = self.widgets()
        cleared = {ui.document: "", ui.feedback_status: ""}
        try:
            question, doc_id = self._checked(question, doc_id)
            red = redact(question)
            answer = self.answerer(red.text, {"doc_id": doc_id} if doc_id else {})
        except InputError as exc:
            msg = f'<div class="pa-agent-answer pa-abstained"><p>{esc(str(exc).capitalize())}.</p></div>'
            empty: dict[Any, Any] = {ui.sources: "", ui.email: "", ui.email_warning: "", ui.details: [], ui.last: None}
            return {ui.answer: msg, **empty, ui.opener: gr.update(choices=[], value=None), **cleared}
        log.info("agent asked %r (%s)", preview(red.text), "abstained" if answer.abstained else "answered")
        self.store.record_exchange("agent", red.text, answer)
        catalog = self.assistant.snapshot().catalog
        notice = ""
        if red.had_card:
            notice = '<p class="pa-warning">A card number was removed from the question before it was asked.</p>'
        opens = [(citation_label(c, catalog.get(c.doc_id)), c.n) for c in answer.citations]
        return {
            ui.answer: notice + render_agent_answer(answer) + (generator_note(answer) if self.llm is not None else ""),
            ui.sources: render_sources(answer, catalog, _clause_lookup(self.assistant)),
            ui.email: email_text(answer, catalog, self.letter),
            ui.email_warning: render_draft_warnings(answer, catalog),
            ui.details: retrieval_rows(answer, catalog),
            ui.opener: gr.update(choices=opens, value=None),
            ui.last: answer,
            **cleared,
        }

    def open_document(self, n: int | None, answer: Answer | None) -> dict[Any, Any]:
        """The whole policy, scrolled to the chosen citation's clause."""
        ui = self.widgets()
        if answer is None or n is None:
            return {ui.document: ""}
        c = next((c for c in answer.citations if c.n == n), None)
        snapshot = self.assistant.snapshot()
        clause = _clause_lookup(self.assistant)(c.clause_id) if c else None
        if c is None or clause is None or c.doc_id not in snapshot.index.documents:
            return {ui.document: '<p class="pa-empty">This clause is no longer in the index.</p>'}
        text = snapshot.index.documents[c.doc_id].text
        return {ui.document: render_document(text, snapshot.catalog.get(c.doc_id), clause, c)}

    def rate(self, rating: int, comment: str, answer: Answer | None) -> dict[Any, Any]:
        """Store the agent's rating (and comment) of the last answer."""
        ui = self.widgets()
        if answer is None:
            return {ui.feedback_status: "Ask a question first, then rate its answer.", ui.comment: comment}
        try:
            row = self.store.add(view="agent", question=answer.question, answer=answer.answer, rating=rating,
                                 clause_ids=[c.clause_id for c in answer.citations],
                                 comment=bounded("comment", comment, MAX_COMMENT_CHARS))  # fmt: skip
        except InputError as exc:
            return {ui.feedback_status: f"Not saved: {exc}.", ui.comment: comment}
        word = "👍 helpful" if rating > 0 else "👎 not helpful"
        return {ui.feedback_status: f"Thanks: feedback #{row.id} saved ({word}).", ui.comment: ""}

    def feedback_rows(self) -> list[list[object]]:
        """The last hundred ratings, newest first."""
        return [
            [r.id, r.created_at.replace("T", " ")[:16], r.view, "+1" if r.rating > 0 else "-1", r.question, r.comment]
            for r in reversed(self.store.rows()[-100:])
        ]

    def compare(self, doc_a: str, doc_b: str, topic: str) -> dict[Any, Any]:
        """The clause of each document that best answers a topic (extractive even with an LLM)."""
        assert self.sides is not None, "build() first"
        catalog = self.assistant.snapshot().catalog
        clause_of = _clause_lookup(self.assistant)
        panels = []
        for doc_id in (doc_a, doc_b):
            if not isinstance(doc_id, str) or doc_id not in catalog:
                panels.append('<p class="pa-empty">Choose a document.</p>')
                continue
            try:
                topic = bounded("topic", topic, self.assistant.config.max_question_chars)
                answer = self.assistant.ask(redact(topic).text, {"doc_id": doc_id})
            except InputError as exc:
                panels.append(f'<p class="pa-empty">{esc(str(exc).capitalize())}.</p>')
                continue
            panels.append(render_compare_panel(catalog.get(doc_id), doc_id, answer, clause_of))
        return dict(zip(self.sides, panels, strict=True))

    def api_ask(self, question: str, doc_id: str = "") -> dict[str, Any]:
        """The contract's full answer JSON (scores, clause ids, retrieved clauses); bad input: one line."""
        try:
            question, doc_id = self._checked(question, doc_id)
            return self.answerer(redact(question).text, {"doc_id": doc_id} if doc_id else {}).to_json()
        except InputError as exc:
            log.info("agent API question refused: %s", exc)
            raise gr.Error(str(exc), print_exception=False) from None


def signed_in_as(request: gr.Request) -> str:
    """Who is signed in, for the console's header: the user name our sign-in gave Gradio
    (`auth_dependency`), which Gradio hands every handler as `request.username`."""
    return f'<p class="pa-meta">Signed in as <strong>{esc(request.username or "")}</strong></p>'


def build_agent_app(
    assistant: Assistant, store: FeedbackStore, llm: LLMAnswerer | None = None, letter: Letter | None = None
) -> gr.Blocks:
    """The agent console: policy selector, cited answers, sources, documents, versions, feedback.
    With `llm`, answers (and the `/ask` API) come from the language model, validated; the
    version comparison stays extractive. `letter`: the e-mail draft's greeting and sign-off."""
    console = AgentConsole(assistant, store, llm, letter)
    catalog = assistant.snapshot().catalog
    with gr.Blocks(title="Privacy assistant · agent console", analytics_enabled=False) as demo:
        with gr.Row():
            gr.Markdown("# Privacy assistant · agent console")
            who = gr.HTML(elem_id="pa-signed-in")
            logout = gr.Button("Log out", size="sm", scale=0, elem_id="pa-logout")  # a POST with a CSRF token
            logout.click(None, None, None, js=LOGOUT_JS)
        demo.load(signed_in_as, None, [who], api_visibility="private")
        with gr.Tabs():
            with gr.Tab("Ask", id="ask"):
                console.ui = _ask_tab(catalog, console)
            with gr.Tab("Compare versions", id="compare"):
                _compare_tab(catalog, console)
            with gr.Tab("Feedback", id="feedback") as feedback_tab:
                _feedback_tab(console, feedback_tab)
            with gr.Tab("Insights", id="insights") as insights_tab:
                build_insights_tab(assistant, store, insights_tab)
        gr.api(console.api_ask, api_name="ask")
    return demo


def _ask_tab(catalog: Mapping[str, DocumentMeta], console: AgentConsole) -> _Widgets:
    """The Ask tab: question, answer, rating, e-mail reply, sources and the document."""
    choices = [("Current policies (the assistant chooses)", ""), *policy_choices(catalog, include_superseded=True)]
    with gr.Row():
        with gr.Column(scale=3):
            policy = gr.Dropdown(choices=choices, value="", label="Policy (brand · region · version)",
                                 elem_id="pa-agent-policy")  # fmt: skip
            question = gr.Textbox(  # one line: Enter asks, Shift+Enter starts a new line
                label="Question", lines=1, max_lines=6, elem_id="pa-agent-question",
                placeholder="e.g. How long is customer data kept?", info="Enter to ask · Shift+Enter for a new line",
            )  # fmt: skip
            go = gr.Button("Answer", variant="primary", elem_id="pa-agent-ask")
            gr.Markdown("## Answer")
            answer = gr.HTML(elem_id="pa-agent-answer")
            with gr.Group():
                with gr.Row():
                    up = gr.Button("👍 Helpful", size="sm", elem_id="pa-up")
                    down = gr.Button("👎 Not helpful", size="sm", elem_id="pa-down")
                comment = gr.Textbox(label="Comment (optional)", lines=1, elem_id="pa-comment")
            feedback_status = gr.Markdown(elem_id="pa-feedback-status")
            email_warning = gr.HTML(elem_id="pa-email-warning")  # beside the draft, never copied with it
            with gr.Group():
                email = gr.Textbox(label="Reply for e-mail (edit if needed, then copy)", lines=8, max_lines=24,
                                   interactive=True, elem_id="pa-email")  # fmt: skip
                with gr.Row():
                    copy = gr.Button("📋 Copy reply", size="sm", scale=0, elem_id="pa-copy")
                    copied = gr.Markdown(elem_id="pa-copied")
        with gr.Column(scale=4):
            gr.Markdown("## Sources")
            sources = gr.HTML(elem_id="pa-sources")
            opener = gr.Radio(label="Open in document", choices=[], elem_id="pa-open")
            document = gr.HTML(elem_id="pa-document", js_on_load=SCROLL_JS)
    with gr.Accordion("Retrieval details (top clauses and scores)", open=False, elem_id="pa-details"):
        details = gr.Dataframe(headers=RETRIEVAL_HEADERS, interactive=False, wrap=True,
                               column_widths=["6%", "8%", "26%", "36%", "24%"], elem_id="pa-retrieval")  # fmt: skip
    last = gr.State(None)
    ui = _Widgets(policy, question, answer, sources, email, email_warning, details, opener, document, last,
                  feedback_status, comment)  # fmt: skip
    outputs = [answer, sources, email, email_warning, details, opener, document, last, feedback_status]
    for trigger in (question.submit, go.click):
        trigger(console.answer, [question, policy], outputs, api_visibility="private")
    opener.change(console.open_document, [opener, last], [document], api_visibility="private")
    copy.click(None, [email], [copied], js=COPY_JS)
    for button, rating in ((up, 1), (down, -1)):
        button.click(lambda c, a, r=rating: console.rate(r, c, a), [comment, last], [feedback_status, comment],
                     api_visibility="private")  # fmt: skip
    return ui


def _compare_tab(catalog: Mapping[str, DocumentMeta], console: AgentConsole) -> None:
    """Two versions side by side on one topic, with one-click presets from the catalogue."""
    choices = policy_choices(catalog, include_superseded=True)
    presets = compare_presets(catalog)
    pair = presets[0][1] if presets else ((choices[0][1], choices[-1][1]) if choices else ("", ""))
    gr.Markdown("The clause of each document that best matches a topic, side by side.")
    with gr.Row():
        doc_a = gr.Dropdown(choices=choices, value=pair[0], label="Left", elem_id="pa-cmp-a")
        doc_b = gr.Dropdown(choices=choices, value=pair[1], label="Right", elem_id="pa-cmp-b")
    with gr.Row():
        topic = gr.Textbox(label="Topic or section", value="How long is personal information kept?", scale=4,
                           elem_id="pa-cmp-topic")  # fmt: skip
        go = gr.Button("Compare", variant="primary", scale=1, elem_id="pa-cmp-go")
    with gr.Row():
        buttons = [(gr.Button(label, size="sm"), p) for label, p in presets]
    with gr.Row(equal_height=False):
        left = gr.HTML(elem_id="pa-cmp-left")
        right = gr.HTML(elem_id="pa-cmp-right")
    console.sides = (left, right)
    for trigger in (topic.submit, go.click):
        trigger(console.compare, [doc_a, doc_b, topic], [left, right], api_visibility="private")
    for button, p in buttons:  # a preset sets both versions and compares at once
        button.click(lambda p=p: p, None, [doc_a, doc_b], api_visibility="private").then(
            console.compare, [doc_a, doc_b, topic], [left, right], api_visibility="private"
        )


def _feedback_tab(console: AgentConsole, tab: Any) -> None:
    """Ratings and comments from both views, and their CSV export (behind the login)."""
    gr.Markdown("Ratings and comments from both views (questions and comments are stored redacted).")
    with gr.Row():
        refresh = gr.Button("Refresh", size="sm", scale=0, elem_id="pa-refresh")
        # Streamed by the server behind the agent login, never left in Gradio's shared file
        # cache (which the public app serves).
        gr.HTML(
            f'<a id="pa-export" class="pa-export" href="{EXPORT_ROUTE.removeprefix(AGENT_PATH + "/")}" '
            'download="feedback.csv">Export feedback (CSV)</a>'
        )
    review = gr.Dataframe(headers=["id", "time (UTC)", "view", "rating", "question", "comment"], interactive=False,
                          wrap=True, elem_id="pa-feedback-table",
                          column_widths=["6%", "16%", "9%", "7%", "37%", "25%"])  # fmt: skip
    refresh.click(console.feedback_rows, None, [review], api_visibility="private")
    tab.select(console.feedback_rows, None, [review], api_visibility="private")
