"""How answers look in the web app: escaped HTML and plain text, as pure functions.

Every piece of text that goes into HTML here is escaped, policy text and user text
alike; offsets are those of the contract (citation ``start``/``end`` index the
document's normalised text, a clause's ``start`` says where the clause begins in it).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

from app.answer import Answer, Citation
from app.records import Clause, DocumentMeta
from app.text import MARKER, format_date

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "sources": "Sources",
        "card_warning": "For your security, please don't share card numbers in this chat. "
        "We removed it from your message and did not store it.",
        "answering": "Answering:",
        "corrected": "Showing results for",
        "empty": "Please type a question about how your personal information is handled.",
        "too_long": "That message is too long for me. Could you ask a shorter question?",
        "card_only": "Is there something about our privacy policies I can help you with?",
        "contact": "Contact client relations:",
        "archived": "archived version",
        "in_short": "In short:",
        "section": "Section",
        "policy_page": "Read the whole policy",
        "superseded": "superseded",
        "error": "Sorry, something went wrong on our side. Please try again in a moment.",
    },
    "zh": {
        "sources": "来源",
        "card_warning": "为了您的安全，请不要在聊天中发送银行卡号。我们已从您的消息中删除该号码，且未予保存。",
        "answering": "正在回答：",
        "corrected": "以下是这个问题的结果：",
        "empty": "请输入有关个人信息处理的问题。",
        "too_long": "您的消息太长了，请提出一个更简短的问题。",
        "card_only": "请问有什么关于隐私政策的问题需要帮助吗？",
        "contact": "联系客户服务：",
        "archived": "旧版本",
        "in_short": "简而言之：",
        "section": "章节",
        "policy_page": "阅读完整政策",
        "superseded": "已被取代",
        "error": "抱歉，系统出现问题，请稍后再试。",
    },
}


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def lines_html(text: str) -> str:
    """Escaped text with its line breaks kept."""
    return "<br>".join(esc(line) for line in text.split("\n"))


def highlight(text: str, start: int, end: int) -> str:
    """`text` escaped, with ``text[start:end]`` inside <mark> (offsets clipped to the text)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"


def title_of(meta: DocumentMeta | None, doc_id: str, lang: str = "en") -> str:
    return meta.display_title(lang) if meta else doc_id


def link_html(url: str, text: str) -> str:
    """A link that opens outside the app, only for http(s) URLs (anything else: no link)."""
    if not url.startswith(("https://", "http://")):
        return ""
    return f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>'


def citation_label(c: Citation, meta: DocumentMeta | None, lang: str = "en") -> str:
    """ "[1] Cartier Privacy Policy · Retaining your personal information · September 2024" (plain text)."""
    parts = [f"[{c.n}] {title_of(meta, c.doc_id, lang)}"]
    if c.section:
        parts.append(c.section)
    if meta and meta.effective_date:
        parts.append(format_date(meta.effective_date, lang))
    if meta and not meta.is_current:
        parts.append(TEXT[lang]["archived"])
    return " · ".join(parts)


def render_user_message(text: str) -> str:
    """A (redacted) user message as chat HTML."""
    return f'<div class="pa-user">{lines_html(text)}</div>'


def render_customer_reply(
    answer: Answer | None,
    metas: Mapping[str, DocumentMeta],
    lang: str,
    *,
    clause_of: Callable[[str], Clause | None] | None = None,
    card_warning: bool = False,
    asked: str = "",
    message: str = "",
) -> str:
    """The assistant's chat bubble, all in the question's language: a card warning first
    (visible without scrolling), the short lead when there is one, the answer (no scores, no
    clause ids) and each citation as a <details> that opens on the cited sentence inside its
    clause, with the policy's section, date and page. One line of HTML: the chat's Markdown
    renderer leaves an HTML block alone until a blank line."""
    t = TEXT[lang]
    out = [f'<div class="pa-reply" lang="{"zh" if lang == "zh" else "en"}">']
    if card_warning:
        out.append(f'<p class="pa-warning" role="alert">⚠ {esc(t["card_warning"])}</p>')
    if message:
        out.append(f"<p>{lines_html(message)}</p>")
    if answer is not None:
        if asked:
            out.append(f'<p class="pa-asked">{esc(t["answering"])} {esc(asked)}</p>')
        elif answer.corrected:
            gap = "" if lang == "zh" else " "
            out.append(f'<p class="pa-asked">{esc(t["corrected"])}{gap}“{esc(answer.corrected)}”</p>')
        lead = answer.lead
        if lead is not None and not answer.abstained and lead.text:
            out.append(
                f'<p class="pa-lead"><b>{esc(t["in_short"])}</b> {esc(lead.text)} '
                f'<span class="pa-n">[{lead.n}]</span></p>'
            )
        out.append(f'<p class="pa-answer">{lines_html(answer.answer)}</p>')
        clarifying = bool(getattr(answer, "clarify", ()))  # a question back: its choices are buttons, no contact yet
        if answer.abstained and answer.contact and answer.contact not in answer.answer and not clarifying:
            out.append(f'<p class="pa-contact">{esc(t["contact"])} {esc(answer.contact)}</p>')
        if answer.citations:
            out.append(f'<div class="pa-sources"><p class="pa-sources-title">{esc(t["sources"])}</p>')
            for c in answer.citations:
                meta = metas.get(c.doc_id)
                text, start, end = clause_context(c, clause_of(c.clause_id) if clause_of else None)
                page = link_html(meta.public_url, t["policy_page"]) if meta else ""
                out.append(
                    f'<details class="pa-citation"><summary>{esc(citation_label(c, meta, lang))}</summary>'
                    '<div class="pa-source-body">'
                    f'<p class="pa-section">{esc(t["section"])}: {esc(c.section or "—")}</p>'
                    f'<blockquote class="pa-clause">{highlight(text, start, end)}</blockquote>'
                    + (f'<p class="pa-page">{page}</p>' if page else "")
                    + "</div></details>"
                )
            out.append("</div>")
    out.append("</div>")
    return "".join(out)


