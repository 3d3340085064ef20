"""An agent's e-mail reply, ready to send: the draft's plain text and, beside it, the
warnings the agent must read first (pure functions, like app/web/render.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.answer import Answer, Citation
from app.catalog import Catalog
from app.records import DocumentMeta
from app.settings import Settings
from app.text import MARKER, format_date
from app.web.render import TEXT, esc, title_of


@dataclass(frozen=True)
class Letter:
    """How an agent's e-mail draft opens and closes, in each language (settings ``draft_*``)."""

    greeting: str
    signoff: str
    greeting_zh: str
    signoff_zh: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Letter:
        s = settings
        return cls(s.draft_greeting, s.draft_signoff, s.draft_greeting_zh, s.draft_signoff_zh)

    @classmethod
    def declared(cls) -> Letter:
        """The declared defaults of the ``draft_*`` settings (read from the class, not the environment)."""
        return cls.from_settings(Settings.declared())

    def parts(self, lang: str) -> tuple[str, str]:
        return (self.greeting_zh, self.signoff_zh) if lang == "zh" else (self.greeting, self.signoff)


DRAFT_TEXT = {"en": {"quoted": "Quoted from:"}, "zh": {"quoted": "引用自："}}

# The reply's own framing: a "Source: …" line under the quotes, or (older replies) an
# "According to the …:" line above them. An e-mail names its sources in its own words.
_FRAMING = re.compile(r"^\s*(?:(?:Sources?|来源)\s*[:：]|According to\b.*[:：]\s*$|根据.*[:：]\s*$)")


def email_text(answer: Answer, metas: Mapping[str, DocumentMeta], letter: Letter | None = None) -> str:
    """A reply an agent can send as it is, in the answer's language: the greeting, the answer
    in plain sentences (no ``[n]`` markers, no "Source:" line), then the policy each quote
    comes from (name, date, sections, public page), then the sign-off. One brand per draft
    unless the question named several: a customer asked about one house's policy. Warnings
    for the agent are never part of it (`draft_warnings`)."""
    letter = letter or Letter.declared()
    lang = "zh" if answer.lang == "zh" else "en"
    greeting, signoff = letter.parts(lang)
    cited = draft_citations(answer, metas)
    body = plain_answer(answer.answer, {c.n for c in cited} if answer.citations else None)
    if answer.abstained and answer.contact and answer.contact not in body and not getattr(answer, "clarify", ()):
        body += f"\n{TEXT[lang]['contact']} {answer.contact}"
    parts = [greeting, "", body]
    if cited:
        parts += ["", DRAFT_TEXT[lang]["quoted"], *_quoted_from(cited, metas, lang)]
    return "\n".join([*parts, "", signoff])


def plain_answer(text: str, keep: set[int] | None = None) -> str:
    """The answer's sentences without ``[n]`` markers or framing lines; with ``keep``, only the
    sentences whose marker is in it (and lines without any marker)."""
    out = []
    for line in text.split("\n"):
        if _FRAMING.match(line):
            continue
        if keep is not None:
            line = _only_cited(line, keep)
        line = re.sub(r"\s*\[\d+\]", "", line).strip()
        if line:
            out.append(line)
    return "\n".join(out)


def _only_cited(line: str, keep: set[int]) -> str:
    """``line`` less the sentences (text up to and including its marker) not cited in ``keep``."""
    pieces = MARKER.split(line)  # text, n, text, n, …, tail
    if len(pieces) == 1:
        return line
    kept = [said + f"[{n}]" for said, n in zip(pieces[0:-1:2], pieces[1::2], strict=True) if int(n) in keep]
    return "".join(kept) + pieces[-1] if kept else ""


def draft_citations(answer: Answer, metas: Mapping[str, DocumentMeta]) -> tuple[Citation, ...]:
    """The citations an e-mail keeps: those of the best citation's brand, or of every brand
    the question names when it names two or more."""
    if not answer.citations:
        return ()

    def brand(c: Citation) -> str:
        meta = metas.get(c.doc_id)
        return meta.brand.lower() if meta and meta.brand else c.doc_id

    catalog = metas if isinstance(metas, Catalog) else Catalog(metas)
    named = catalog.named_brands(answer.question)
    allowed = named if len(named) >= 2 else {brand(answer.citations[0])}
    return tuple(c for c in answer.citations if brand(c) in allowed) or answer.citations[:1]


def _quoted_from(cited: tuple[Citation, ...], metas: Mapping[str, DocumentMeta], lang: str) -> list[str]:
    """One line per policy quoted: "- Name (date), section “…”: https://…"."""
    lines = []
    for doc_id in dict.fromkeys(c.doc_id for c in cited):
        meta = metas.get(doc_id)
        name = title_of(meta, doc_id, lang)
        when = format_date(meta.effective_date, lang) if meta and meta.effective_date else ""
        sections = list(dict.fromkeys(c.section.split(" › ")[-1] for c in cited if c.doc_id == doc_id and c.section))
        url = meta.public_url if meta and meta.public_url.startswith(("https://", "http://")) else ""
        if lang == "zh":
            where = "、".join(f"“{s}”" for s in sections) + ("部分" if sections else "")
            line = f"- 《{name}》" + (f"（{when}）" if when else "") + where + (f"：{url}" if url else "")
        else:
            where = ", section " + "; ".join(f"“{s}”" for s in sections) if sections else ""
            line = f"- {name}" + (f" ({when})" if when else "") + where + (f": {url}" if url else "")
        lines.append(line)
    return lines


def draft_warnings(answer: Answer, metas: Mapping[str, DocumentMeta]) -> list[str]:
    """What the agent must know before sending the draft, shown beside it (never in it):
    a quoted policy version that is superseded."""
    out = []
    for doc_id in dict.fromkeys(c.doc_id for c in draft_citations(answer, metas)):
        meta = metas.get(doc_id)
        if meta and not meta.is_current:
            newer = metas.get(meta.superseded_by)
            out.append(
                f"{title_of(meta, doc_id)} is superseded"
                + (f" by the {title_of(newer, newer.doc_id)}" if newer else "")
                + "; check the current policy before sending."
            )
    return out


def render_draft_warnings(answer: Answer, metas: Mapping[str, DocumentMeta]) -> str:
    """The draft's warnings as an alert box above it ("" when there is none)."""
    found = draft_warnings(answer, metas)
    if not found:
        return ""
    items = "".join(f"<p>⚠ WARNING: {esc(w)}</p>" for w in found)
    return f'<div class="pa-warning pa-draft-warning" role="alert">{items}</div>'
