"""The agent console's Insights tab: over a period and a policy, the questions the notices did
not answer well grouped by topic, the clauses most cited and worst rated, the volume and
referral rate plot, CSV and JSON downloads; and the correction form, where an agent names the
clause and sentence that answer an exchange, or says the notices do not cover it.

Downloads and the plot are sent inside the page (data: URLs), never left in Gradio's shared
file cache, which the public app serves."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.errors import InputError
from app.feedback import FeedbackStore
from app.insights import queries
from app.insights.corrections import CorrectionStore
from app.insights.db import database_of
from app.insights.export import clauses_csv, groups_csv, report_json, volume_png
from app.insights.queries import Scope
from app.insights.report import ClauseStat, Report, build_report
from app.insights.topics import EmbedCache
from app.web.render import esc, policy_choices, title_of

if TYPE_CHECKING:
    from app.assistant import Assistant

log = logging.getLogger(__name__)

PERIODS = {"Last 7 days": 7, "Last 4 weeks": 28, "Last 13 weeks": 91, "Last 12 months": 365, "All time": 0}
GROUP_HEADERS = ["group (most central question)", "count", "share", "referred", "disliked", "weak answer", "by week",
                 "examples"]  # fmt: skip
CLAUSE_HEADERS = ["clause (section)", "policy", "cited", "up", "down", "down share"]
CLAUSE_WIDTHS: list[str | int] = ["46%", "26%", "7%", "7%", "7%", "7%"]
NOT_COVERED = "The notices do not cover this"
_BARS = "▁▂▃▄▅▆▇█"


@dataclass
class _Widgets:
    period: Any
    since: Any
    until: Any
    policy: Any
    totals: Any
    groups: Any
    cited: Any
    worst: Any
    plot: Any
    downloads: Any
    exchange: Any
    fix_policy: Any
    clause: Any
    sentence: Any
    status: Any


class InsightsTab:
    """The tab's handlers, each returning ``{component: value}`` for what it updates."""

    def __init__(self, assistant: Assistant, store: FeedbackStore) -> None:
        self.assistant = assistant
        self.db = database_of(store)
        self.corrections = CorrectionStore(self.db)
        self.embed = EmbedCache(assistant.embedder.embed_texts)
        self.ui: _Widgets | None = None

    def widgets(self) -> _Widgets:
        assert self.ui is not None, "build() first"
        return self.ui

    def scope(self, period: str, since: str, until: str, doc_id: str) -> Scope:
        """The period (typed dates win over the preset) and the policy; bad dates: an InputError."""
        days = PERIODS.get(period, 28)
        today = datetime.now(UTC).date()
        start = _date("from", since) or (today - timedelta(days=days - 1) if days else None)
        end = _date("to", until)
        if start and end and start > end:
            raise InputError(f"the period starts ({start}) after it ends ({end})")
        return Scope(start, end, doc_id if doc_id in self.assistant.snapshot().catalog else "")

    def show(self, period: str, since: str, until: str, doc_id: str) -> dict[Any, Any]:
        """The report for the chosen period and policy, and the exchanges an agent may correct."""
        import gradio as gr

        ui = self.widgets()
        try:
            scope = self.scope(period, since, until, doc_id)
        except InputError as exc:
            return {ui.totals: f'<p class="pa-warning">{esc(str(exc).capitalize())}.</p>'}
        report = build_report(self.db, scope, self.embed)
        review = queries.to_review(self.db, scope, 200)
        choices = [(f"{ref} · {reason} · {str(at)[:10]} · {_clip(str(q), 90)}", str(ref))
                   for ref, at, _, reason, q in review]  # fmt: skip
        return {
            ui.totals: _totals(report), ui.groups: _group_rows(report),
            ui.cited: self._clause_rows(report.most_cited), ui.worst: self._clause_rows(report.worst_rated),
            ui.plot: _plot(report), ui.downloads: _downloads(report),
            ui.exchange: gr.update(choices=choices, value=None), ui.fix_policy: gr.update(value=scope.doc_id or None),
        }  # fmt: skip

    def _clause_rows(self, stats: tuple[ClauseStat, ...]) -> list[list[object]]:
        catalog, clauses = self.assistant.snapshot().catalog, self.assistant.snapshot().index
        rows = []
        for s in stats:
            row = clauses.by_id.get(s.clause_id)
            section = clauses.clauses[row].section_title if row is not None else ""
            rows.append([f"{section or s.clause_id}", title_of(catalog.get(s.doc_id), s.doc_id), s.cited, s.up,
                         s.down, f"{s.down_ratio:.0%}" if s.up + s.down else ""])  # fmt: skip
        return rows

    def clauses_of(self, ref: str | None, doc_id: str | None) -> dict[Any, Any]:
        """The policy's clauses, those the assistant retrieves for the exchange's question first."""
        import gradio as gr

        ui = self.widgets()
        index = self.assistant.snapshot().index
        if not doc_id or doc_id not in index.documents:
            return {ui.clause: gr.update(choices=[], value=None), ui.sentence: gr.update(choices=[], value=None)}
        suggested: list[str] = []
        if ref:
            try:
                question = self.corrections.question_of(ref)[4]
                answer = self.assistant.ask(question, {"doc_id": doc_id})
                suggested = [r.clause_id for r in answer.retrieved[:5]]
            except InputError:
                pass
        ids = [*suggested, *(c.clause_id for c in index.clauses if c.doc_id == doc_id and c.clause_id not in suggested)]
        choices = [(("★ " if cid in suggested else "") + _clause_label(index.clauses[index.by_id[cid]]), cid)
                   for cid in ids if cid in index.by_id]  # fmt: skip
        return {ui.clause: gr.update(choices=choices, value=None), ui.sentence: gr.update(choices=[], value=None)}

    def sentences_of(self, clause_id: str | None) -> dict[Any, Any]:
        import gradio as gr

        ui = self.widgets()
        index = self.assistant.snapshot().index
        row = index.by_id.get(clause_id or "")
        texts = index.clauses[row].sentence_texts() if row is not None else []
        return {ui.sentence: gr.update(choices=texts, value=texts[0] if len(texts) == 1 else None)}

    def correct(self, ref: str | None, doc_id: str | None, clause_id: str | None, sentence: str | None,
                not_covered: bool) -> dict[Any, Any]:  # fmt: skip
        """Store the agent's correction of one exchange (kept for `insights --export-eval`)."""
        ui = self.widgets()
        if not ref:
            return {ui.status: "Pick an exchange first."}
        if not not_covered and not (doc_id and clause_id and sentence):
            return {ui.status: "Pick the policy, the clause and the sentence that answer, or mark it not covered."}
        if not not_covered:
            row = self.assistant.snapshot().index.by_id.get(clause_id or "")
            clause = self.assistant.snapshot().index.clauses[row] if row is not None else None
            if clause is None or clause.doc_id != doc_id or sentence not in clause.sentence_texts():
                return {ui.status: "That sentence is not in that clause of that policy (was the index rebuilt?)."}
        try:
            saved = self.corrections.correct(ref, doc_id=doc_id or "", clause_id=clause_id or "",
                                             sentence=sentence or "", not_covered=not_covered)  # fmt: skip
        except InputError as exc:
            return {ui.status: f"Not saved: {exc}."}
        what = "not covered by the notices" if not_covered else f"answered by {clause_id}"
        return {ui.status: f"Correction #{saved.id} saved: {saved.ref} is {what}."}


