"""Perturbed eval questions: the same item asked the way people really type or chat.

The robustness block of `privacy-assistant eval` re-asks every item under each kind below and
sets the figures beside the clean ones. Each kind is a pure function of ``(item, catalog)``,
deterministic per item (``random.Random(f"{seed}:{item.id}")``), so a run is reproducible and
two runs of different assistants see exactly the same questions:

- ``typos``: about one word in three of four or more Latin letters gets one keyboard slip;
- ``plain``: lower case, no punctuation, collapsed whitespace (how a phone keyboard types);
- ``followup``: a two-turn chat whose second turn only names the policy ("and for the US?").

What must survive a perturbation — numbers, e-mail addresses, URLs and the catalogue's brand
and region names — is never edited: a slip there would change what is asked, not how.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from app.catalog import Catalog
from app.evaluation.dataset import EvalItem
from app.text import CJK, REGION_WORDS, YEAR, is_cjk
from app.text.patterns import EMAIL

# A staggered QWERTY: a key touches its row's neighbours, the two keys above it (same column
# and one right) and the two below it (one left and same column).
_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{4,}(?![A-Za-z0-9])")
# Addresses no perturbation may change (an e-mail or URL ends on a letter, digit or slash).
_ADDRESS = re.compile(rf"{EMAIL.pattern}|(?:https?://|www\.)\S*[\w/]", re.IGNORECASE)
# Spans a slip must never touch: addresses, domain-like tokens, anything with a digit.
_PROTECTED = re.compile(rf"{_ADDRESS.pattern}|[\w-]+(?:\.[A-Za-z]{{2,}})+\b|[A-Za-z]*\d[\w.,:/-]*", re.IGNORECASE)
_APOSTROPHES = "'’‘`´"


@dataclass(frozen=True)
class Conversation:
    """The two chat turns of a ``followup`` perturbation; only the second is scored."""

    first: str
    second: str


def neighbours(letter: str) -> tuple[str, ...]:
    """The keys next to ``letter`` on a QWERTY keyboard, in alphabetical order."""
    for r, row in enumerate(_ROWS):
        c = row.find(letter)
        if c < 0:
            continue
        spots = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
        return tuple(sorted(_ROWS[i][j] for i, j in spots if 0 <= i < len(_ROWS) and 0 <= j < len(_ROWS[i])))
    return ()


def slip(word: str, rng: random.Random) -> str:
    """One keyboard slip in ``word``: two adjacent letters swapped, a letter dropped, a letter
    doubled, or a key's neighbour hit instead. Never at the first letter, which people rarely
    miss and which spelling correctors lean on."""
    kind = rng.choice(("swap", "drop", "double", "neighbour"))
    if kind == "swap":
        spots = [i for i in range(1, len(word) - 1) if word[i] != word[i + 1]]
        if spots:
            i = rng.choice(spots)
            return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        kind = "double"  # "eeee": nothing to swap
    i = rng.randrange(1, len(word))
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    near = neighbours(word[i].lower())
    return word[:i] + rng.choice(near) + word[i + 1 :] if near else word[:i] + word[i] + word[i:]


def typos(item: EvalItem, catalog: Catalog, seed: int = 0) -> str:
    """The question with about one word in three (at least one) of four or more Latin letters
    slipped. Words with a capital letter are left alone (names, acronyms, a sentence's first
    word), as are numbers, e-mails, URLs and the catalogue's brand and region names. Chinese
    characters are never edited: only Latin words inside a Chinese question may slip."""
    question = item.question
    blocked = _spans(_PROTECTED.finditer(question)) + _name_spans(question, catalog.brand_names | catalog.region_names)
    words = [
        m
        for m in _WORD.finditer(question)
        if m.group().islower() and not any(s < m.end() and m.start() < e for s, e in blocked)
    ]
    if not words:
        return question
    rng = random.Random(f"{seed}:{item.id}")
    chosen = sorted(rng.sample(range(len(words)), max(1, round(len(words) / 3))))
    edits = [(words[i], slip(words[i].group(), rng)) for i in chosen]
    for m, new in reversed(edits):
        question = question[: m.start()] + new + question[m.end() :]
    return question


def plain(item: EvalItem, catalog: Catalog) -> str:
    """The question lower-cased, its punctuation (ASCII and CJK) gone and its whitespace collapsed.
    E-mails and URLs keep their dots and @ (lower-cased): they are part of the address."""
    del catalog  # the same signature as every kind; plain typing needs no names
    text = item.question.lower()
    kept = _spans(_ADDRESS.finditer(text))
    out = [
        _plain_mark(ch, text[i - 1 : i], text[i + 1 : i + 2])
        if unicodedata.category(ch).startswith("P") and not any(s <= i < e for s, e in kept)
        else ch
        for i, ch in enumerate(text)
    ]
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _plain_mark(mark: str, before: str, after: str) -> str:
    """What plain typing leaves of a punctuation mark: itself between two digits ("1,000",
    "3.5"); nothing for an apostrophe, a dot ending or inside a word ("don't" → "dont", "U.S." →
    "us") or a mark beside a Chinese character (Chinese has no spaces); else a space."""
    if before.isdigit() and after.isdigit():
        return mark
    if mark in _APOSTROPHES or (mark == "." and before.isalpha() and (after.isalpha() or not after.strip())):
        return ""
    return "" if CJK.match(before + " ") or CJK.match(after + " ") else " "


def followup(item: EvalItem, catalog: Catalog, seed: int = 0) -> Conversation | None:
    """A two-turn chat reaching the item's question through a follow-up: turn 1 asks it about
    another brand or region ("{question} (Harry Winston)") with the scope words it named removed,
    turn 2 only names the gold policy ("and for China?", "那中国呢？"). None when the item has no
    single gold policy the catalogue can name, or pins a document by filter (the chat's picker,
    not a follow-up, would scope it)."""
    if item.filters.get("doc_id"):
        return None
    gold = {s.doc_id for s in item.sources}
    if len(gold) != 1 or (doc_id := next(iter(gold))) not in catalog:
        return None
    zh = item.lang == "zh"
    scope = policy_scope(catalog, doc_id, zh)
    others = other_scopes(catalog, doc_id, zh)
    if not scope or not others:
        return None
    other = random.Random(f"{seed}:{item.id}").choice(others)
    topic = strip_scope(item.question, scope_words(catalog))
    if zh:
        return Conversation(f"{topic}（{other}）", f"那{scope}呢？")
    return Conversation(f"{topic} ({other})", f"and for {scope}?")


def policy_scope(catalog: Catalog, doc_id: str, zh: bool) -> str:
    """How a customer names one policy: its region for a regional one, its year for a superseded
    one, else its brand — in the question's script (Chinese names for a Chinese question)."""
    meta = catalog[doc_id]
    if meta.regional:
        return next((n for n in meta.region_names if is_cjk(n) == zh), "")
    if not meta.is_current:
        year = YEAR.search(meta.effective_date)
        return year.group() if year else ""
    return next((n for n in (meta.brand, *meta.aliases) if n and is_cjk(n) == zh), "")


