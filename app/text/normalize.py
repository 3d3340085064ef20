"""Raw policy text → normalised text plus the structural blocks the splitter needs.

Normalisation repairs mojibake (ftfy), turns Markdown links and emphasis into plain
text, drops web-archive banners and horizontal rules, and strips list markers and
indentation. Every sentence of the policy survives; character offsets everywhere in
the project refer to the text returned here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import ftfy

from app.text.language import is_cjk

_BANNER = re.compile(r"^>\s*\*?The following text is extracted", re.IGNORECASE)
_URL_IN_LINK = re.compile(r"\]\((https?://[^)\s]+)\)")
_RULE = re.compile(r"^(\*\s*){3,}$|^(-\s*){3,}$|^(_\s*){3,}$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^(?:[*•\-–]|\d+\\?\.)\s+(.*)$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*\W{0,3}$")
_NUMBERED_HEADING = re.compile(r"^\d+\.\s+[A-Z][A-Z0-9 ,&'/-]{3,}$")
# A numbered part of a document, "Word N: Title" ("Part 2: Your rights", "Principle IV – Security",
# "Section 3. Sharing"): a short line, a capitalised word, a number and a capitalised title that
# ends without a stop. It opens an outer section, whatever word a brand chose for its parts.
_PART_HEADING = re.compile(
    r"^[A-Z][a-z]+ (?:\d{1,3}|[IVXLC]{1,7})\s*[:：.–—-]\s*[A-Z0-9\"'“‘(].{0,80}(?<![.。!?！？;；,，:：])$"
)
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]*)\)")
_ARCHIVED = re.compile(r"^https?://web\.archive\.org/web/\w+/(.*)$")
_HTML_RESIDUE = re.compile(r"(?:/\S*)?\"(?:\s+[\w-]+=\"[^\"]*\")+\s*/?>")
_EMPHASIS = re.compile(r"\*\*(.+?)\*\*|(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!])")
_SPACES = re.compile(r"[ \t\u00a0]+")
# A link the page's template never filled in ("website_url_lnk"): never shown to a reader,
# written as PLACEHOLDER_LINK (app.references points such a sentence at the policy's page).
_LINK_PLACEHOLDER = re.compile(r"\b[a-z]+(?:_[a-z]+)*_(?:lnk|link)\b")
PLACEHOLDER_LINK = "[link]"
_LABEL = re.compile(r"^(?P<label>[^:：.。;；\n]{2,90}?)\s*[:：]\s*(?P<rest>\S.*)$")


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    BULLET = "bullet"


@dataclass(frozen=True)
class Block:
    """One line of normalised text and what it is."""

    kind: BlockKind
    start: int
    end: int
    level: int = 0  # headings only: 1 is the outermost
    label: str = ""  # "Label: text" items: the label

    def text(self, doc_text: str) -> str:
        return doc_text[self.start : self.end]


@dataclass(frozen=True)
class Normalized:
    text: str
    blocks: tuple[Block, ...]
    source_url: str = ""


def _link_text(m: re.Match[str]) -> str:
    """A link's text, followed by its address when the address is information."""
    text, url = m.group(1).strip(), m.group(2)
    if archived := _ARCHIVED.match(url):
        url = archived.group(1).replace("%3A", ":")
    if not url.startswith(("http://", "https://")) or "web.archive.org" in url or url in text:
        return text  # mailto:, archive-relative links, or the text is the address itself
    return f"{text} ({url})" if text else url


def clean_inline(line: str) -> str:
    """Markdown links/emphasis/escapes and HTML debris → plain text, spaces collapsed."""
    line = _LINK.sub(_link_text, line)
    line = _HTML_RESIDUE.sub(" ", line)
    line = _EMPHASIS.sub(lambda m: m.group(1) or m.group(2), line)
    line = line.replace("**", "")
    line = _ESCAPE.sub(r"\1", line)
    line = _LINK_PLACEHOLDER.sub(PLACEHOLDER_LINK, line)
    return _SPACES.sub(" ", line).strip()


def _raw_kind(line: str) -> tuple[BlockKind, int, str]:
    """Classify one stripped raw line by its Markdown/layout markers."""
    if m := _MD_HEADING.match(line):
        return BlockKind.HEADING, len(m.group(1)), m.group(2)
    if m := _BOLD_LINE.match(line):
        return BlockKind.HEADING, 2, m.group(1)
    if _PART_HEADING.match(line):
        return BlockKind.HEADING, 1, line
    if _NUMBERED_HEADING.match(line):
        return BlockKind.HEADING, 2, line
    if m := _BULLET.match(line):
        body = m.group(1)
        if re.match(r"^\d", line):  # keep "1." so numbered lists read as written
            body = line.replace("\\.", ".", 1)
        return BlockKind.BULLET, 0, body
    return BlockKind.PARAGRAPH, 0, line


def _looks_like_heading(text: str, next_text: str | None, next_kind: BlockKind | None, next_level: int) -> bool:
    """A short line without sentence punctuation, introducing a longer body."""
    cjk = is_cjk(text)
    if len(text) > (30 if cjk else 90) or len(text) < 2:
        return False
    if text[-1] in ".。;；,，:：" or next_text is None:
        return False
    if sum(c.isdigit() for c in text) >= 5 or "@" in text:  # a phone line, an address
        return False
    if next_kind is BlockKind.HEADING:
        return next_level > 3  # "What is collected?" above "##### User-Provided Information"
    return next_kind is BlockKind.BULLET or len(next_text) >= (15 if cjk else 60)


def label_of(text: str) -> str:
    """The label of a "Label: text" item ("Right of access", "Location data"), or ""."""
    m = _LABEL.match(text)
    if not m or len(m.group("rest")) < (20 if is_cjk(text) else 40):
        return ""
    label = m.group("label").strip()
    if re.search(r"\b(the following|as follows)\b", label, re.IGNORECASE):
        return ""  # a lead-in to a list, not a label
    if is_cjk(label):
        return label if len(label) <= 16 else ""
    words = label.split()
    if len(words) > 10 or not (label[0].isupper() or label[0].isdigit()):
        return ""
    return label


def normalize(raw: str) -> Normalized:
    """Normalise a policy's raw text and find its structural blocks."""
    fixed = ftfy.fix_text(raw, uncurl_quotes=False, fix_character_width=False)
    source_url = ""
    lines: list[tuple[BlockKind, int, str]] = []
    for raw_line in fixed.splitlines():
        stripped = raw_line.strip()
        if not stripped or _RULE.match(stripped):
            continue
        if _BANNER.match(stripped):
            if m := _URL_IN_LINK.search(stripped):
                source_url = m.group(1)
            continue
        kind, level, body = _raw_kind(stripped)
        text = clean_inline(body)
        if text:
            lines.append((kind, level, text))

    parts: list[str] = []
    blocks: list[Block] = []
    offset = 0
    for i, (kind, level, text) in enumerate(lines):
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        if kind is BlockKind.PARAGRAPH and _looks_like_heading(
            text, nxt[2] if nxt else None, nxt[0] if nxt else None, nxt[1] if nxt else 0
        ):
            kind, level = BlockKind.HEADING, 3
        label = label_of(text) if kind is not BlockKind.HEADING else ""
        blocks.append(Block(kind, offset, offset + len(text), level, label))
        parts.append(text)
        offset += len(text) + 1  # the "\n" joining lines
    return Normalized("\n".join(parts), tuple(blocks), source_url)
