"""The reply a person reads: the answer first, then where it comes from.

The composer never writes a claim of its own. The reply opens with the cited sentences,
verbatim, each followed by the ``[n]`` of its citation; then what they point to (the contact
block a sentence announces, the channel to use for a request); then one source line per
policy: its name, the sections, the version and the page to read it on. Every caption is in
the reply's language; a policy quoted in another language says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.answer import Citation, Evidence
from app.records import Clause, DocumentMeta
from app.text import format_date, norm

# "Deletion: You have the right…", "Selling your information/…: We do not sell…": a short
# label before a colon that repeats the heading the sentence sits under.
_LABEL = re.compile(r"^(?P<label>[^:：.!?。！？\n]{2,200})[:：]\s*(?=\S)")

CAPTIONS: dict[str, dict[str, str]] = {
    "en": {
        "source": "Source",
        "sources": "Sources",
        "quoted_in": "Quoted as written in the policy ({language}):",
        "zh": "Chinese",
        "en": "English",
    },
    "zh": {
        "source": "来源",
        "sources": "来源",
        "quoted_in": "以下引用政策原文（{language}）：",
        "zh": "中文",
        "en": "英文",
    },
}


@dataclass(frozen=True)
class Composed:
    """The reply's text and the citations its ``[n]`` markers refer to."""

    text: str
    citations: tuple[Citation, ...]


def without_label(sentence: str, clause: Clause) -> str:
    """The sentence less a leading label that repeats its clause's heading ("Deletion: …"),
    for display only: the citation keeps the verbatim sentence."""
    m = _LABEL.match(sentence)
    if m is None:
        return sentence
    label = _words(m.group("label"))
    heading = _words(" ".join(clause.section))
    if label and (label <= heading or (len(label) <= 4 and m.group("label")[:1].isupper())):
        return sentence[m.end() :]
    return sentence


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", norm(text)))


def citations_of(evidence: Sequence[Evidence]) -> tuple[Citation, ...]:
    """One citation per evidence sentence, numbered from 1 in the order given."""
    return tuple(
        Citation(
            n=i,
            doc_id=ev.clause.doc_id,
            clause_id=ev.clause.clause_id,
            section=ev.clause.section_title,
            quote=ev.text,
            start=ev.start,
            end=ev.end,
            score=round(ev.score, 4),
        )
        for i, ev in enumerate(evidence, 1)
    )


def compose(
    evidence: Sequence[Evidence],
    catalog: Mapping[str, DocumentMeta],
    lang: str,
    notes: Sequence[str] = (),
) -> Composed:
    """The reply to a question answered by ``evidence`` (best first); ``notes`` are lines
    that follow the quotes (resolved references, the channel for a request)."""
    citations = citations_of(evidence)
    docs = list(dict.fromkeys(ev.clause.doc_id for ev in evidence))
    body: list[str] = []
    for doc_id in docs:
        mine = [(i, ev) for i, ev in enumerate(evidence, 1) if ev.clause.doc_id == doc_id]
        said = " ".join(f"{without_label(ev.text, ev.clause)} [{i}]" for i, ev in mine)
        caption = _language_caption({ev.clause.lang for _, ev in mine}, lang)
        if len(docs) > 1:
            said = f"{_name(catalog[doc_id], lang)}{'：' if lang == 'zh' else ': '}{said}"
        body.extend([*([caption] if caption else []), said])
    body.extend(notes)
    body.extend(source_lines(evidence, catalog, lang))
    return Composed("\n".join(body), citations)


def _language_caption(clause_langs: set[str], lang: str) -> str:
    """A caption when the quotes are in another language than the reply."""
    other = sorted(clause_langs - {lang})
    if not other:
        return ""
    captions = CAPTIONS[lang]
    return captions["quoted_in"].format(language=captions.get(other[0], other[0]))


def _name(meta: DocumentMeta, lang: str) -> str:
    """ "Cartier Privacy Policy (September 2024)" / "《卡地亚中国隐私政策》（2023年12月）"."""
    title = meta.display_title(lang)
    when = format_date(meta.effective_date, lang) if meta.effective_date else ""
    if lang == "zh":
        return f"《{title}》" + (f"（{when}）" if when else "")
    return title + (f" ({when})" if when else "")


def source_lines(evidence: Sequence[Evidence], catalog: Mapping[str, DocumentMeta], lang: str) -> list[str]:
    """One line per cited policy: its name, version, the sections quoted and its page."""
    captions = CAPTIONS[lang]
    docs = list(dict.fromkeys(ev.clause.doc_id for ev in evidence))
    label = captions["sources" if len(docs) > 1 else "source"]
    lines = []
    for doc_id in docs:
        meta = catalog[doc_id]
        mine = [ev.clause for ev in evidence if ev.clause.doc_id == doc_id]
        shown = list(dict.fromkeys(c.section[-1] for c in mine if c.section))
        if lang == "zh":
            where = "、".join(f"“{s}”" for s in shown) + ("部分" if shown else "")
            line = f"{label}：{_name(meta, lang)}{where}"
        else:
            where = "; ".join(f"“{s}”" for s in shown)
            line = f"{label}: {_name(meta, lang)}" + (f", {where}" if where else "")
        if meta.public_url.startswith(("https://", "http://")):
            line += f" — {meta.public_url}"
        lines.append(line)
    return lines


def abstention_text(lang: str, contact: str, reason: str) -> str:
    """What to say when the notices do not answer (``reason``: why), and where to turn."""
    if lang == "zh":
        lead = {
            "off-topic": "这个问题不属于隐私政策的范围。",
            "chit-chat": "您好！我可以解答有关您个人信息如何被处理的问题。",
        }.get(reason, "隐私政策中没有涉及这个问题。")
        return f"{lead}请联系客户服务：{contact}。" if contact and reason != "chit-chat" else lead
    lead = {
        "off-topic": "That isn't a privacy question, and the privacy notices don't cover it.",
        "chit-chat": "Hello! I can answer questions about how your personal information is handled.",
    }.get(reason, "The privacy notices don't cover this.")
    return f"{lead} Please contact client relations: {contact}." if contact and reason != "chit-chat" else lead
