"""Holding a model's reply to the extractive standard: every sentence supported, every citation real.

The reply's ``[n]`` markers point at the numbered sources of the prompt. A marker that
points at no source is removed. A sentence is kept only when one of the clauses it cites
supports it: the sentence is close in meaning to one of the clause's sentences (cosine of
the local embedding model's unit vectors at or above a threshold) *and* every key fact it
states — numbers, ages, durations, e-mail addresses, URLs — appears verbatim in the clause.
A kept sentence cites the clause's best-matching sentence, verbatim, with its offsets.
Sentences of a clause that read as instructions to an assistant are never support.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from app.answer import Citation, Dropped, Evidence
from app.records import Clause
from app.text import norm as normalise  # the contract's comparison rule
from app.text.patterns import EMAIL, NUMBER_WORD, SENTENCE_BREAK, WEB_ADDRESS, ZH_COUNT

Embed = Callable[[Sequence[str]], np.ndarray]  # texts -> unit vectors, one row each

# "[1]", "[1, 2]", "[1-3]", "[Source 2]"; "(1)" is too common in prose to count.
_MARKER = re.compile(r"\[\s*(?:sources?\s*)?(\d+(?:\s*(?:,|;|-|–|and)\s*\d+)*)\s*\]", re.IGNORECASE)
_MARKER_RUN = re.compile(_MARKER.pattern + r"(?:\s*[-–,]?\s*" + _MARKER.pattern + r")*", re.IGNORECASE)
_LEADING_MARKERS = re.compile(r"^\s*" + _MARKER_RUN.pattern, re.IGNORECASE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]\s+|\d+[.)]\s+)")
_MARKDOWN = re.compile(r"\*\*|__|`")
_LABEL = re.compile(r"^\s*(?:answer|réponse|回答|答案)\s*[:：]\s*", re.IGNORECASE)

_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,:]\d+)*")

# A sentence addressed to an assistant rather than to a reader ("ignore previous instructions").
_INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b[^.]{0,60}\b(?:instructions?|prompts?|rules|guidelines)\b"
    r"|\b(?:you are now|system prompt|as an ai\b|assistant\s*:|always (?:answer|reply|respond|say))"
    r"|忽略(?:之前|以上|先前)?的?(?:所有)?指令",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Checked:
    """The validated reply: kept sentences (with their final markers) and their citations."""

    sentences: tuple[str, ...]
    citations: tuple[Citation, ...]
    dropped: tuple[Dropped, ...]
    removed_markers: tuple[int, ...]  # numbers that pointed at no source
    total: int  # sentences in the reply

    @property
    def text(self) -> str:
        return " ".join(self.sentences)

    @property
    def kept_share(self) -> float:
        return len(self.sentences) / self.total if self.total else 0.0


def split_reply(reply: str) -> list[str]:
    """Sentences of a reply, each with the markers that follow it (a marker after a full
    stop, "… data. [1]", belongs to the sentence before it)."""
    sentences: list[str] = []
    for raw_line in reply.splitlines():
        line = _LABEL.sub("", _MARKDOWN.sub("", _LIST_ITEM.sub("", raw_line))).strip()
        if not line:
            continue
        for piece in SENTENCE_BREAK.split(line):
            piece = piece.strip()
            if not piece:
                continue
            lead = _LEADING_MARKERS.match(piece)
            if lead and sentences:
                sentences[-1] = f"{sentences[-1]} {lead.group(0).strip(' -–,')}"
                piece = piece[lead.end() :].strip()
            if piece:
                sentences.append(piece)
    return sentences


def marker_numbers(sentence: str) -> list[int]:
    """The source numbers a sentence cites, in order, without repeats."""
    found: list[int] = []
    for group in _MARKER.findall(sentence):
        for part in re.split(r"\s*(?:,|;|and)\s*", group):
            bounds = re.split(r"\s*[-–]\s*", part)
            numbers = [int(b) for b in bounds if b.isdigit()]
            if len(numbers) == 2 and 0 <= numbers[1] - numbers[0] <= 20:
                numbers = list(range(numbers[0], numbers[1] + 1))
            found.extend(n for n in numbers if n not in found)
    return found


def strip_markers(sentence: str) -> str:
    """The claim itself: the sentence without its markers (and the dashes between them)."""
    text = _MARKER_RUN.sub(" ", sentence)
    text = re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", text)
    return re.sub(r"\s+", " ", text).strip()


def key_facts(claim: str) -> list[str]:
    """What must appear verbatim in the cited text: e-mail addresses, URLs, numbers
    (ages, durations, amounts, dates) written in digits or words."""
    facts: list[str] = []
    rest = claim
    for pattern in (EMAIL, WEB_ADDRESS):
        for match in pattern.findall(rest):
            facts.append(match.rstrip(".,;:"))
        rest = pattern.sub(" ", rest)
    facts += _NUMBER.findall(rest)
    facts += [w.lower() for w in NUMBER_WORD.findall(rest)]
    facts += ZH_COUNT.findall(rest)
    return list(dict.fromkeys(f for f in facts if f))


def fact_in(fact: str, text: str) -> bool:
    """The fact, verbatim (after normalisation), as a whole token of the text."""
    needle, haystack = normalise(fact), normalise(text)
    if not needle:
        return True
    return re.search(r"(?<![\w.])" + re.escape(needle) + r"(?![\w])", haystack) is not None or (
        not needle[0].isascii() and needle in haystack
    )


def is_instruction(sentence: str) -> bool:
    """A sentence that speaks to an assistant, not to a reader: never evidence."""
    return _INSTRUCTION.search(sentence) is not None


def validate(reply: str, sources: Sequence[Clause], embed: Embed, threshold: float) -> Checked:
    """Keep the reply sentences that their cited sources support; renumber the citations."""
    sentences = split_reply(reply)
    claims = [strip_markers(s) for s in sentences]
    wanted = [c for c in claims if c]
    vectors = dict(zip(wanted, embed(wanted), strict=True)) if wanted else {}
    spans = {n: _evidence_spans(clause) for n, clause in enumerate(sources, 1)}
    span_vectors = _embed_spans(spans, embed)
    kept: list[str] = []
    citations: list[Citation] = []
    dropped: list[Dropped] = []
    removed: list[int] = []
    for sentence, claim in zip(sentences, claims, strict=True):
        cited = marker_numbers(sentence)
        invalid = [n for n in cited if n not in spans]
        removed.extend(n for n in invalid if n not in removed)
        valid = [n for n in cited if n in spans]
        if not claim:
            continue  # a stray marker, no claim
        if not valid:
            pointless = ", ".join(f"[{n}]" for n in invalid)
            dropped.append(Dropped(claim, f"cites no source ({pointless} point at none)" if invalid else "no citation"))
            continue
        facts = key_facts(claim)
        reasons: list[str] = []
        numbers: list[int] = []
        for n in valid:
            ev, why = _support(claim, vectors[claim], facts, spans[n], span_vectors.get(n), threshold)
            if ev is None:
                reasons.append(f"[{n}]: {why}")
                continue
            numbers.append(_cite(citations, ev))
        if not numbers:
            dropped.append(Dropped(claim, "not supported by its source — " + "; ".join(reasons)))
            continue
        kept.append(claim + " " + "".join(f"[{k}]" for k in dict.fromkeys(numbers)))
    return Checked(tuple(kept), tuple(citations), tuple(dropped), tuple(removed), len([c for c in claims if c]))


def _evidence_spans(clause: Clause) -> list[Evidence]:
    """The clause's sentences that may be evidence (not those that read as instructions)."""
    evidence = [Evidence(clause, s.start, s.end, 0.0) for s in clause.sentences]
    if not evidence:
        evidence = [Evidence(clause, clause.start, clause.end, 0.0)]
    return [e for e in evidence if e.text.strip() and not is_instruction(e.text)]


