"""Normalised document → clauses that keep their section, with addressable sentences.

A clause follows the document's own structure: a paragraph, a "Label: text" item, a
bullet (or a run of short bullets with the line that introduces them), an address
block. Headings become the section path. Over-long clauses split at sentence
boundaries; each part keeps the section path. Identical clauses within a document
are kept once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from app.records import Clause, Span
from app.text.language import is_cjk
from app.text.normalize import Block, BlockKind, Normalized
from app.text.patterns import SENTENCE_END, ZH_SENTENCE_END

# Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS = frozenset(
    "e.g i.e inc ltd co corp no nos mr mrs ms dr st vs etc u.s u.s.a s.a s. a a sa jr sr fig art sec".split()
)
_SLUG = re.compile(r"[^\w]+", re.UNICODE)


@dataclass(frozen=True)
class SplitterConfig:
    """Chunking parameters; recorded in the index manifest."""

    max_chars: int = 1200
    short_line_chars: int = 60  # shorter paragraph lines (address blocks) are merged
    long_bullet_chars: int = 200  # longer bullets stand as clauses of their own

    def __post_init__(self) -> None:
        if self.max_chars < 200:
            raise ValueError(f"max_chars must be at least 200, got {self.max_chars}")
        if self.short_line_chars <= 0 or self.long_bullet_chars <= 0:
            raise ValueError("short_line_chars and long_bullet_chars must be positive")


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Sentence spans of one line of text, as offsets shifted by ``offset``."""
    ends = [m.end() for m in ZH_SENTENCE_END.finditer(text)] if is_cjk(text) else _english_ends(text)
    spans: list[Span] = []
    start = 0
    for end in [*ends, len(text)]:
        piece = text[start:end]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece) - len(piece.rstrip())
        if piece.strip():
            spans.append(Span(offset + start + lead, offset + end - trail))
        start = end
    return spans


def _english_ends(text: str) -> list[int]:
    ends = []
    for m in SENTENCE_END.finditer(text):
        word = text[: m.start()].rsplit(None, 1)[-1] if text[: m.start()].strip() else ""
        if text[m.start()] == "." and (word.lower().strip("(\"'") in _ABBREVIATIONS or len(word) == 1):
            continue
        ends.append(m.end())
    return ends


def slug(section: tuple[str, ...]) -> str:
    """A readable, stable id fragment for a section path ("commitment-2/retaining-your...")."""
    if not section:
        return "preamble"
    parts = [_SLUG.sub("-", title.lower()).strip("-")[:40] or "section" for title in section]
    return "/".join(parts)


@dataclass
class _Draft:
    section: tuple[str, ...]
    blocks: list[Block]
    kind: str  # "list", "short", "single"


def split_document(doc_id: str, norm: Normalized, config: SplitterConfig | None = None) -> list[Clause]:
    """Split one normalised document into clauses with stable ids."""
    config = config or SplitterConfig()
    text = norm.text
    clauses: list[Clause] = []
    seen: set[str] = set()
    ordinals: dict[str, int] = {}
    for draft in _drafts(norm, config, seen):
        for start, end, spans in _fit(text, draft.blocks, config.max_chars):
            key = slug(draft.section)
            ordinals[key] = ordinals.get(key, 0) + 1
            body = text[start:end]
            clauses.append(
                Clause(
                    doc_id=doc_id,
                    clause_id=f"{doc_id}:{key}:{ordinals[key]}",
                    section=draft.section,
                    text=body,
                    lang="zh" if is_cjk(body) else "en",
                    start=start,
                    end=end,
                    sentences=tuple(spans),
                )
            )
    return clauses