def other_scopes(catalog: Catalog, doc_id: str, zh: bool) -> list[str]:
    """What turn 1 asks about before turn 2 moves to the gold policy: names of the catalogue, in
    the question's script, that do not name ``doc_id`` — another brand when the policy is named
    by its brand, another region when by its region (a conversation moves along one axis),
    either for a year or when that axis has no other name."""
    meta = catalog[doc_id]
    brands = {n for n, b in catalog.brand_aliases.items() if b != meta.brand.lower() and is_cjk(n) == zh}
    regions = {n for n, docs in catalog.by_region_name.items() if doc_id not in docs and is_cjk(n) == zh}
    if meta.regional and regions:
        return sorted(regions)
    if meta.is_current and not meta.regional and brands:
        return sorted(brands)
    return sorted(brands | regions)


def scope_words(catalog: Catalog) -> frozenset[str]:
    """The words the chat's follow-up rule treats as a scope (as app.web.service passes them)."""
    return REGION_WORDS | catalog.brand_names | catalog.region_names


def strip_scope(question: str, words: Iterable[str]) -> str:
    """``question`` without the scope words (and years) it names, tidied: "In the 2010 US
    policy, may Cartier's site …" → "In the policy, may site …"."""
    out = question
    addresses = _spans(_ADDRESS.finditer(question))
    for s, e in reversed(sorted(_name_spans(question, words) + _spans(YEAR.finditer(question)))):
        if not any(a < e and s < b for a, b in addresses):  # "privacy@brand.com" stays whole
            out = out[:s] + ("" if CJK.match(question[s]) else " ") + out[e:]
    out = re.sub(r"^\s*(?:'s|’s)\b|(?<=\s)(?:'s|’s)\b", "", out)
    out = re.sub(r"\s+([,.;:!?)，。；：！？）])", r"\1", re.sub(r"([(（])\s+", r"\1", out))
    out = re.sub(r"[(（][)）]", "", out)
    return re.sub(r"\s{2,}", " ", out).strip()


def _name_spans(text: str, words: Iterable[str]) -> list[tuple[int, int]]:
    """Where ``text`` names any of ``words``, as app.catalog.names reads a name: Chinese anywhere,
    a short upper-case name ("US") only in upper case, anything else as a word in any case.
    Overlaps are merged, so "United States" is one span even if "States" were a name too."""
    spans: list[tuple[int, int]] = []
    for word in sorted(words, key=len, reverse=True):
        if is_cjk(word):
            pattern = re.compile(re.escape(word))
        elif len(word) <= 4 and word.replace(".", "").isalpha() and (word.isupper() or len(word) <= 3):
            pattern = re.compile(rf"(?<![\w.]){re.escape(word.upper())}(?!\w)")
        else:
            pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        spans += _spans(pattern.finditer(text))
    return _merged(spans)


def _spans(matches: Iterable[re.Match[str]]) -> list[tuple[int, int]]:
    return [m.span() for m in matches]


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


Perturbation = Callable[[EvalItem, Catalog], str | Conversation | None]
PERTURBATIONS: dict[str, Perturbation] = {"typos": typos, "plain": plain, "followup": followup}