def _date(name: str, text: str) -> date | None:
    if not (text or "").strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{name}: not a date (YYYY-MM-DD): {text.strip()[:40]!r}") from None


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _clause_label(clause: Any) -> str:
    return _clip(f"{clause.section_title or '(preamble)'} — {' '.join(clause.text.split())}", 110)


def _totals(report: Report) -> str:
    period = f"{report.since or 'the start'} to {report.until or 'today'}"
    sampled = (f" Grouped {report.grouped_questions:,} of {report.distinct_questions:,} distinct questions (a sample;"
               " counts are estimates).") if report.sampled else ""  # fmt: skip
    return (
        f'<p class="pa-meta" id="pa-insights-period">{esc(period)}'
        f"{' · ' + esc(report.doc_id) if report.doc_id else ' · all policies'}</p>"
        f"<p><b>{report.exchanges:,}</b> exchanges · <b>{report.referred:,}</b> referred "
        f"({report.referral_rate:.0%}) · <b>{report.low_confidence:,}</b> answered with low confidence · "
        f"thumbs up {report.thumbs_up:,}, down {report.thumbs_down:,} · <b>{report.attention:,}</b> need a look, in "
        f"{len(report.groups)} groups.{esc(sampled)}</p>"
    )


def _group_rows(report: Report) -> list[list[object]]:
    return [[g.name, g.count, f"{g.share:.0%}", g.referred, g.disliked, g.low_confidence, _spark(g.weekly),
             " | ".join(g.examples)] for g in report.groups]  # fmt: skip


def _spark(weekly: tuple[tuple[str, int], ...]) -> str:
    """Weekly counts as a row of bars (the last 13 weeks at most)."""
    counts = [n for _, n in weekly][-13:]
    top = max(counts, default=0)
    return "".join(_BARS[round(n / top * (len(_BARS) - 1))] if top else _BARS[0] for n in counts)


def _plot(report: Report) -> str:
    if not report.volume:
        return '<p class="pa-empty">No exchanges in this period.</p>'
    data = base64.b64encode(volume_png(report)).decode("ascii")
    return (f'<img id="pa-insights-png" src="data:image/png;base64,{data}" alt="Exchanges and referral rate by '
            'day" style="max-width:100%">')  # fmt: skip