def _drafts(norm: Normalized, config: SplitterConfig, seen: set[str]) -> Iterator[_Draft]:
    """Group blocks into draft clauses, tracking the section path."""
    text = norm.text
    stack: list[tuple[int, str]] = []
    pending: _Draft | None = None
    langs = ["zh" if is_cjk(b.text(text)) else "en" for b in norm.blocks]
    next_heading_lang = _next_heading_langs(norm.blocks, langs)
    lang = ""
    heading_has_body = True
    for i, block in enumerate(norm.blocks):
        body = block.text(text)
        if lang and langs[i] != lang and next_heading_lang[i] == langs[i]:
            # The China file: a second language version begins (not just a Latin address
            # line inside a Chinese section). Its sections and repeats start afresh.
            if pending:
                yield pending
                pending = None
            if not heading_has_body and stack:
                yield _Draft(tuple(t for _, t in stack[:-1]), [_previous_heading(norm, i)], "single")
                heading_has_body = True
            stack = []
            seen.clear()
        if next_heading_lang[i] == langs[i] or not lang:
            lang = langs[i]
        if block.kind is BlockKind.HEADING:
            if pending:
                yield pending
                pending = None
            if i == 0 and block.level == 1 and len(norm.blocks) > 1:
                continue  # the document's own title is not a section
            if not heading_has_body and stack and block.level <= stack[-1][0]:
                # a heading with nothing under it (not even a sub-heading) is kept as text
                yield _Draft(tuple(t for _, t in stack), [_previous_heading(norm, i)], "single")
            stack = [(lvl, t) for lvl, t in stack if lvl < block.level] + [(block.level, body)]
            heading_has_body = False
            continue
        section = tuple(t for _, t in stack)
        if body in seen:  # a repeated bullet or paragraph is indexed once
            if pending:
                yield pending
                pending = None
            continue
        seen.add(body)
        heading_has_body = True
        ready, pending = _place(pending, section, block, body, config)
        yield from ready
    if pending:
        yield pending
    if not heading_has_body and norm.blocks:  # a heading that ends the document is kept as text
        yield _Draft(tuple(t for _, t in stack[:-1]), [_previous_heading(norm, len(norm.blocks))], "single")


def _place(
    pending: _Draft | None, section: tuple[str, ...], block: Block, body: str, config: SplitterConfig
) -> tuple[list[_Draft], _Draft | None]:
    """Where a body block goes: the drafts complete now, and the one still open. Short
    bullets and short lines gather into one clause (after the line that introduces them);
    a labelled or long block is a clause of its own."""
    done = [pending] if pending else []
    if block.label:
        return [*done, _Draft((*section, block.label), [block], "single")], None
    is_short_bullet = block.kind is BlockKind.BULLET and len(body) < config.long_bullet_chars
    is_short_line = block.kind is BlockKind.PARAGRAPH and len(body) < config.short_line_chars
    kind = "list" if is_short_bullet else "short" if is_short_line else "single"
    if pending and pending.section == section and kind != "single" and pending.kind in (kind, "lead"):
        pending.blocks.append(block)
        pending.kind = kind
        return [], pending
    if kind == "single" and body.rstrip().endswith((":", "：")):
        return done, _Draft(section, [block], "lead")  # introduces the list that follows
    if kind == "single":
        return [*done, _Draft(section, [block], "single")], None
    return done, _Draft(section, [block], kind)


def _next_heading_langs(blocks: tuple[Block, ...], langs: list[str]) -> list[str]:
    """For each block, the language of the first heading at or after it ("" if none)."""
    out = [""] * len(blocks)
    current = ""
    for i in range(len(blocks) - 1, -1, -1):
        if blocks[i].kind is BlockKind.HEADING:
            current = langs[i]
        out[i] = current
    return out


def _previous_heading(norm: Normalized, i: int) -> Block:
    return next(b for b in reversed(norm.blocks[:i]) if b.kind is BlockKind.HEADING)


def _fit(text: str, blocks: list[Block], max_chars: int) -> Iterable[tuple[int, int, list[Span]]]:
    """Cut a draft into parts of at most ``max_chars`` at sentence boundaries."""
    spans = [s for b in blocks for s in split_sentences(b.text(text), b.start)]
    part: list[Span] = []
    for span in spans:
        if part and span.end - part[0].start > max_chars:
            yield part[0].start, part[-1].end, part
            part = []
        part.append(span)
    if part:
        yield part[0].start, part[-1].end, part