def render_agent_answer(answer: Answer) -> str:
    """The answer with its [n] markers linking to the sources panel."""
    body = MARKER.sub(r'<a class="pa-ref" href="#pa-src-\1">[\1]</a>', lines_html(answer.answer))
    if answer.corrected:
        body = f'<span class="pa-asked">Showing results for “{esc(answer.corrected)}”</span><br>{body}'
    kind = "pa-abstained" if answer.abstained else "pa-answered"
    note = " · abstained" if answer.abstained else ""
    reason = answer.abstain_reason
    meta = f"{answer.latency_ms:.0f} ms{note}" + (f" ({esc(str(reason))})" if reason else "")
    return f'<div class="pa-agent-answer {kind}"><p>{body}</p><p class="pa-meta">{meta}</p></div>'


# One score everywhere an agent sees one: the clause's retrieval relevance.
SCORE_HELP = (
    "Relevance: how well this clause matches the question (meaning and wording combined), "
    "scaled so that the best clause found scores 1.00. The same number as in Retrieval details."
)


def clause_context(c: Citation, clause: Clause | None) -> tuple[str, int, int]:
    """The text to show around a citation and the quote's offsets within it: the whole
    clause where it is known (citation offsets are relative to the document)."""
    if clause is not None and clause.start <= c.start and c.end <= clause.end:
        return clause.text, c.start - clause.start, c.end - clause.start
    return c.quote, 0, len(c.quote)


def render_sources(
    answer: Answer,
    metas: Mapping[str, DocumentMeta],
    clause_of: Callable[[str], Clause | None],
) -> str:
    """The agent's sources panel: per citation the document, version, section path and
    the whole clause with the quoted sentence highlighted."""
    if not answer.citations:
        return '<div class="pa-sources-panel"><p class="pa-empty">No sources: the assistant abstained.</p></div>'
    out = ['<div class="pa-sources-panel">']
    relevance = {r.clause_id: r.score for r in answer.retrieved}
    for c in answer.citations:
        meta = metas.get(c.doc_id)
        text, start, end = clause_context(c, clause_of(c.clause_id))
        version = format_date(meta.effective_date) if meta and meta.effective_date else "undated"
        status = ' <span class="pa-badge">superseded</span>' if meta and not meta.is_current else ""
        out.append(
            f'<div class="pa-source" id="pa-src-{c.n}">'
            f'<div class="pa-source-head"><span class="pa-n">[{c.n}]</span> <b>{esc(title_of(meta, c.doc_id))}</b>'
            f" · version {esc(version)}{status}</div>"
            f'<div class="pa-section">§ {esc(c.section or "(no section)")}</div>'
            f'<div class="pa-clause">{highlight(text, start, end)}</div>'
            f'<div class="pa-ids">{esc(c.doc_id)} · {esc(c.clause_id)} · '
            f'<span class="pa-score" title="{esc(SCORE_HELP)}">'
            f"relevance {relevance.get(c.clause_id, 0.0):.2f}</span></div>"
            "</div>"
        )
    out.append("</div>")
    return "".join(out)


def anchor_id(clause_id: str) -> str:
    return "clause-" + re.sub(r"[^A-Za-z0-9_-]", "-", clause_id)