def _embed_spans(spans: dict[int, list[Evidence]], embed: Embed) -> dict[int, np.ndarray]:
    texts = [e.text for evs in spans.values() for e in evs]
    if not texts:
        return {}
    matrix = embed(texts)
    out: dict[int, np.ndarray] = {}
    i = 0
    for n, evs in spans.items():
        if evs:
            out[n] = matrix[i : i + len(evs)]
            i += len(evs)
    return out


def _support(
    claim: str, vector: np.ndarray, facts: list[str], spans: list[Evidence], matrix: np.ndarray | None, threshold: float
) -> tuple[Evidence | None, str]:
    """The clause sentence that supports the claim, or None and why not."""
    if not spans or matrix is None:
        return None, "the source holds only instructions, not facts"
    clause_text = spans[0].clause.text
    missing = [f for f in facts if not fact_in(f, clause_text)]
    if missing:
        return None, f"{', '.join(repr(f) for f in missing)} not in the source"
    sims = matrix @ vector
    # The sentence holding the facts, if one does, else the closest in meaning.
    order = sorted(
        range(len(spans)), key=lambda i: (not all(fact_in(f, spans[i].text) for f in facts), -float(sims[i]))
    )
    best = max(float(s) for s in sims)
    if best < threshold:
        return None, f"similarity {best:.2f} < {threshold:.2f}"
    chosen = order[0] if float(sims[order[0]]) >= threshold else int(np.argmax(sims))
    ev = spans[chosen]
    return Evidence(ev.clause, ev.start, ev.end, float(sims[chosen])), ""


def _cite(citations: list[Citation], ev: Evidence) -> int:
    """The number of the citation for this sentence: an existing one, or a new one."""
    for c in citations:
        if c.clause_id == ev.clause.clause_id and c.start == ev.start:
            return c.n
    n = len(citations) + 1
    citations.append(
        Citation(
            n,
            ev.clause.doc_id,
            ev.clause.clause_id,
            ev.clause.section_title,
            ev.text,
            ev.start,
            ev.end,
            round(ev.score, 4),
        )
    )
    return n