def _downloads(report: Report) -> str:
    links = [("insights-groups.csv", "text/csv", groups_csv(report), "Groups (CSV)"),
             ("insights-clauses.csv", "text/csv", clauses_csv(report), "Clauses (CSV)"),
             ("insights.json", "application/json", report_json(report), "Whole report (JSON)")]  # fmt: skip
    return " · ".join(
        f'<a class="pa-export" download="{name}" href="data:{kind};charset=utf-8;base64,'
        f'{base64.b64encode(text.encode("utf-8")).decode("ascii")}">{label}</a>'
        for name, kind, text, label in links
    )


def build_insights_tab(assistant: Assistant, store: FeedbackStore, tab: Any) -> InsightsTab:
    """The Insights tab's layout and events (inside ``with gr.Tab("Insights")``); refreshed when opened."""
    import gradio as gr

    insights = InsightsTab(assistant, store)
    policies = [("All policies", ""), *policy_choices(assistant.snapshot().catalog, include_superseded=True)]
    gr.Markdown("What customers ask that the notices do not answer well: referred, disliked or weakly answered "
                "questions, grouped by topic (questions are stored redacted).")  # fmt: skip
    with gr.Row():
        period = gr.Dropdown(list(PERIODS), value="Last 4 weeks", label="Period", elem_id="pa-insights-period-pick")
        since = gr.Textbox(label="From (YYYY-MM-DD, optional)", elem_id="pa-insights-since")
        until = gr.Textbox(label="To (YYYY-MM-DD, optional)", elem_id="pa-insights-until")
        policy = gr.Dropdown(policies, value="", label="Policy", elem_id="pa-insights-policy")
        go = gr.Button("Show", variant="primary", scale=0, elem_id="pa-insights-show")
    totals = gr.HTML(elem_id="pa-insights-totals")
    groups = gr.Dataframe(headers=GROUP_HEADERS, interactive=False, wrap=True, elem_id="pa-insights-groups",
                          column_widths=["28%", "6%", "6%", "7%", "7%", "6%", "12%", "28%"])  # fmt: skip
    # One above the other: side by side, each is too narrow for its figures' headings.
    gr.Markdown("### Clauses most cited")
    cited = gr.Dataframe(headers=CLAUSE_HEADERS, interactive=False, wrap=True, elem_id="pa-insights-cited",
                         column_widths=CLAUSE_WIDTHS)  # fmt: skip
    gr.Markdown("### Clauses worst rated")
    worst = gr.Dataframe(headers=CLAUSE_HEADERS, interactive=False, wrap=True, elem_id="pa-insights-worst",
                         column_widths=CLAUSE_WIDTHS)  # fmt: skip
    plot = gr.HTML(elem_id="pa-insights-plot")
    downloads = gr.HTML(elem_id="pa-insights-downloads")
    exchange, fix_policy, clause, sentence, status = _correction_form(insights, policies)
    insights.ui = _Widgets(period, since, until, policy, totals, groups, cited, worst, plot, downloads, exchange,
                           fix_policy, clause, sentence, status)  # fmt: skip
    outputs = [totals, groups, cited, worst, plot, downloads, exchange, fix_policy]
    for trigger in (go.click, tab.select):
        trigger(insights.show, [period, since, until, policy], outputs, api_visibility="private")
    return insights


def _correction_form(insights: InsightsTab, policies: list[tuple[str, str]]) -> tuple[Any, ...]:
    """Pick an exchange, then the clause and sentence that answer it, or mark it not covered."""
    import gradio as gr

    gr.Markdown("### Correct an answer\nCorrections are kept for review and reach the eval set only through "
                "`privacy-assistant insights --export-eval FILE`.")  # fmt: skip
    exchange = gr.Dropdown([], label="Exchange (referred, disliked or weak)", elem_id="pa-fix-exchange")
    with gr.Row():
        fix_policy = gr.Dropdown(policies[1:], label="Policy that answers", elem_id="pa-fix-policy")
        clause = gr.Dropdown([], label="Clause (★: what the assistant retrieves)", elem_id="pa-fix-clause")
    sentence = gr.Dropdown([], label="Sentence that answers", elem_id="pa-fix-sentence")
    with gr.Row():
        save = gr.Button("Save: this sentence answers", variant="primary", elem_id="pa-fix-save")
        uncovered = gr.Button(NOT_COVERED, elem_id="pa-fix-uncovered")
    status = gr.Markdown(elem_id="pa-fix-status")
    for trigger in (exchange.change, fix_policy.change):
        trigger(insights.clauses_of, [exchange, fix_policy], [clause, sentence], api_visibility="private")
    clause.change(insights.sentences_of, [clause], [sentence], api_visibility="private")
    save.click(lambda e, p, c, s: insights.correct(e, p, c, s, False), [exchange, fix_policy, clause, sentence],
               [status], api_visibility="private")  # fmt: skip
    uncovered.click(lambda e: insights.correct(e, None, None, None, True), [exchange], [status],
                    api_visibility="private")  # fmt: skip
    return exchange, fix_policy, clause, sentence, status