def render_document(doc_text: str, meta: DocumentMeta | None, clause: Clause, c: Citation) -> str:
    """The whole policy, the cited clause wrapped in an anchor and its quote in <mark>."""
    qs, qe = max(clause.start, min(c.start, clause.end)), max(clause.start, min(c.end, clause.end))
    body = (
        esc(doc_text[: clause.start])
        + f'<span id="{anchor_id(clause.clause_id)}" class="pa-target">'
        + esc(doc_text[clause.start : qs])
        + f"<mark>{esc(doc_text[qs:qe])}</mark>"
        + esc(doc_text[qe : clause.end])
        + "</span>"
        + esc(doc_text[clause.end :])
    )
    head = f"<b>{esc(title_of(meta, clause.doc_id))}</b>"
    if meta and meta.effective_date:
        head += f" · version {esc(format_date(meta.effective_date))}"
    if meta and not meta.is_current:
        head += ' <span class="pa-badge">superseded</span>'
    if meta and meta.source_url.startswith(("http://", "https://")):
        head += f' · <a href="{esc(meta.source_url)}" target="_blank" rel="noopener noreferrer">source</a>'
    jump = f'<a href="#{anchor_id(clause.clause_id)}">jump to [{c.n}] {esc(c.section)}</a>'
    return f'<div class="pa-doc-head">{head} · {jump}</div><div class="pa-doc" tabindex="0">{body}</div>'


def clarify_options(answer: Answer | None) -> list[dict[str, str]]:
    """A clarifying reply's choices as the chat's option buttons: the label shown, the
    question sent when it is clicked."""
    choices = getattr(answer, "clarify", ()) if answer is not None else ()
    return [{"label": c.label, "value": c.question} for c in choices]


RETRIEVAL_HEADERS = ["rank", "relevance", "document", "section", "clause id"]


def retrieval_rows(answer: Answer, metas: Mapping[str, DocumentMeta]) -> list[list[object]]:
    """The top clauses considered, best first, for the retrieval-details table."""
    return [
        [i, f"{r.score:.2f}", title_of(metas.get(r.doc_id), r.doc_id), r.section, r.clause_id]
        for i, r in enumerate(answer.retrieved, 1)
    ]


def policy_choices(metas: Mapping[str, DocumentMeta], *, include_superseded: bool) -> list[tuple[str, str]]:
    """(label, doc_id) pairs: current policies first, superseded ones labelled (agents only)."""

    def label(m: DocumentMeta) -> str:
        if not include_superseded:  # customers think in brands and regions, in both languages
            en, zh = m.display_label("en"), m.display_label("zh")
            return en if en == zh else f"{en} · {zh}"
        bits = [b for b in (m.brand, m.region, format_date(m.effective_date) if m.effective_date else "") if b]
        name = m.title or m.doc_id
        text = f"{name} — {' · '.join(bits)}" if bits else name
        return text + (" (superseded)" if not m.is_current else "")

    docs = sorted(metas.values(), key=lambda m: (not m.is_current, m.brand, m.title or m.doc_id))
    return [(label(m), m.doc_id) for m in docs if include_superseded or m.is_current]


# A comparison sets two clauses side by side as if they said different things about the same
# topic: a wrong pairing misleads more than a missing one, so a side is shown only when the
# assistant is fairly sure its version addresses the topic (P(answerable) ≥ this), stricter
# than the chat's 0.5.
COMPARE_MIN_CONFIDENCE = 0.8


def render_compare_panel(
    meta: DocumentMeta | None, doc_id: str, answer: Answer, clause_of: Callable[[str], Clause | None]
) -> str:
    """One side of the version comparison: the clause of this document that best answers, or
    "Not addressed in …" (with the closest clause folded away) when none does confidently."""
    version = format_date(meta.effective_date) if meta and meta.effective_date else "undated"
    head = f'<div class="pa-source-head"><b>{esc(title_of(meta, doc_id))}</b> · version {esc(version)}'
    head += ' <span class="pa-badge">superseded</span></div>' if meta and not meta.is_current else "</div>"
    confident = (answer.confidence or 0.0) >= COMPARE_MIN_CONFIDENCE  # unknown is not confident
    if answer.citations and not answer.abstained and confident:
        c = answer.citations[0]
        text, start, end = clause_context(c, clause_of(c.clause_id))
        return (
            f'<div class="pa-compare">{head}<div class="pa-section">§ {esc(c.section or "(no section)")}</div>'
            f'<div class="pa-clause">{highlight(text, start, end)}</div></div>'
        )
    if answer.retrieved:
        r = answer.retrieved[0]
        return (
            f'<div class="pa-compare">{head}<p class="pa-not-addressed">Not addressed in the '
            f"{esc(title_of(meta, doc_id))}.</p><details><summary>Closest clause (does not answer)</summary>"
            f'<div class="pa-section">§ {esc(r.section or "(no section)")}</div>'
            f'<div class="pa-clause">{esc(r.text)}</div></details></div>'
        )
    return (
        f'<div class="pa-compare">{head}<p class="pa-not-addressed">Not addressed in the '
        f"{esc(title_of(meta, doc_id))}.</p></div>"
    )
