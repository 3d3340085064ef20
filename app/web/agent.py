"""The agent console: cited answers with sources, documents, the e-mail reply, version
comparison and feedback review."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.answer import Answer
from app.errors import InputError
from app.feedback import FeedbackStore
from app.records import DocumentMeta
from app.redact import redact
from app.render import (
    RETRIEVAL_HEADERS,
    citation_label,
    email_text,
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
    import gradio as gr

    from app.assistant import Assistant
    from app.llm import LLMAnswerer

from app.web.assets import COPY_JS, SCROLL_JS
from app.web.config import AGENT_PATH, EXPORT_ROUTE
from app.web.customer import _clause_lookup

log = logging.getLogger(__name__)


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
        store.log_answer("agent", red.text, answer)
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
