"""Where a customer can write: each policy's contact channels, read from its own text.

A channel is an e-mail address, a phone number, a web address or a postal address, always a
verbatim piece of the policy. A policy gives them in its contact section ("Contact us", 联系我们),
sometimes as a block of lines under a sentence ending in a colon that the splitter may have cut
into several clauses, and sometimes inside the section on exercising rights ("Or write to: …").
The patterns that recognise sections, streets and pointers are data (app/data/channels.toml);
the questions that ask how to exercise a right, and where each right is described, too
(app/data/rights.toml).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from app.catalog import Catalog
from app.errors import InputError
from app.records import Clause, Filters
from app.text.patterns import EMAIL, PHONE, SENTENCE_INSIDE, URL

_SHORT_NUMBER = re.compile(r"[\d ]{1,8}")
_LABEL = re.compile(r"^[^:：\n]{1,30}[:：]\s*")
_ANNOUNCED = re.compile(r"[:：][ \t]*\n", re.MULTILINE)
_CAPITALS_END = re.compile(r"(?<!\S)[A-Z0-9][^\s,]*(?:\s+[A-Z0-9][^\s,]*)*\s*$")
_CAPITALS_START = re.compile(r"\s*[A-Z0-9][^\s,]*(?:\s+[A-Z0-9][^\s,]*)*")


def _load_toml(name: str, path: Path | None) -> tuple[dict[str, Any], str]:
    where = str(path) if path else f"app/data/{name}"
    try:
        raw = (
            path.read_text(encoding="utf-8")
            if path
            else resources.files("app").joinpath(f"data/{name}").read_text(encoding="utf-8")
        )
        return tomllib.loads(raw), where
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{where}: cannot be read ({type(exc).__name__}: {exc})") from None


def _compile(where: str, pattern: object, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise InputError(f"{where}: a pattern must be a string, not {pattern!r}")
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise InputError(f"{where}: bad pattern ({exc})") from None


@dataclass(frozen=True)
class ChannelRules:
    """app/data/channels.toml, compiled."""

    contact_section: re.Pattern[str]
    rights_section: re.Pattern[str]
    street: re.Pattern[str]
    pointer: dict[str, re.Pattern[str]]  # touch, forward, backward, link, email, web, section
    announce: re.Pattern[str]
    max_chars: int
    max_lines: int

    @classmethod
    def load(cls, path: Path | None = None) -> ChannelRules:
        """Read and compile a channels file (default: the packaged one); a bad one names itself."""
        data, where = _load_toml("channels.toml", path)
        try:
            sections, pointer, block = data["sections"], data["pointer"], data["block"]
            # a section's capitalised title is matched case-sensitively ("the Opt-in section")
            cues = {k: _compile(where, v, 0 if k == "section" else re.IGNORECASE) for k, v in pointer.items()}
            missing = {"touch", "forward", "backward", "link", "email", "web", "section"} - cues.keys()
            if missing:
                raise InputError(f"{where}: [pointer] lacks {', '.join(sorted(missing))}")
            return cls(
                _compile(where, sections["contact"]),
                _compile(where, sections["rights"]),
                _compile(where, data["address"]["street"]),
                cues,
                _compile(where, block["announce"]),
                int(block["max_chars"]),
                int(block["max_lines"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: not a channels file ({type(exc).__name__}: {exc})") from None


@lru_cache(maxsize=1)
def channel_rules() -> ChannelRules:
    """The packaged channel rules, read on first use."""
    return ChannelRules.load()


def channels(text: str) -> list[str]:
    """E-mail addresses, web addresses and phone numbers in ``text``, in order, once each."""
    found: list[tuple[int, str]] = []
    for pattern in (EMAIL, URL, PHONE):
        for m in pattern.finditer(text):
            value = m.group(0).strip()
            if pattern is PHONE and (_SHORT_NUMBER.fullmatch(value) or _inside(m.start(), found)):
                continue
            found.append((m.start(), value))
    seen: list[str] = []
    for _, value in sorted(found):
        if value not in seen and not any(value in other for other in seen):
            seen.append(value)
    return seen


def _inside(pos: int, found: list[tuple[int, str]]) -> bool:
    return any(start <= pos < start + len(value) for start, value in found)


def _bare(line: str) -> str:
    """The line without its label ("Or write to:", "Tel:") when it is a short line of its own,
    such as an address line; "" for prose ("write to us at …"), announcements and lines that
    hold a channel."""
    body = _LABEL.sub("", line.strip(), count=1).rstrip(". ")
    if not body or len(body) > 160 or line.rstrip().endswith((":", "：")) or channels(body):
        return ""
    prose = SENTENCE_INSIDE.search(body) or channel_rules().pointer["touch"].search(body)
    return "" if prose else body


def addresses(text: str) -> list[str]:
    """Postal addresses in ``text``: runs of short lines holding a street line ("Harry Winston"
    then "1330 Avenue of …", joined by ", "), or the comma-separated run around a street inside
    a sentence. Each line of a result is verbatim; nothing is added."""
    street = channel_rules().street
    found: list[str] = []
    run: list[str] = []
    for line in [*text.splitlines(), ""]:
        body = _bare(line)
        if body:
            run.append(body)
            continue
        if any(street.search(r) for r in run):
            found.append(", ".join(run))
        run = []
        if (m := street.search(line)) is not None and (inline := _inline_address(line, m.start())):
            found.append(inline)
    return list(dict.fromkeys(found))


def _inline_address(line: str, at: int) -> str:
    """The comma-separated run of short capitalised pieces around position ``at``."""
    bounds = [-1, *(i for i, ch in enumerate(line) if ch == ","), len(line)]
    k = next(i for i in range(len(bounds) - 1) if bounds[i] < at <= bounds[i + 1])

    def piece(i: int) -> str:
        return line[bounds[i] + 1 : bounds[i + 1]]

    def fits(i: int) -> bool:
        text = piece(i).strip()
        return bool(text) and len(text) <= 40 and (text[0].isupper() or text[0].isdigit()) and not channels(text)

    if not fits(k):
        return ""
    first, last = k, k
    while first > 0 and fits(first - 1):
        first -= 1
    while last < len(bounds) - 2 and fits(last + 1):
        last += 1
    begin, end = bounds[first] + 1, bounds[last + 1]
    # the capitalised words that end the piece before ("write to us at Harry Winston") and
    # begin the piece after ("NY 10019 and include …") belong to the address too
    if first > 0 and (m := _CAPITALS_END.search(piece(first - 1))):
        begin = bounds[first - 1] + 1 + m.start()
    if last < len(bounds) - 2 and (m := _CAPITALS_START.match(piece(last + 1))) and not channels(m.group(0)):
        end = bounds[last + 1] + 1 + m.end()
    return line[begin:end].strip() if line[begin:end].count(",") >= 1 else ""


def contact_channels(text: str) -> tuple[str, ...]:
    """Every channel in ``text``: e-mail addresses, phone numbers, web addresses, then postal
    addresses, each once."""
    found = channels(text)
    kinds = (
        [c for c in found if EMAIL.fullmatch(c)],
        [c for c in found if PHONE.fullmatch(c)],
        [c for c in found if URL.fullmatch(c)],
        addresses(text),
    )
    return tuple(dict.fromkeys(c for kind in kinds for c in kind))


def _block_line(line: str) -> bool:
    return len(line.strip()) <= 80 and bool(_bare(line) or channels(line))


def contact_clauses(document: Sequence[Clause], lang: str) -> list[Clause]:
    """The clauses of a document's contact section in ``lang``, in order, with the short lines
    that end a block it announces ("请通过下列方式与我们联系:") when the splitter took one of them
    for a heading ("卡地亚", "邮件地址")."""
    pattern = channel_rules().contact_section
    out: list[Clause] = []
    open_block = False  # the last clause announced a block with a colon
    for clause in document:
        titled = any(pattern.search(title) for title in clause.section)
        if clause.lang != lang or not (titled or (open_block and all(map(_block_line, clause.text.splitlines())))):
            open_block = False
            continue
        out.append(clause)
        open_block = open_block or bool(_ANNOUNCED.search(clause.text))
    return out


def in_order(clauses: Iterable[Clause]) -> dict[str, tuple[Clause, ...]]:
    """Each document's clauses in document order."""
    by_doc: dict[str, list[Clause]] = {}
    for clause in clauses:
        by_doc.setdefault(clause.doc_id, []).append(clause)
    return {doc: tuple(sorted(cs, key=lambda c: c.start)) for doc, cs in by_doc.items()}


def contact_sections(clauses: Sequence[Clause]) -> dict[tuple[str, str], str]:
    """The e-mail addresses then phone numbers (three at most) of each document's contact
    section, per (doc_id, language): the short form offered when a question is not answered."""
    out: dict[tuple[str, str], str] = {}
    for doc_id, document in in_order(clauses).items():
        for lang in dict.fromkeys(c.lang for c in document):
            text = "\n".join(c.text for c in contact_clauses(document, lang))
            found = [c for c in contact_channels(text) if EMAIL.fullmatch(c) or PHONE.fullmatch(c)]
            if found:
                out[(doc_id, lang)] = ", ".join(found[:3])
    return out


@dataclass(frozen=True)
class RightsRules:
    """app/data/rights.toml, compiled: the "how" cue and each right's words and sections."""

    how: re.Pattern[str]
    unless: re.Pattern[str]
    words: dict[str, re.Pattern[str]]  # right → the words that name it in a question
    sections: dict[str, re.Pattern[str]]  # right → the section titles that describe it

    @classmethod
    def load(cls, path: Path | None = None) -> RightsRules:
        """Read and compile a rights file (default: the packaged one); a bad one names itself."""
        data, where = _load_toml("rights.toml", path)
        try:
            rights = data["rights"]
            return cls(
                _compile(where, data["how"]),
                _compile(where, data["unless"]),
                {name: _compile(where, r["words"]) for name, r in rights.items()},
                {name: _compile(where, r["sections"]) for name, r in rights.items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise InputError(f"{where}: not a rights file ({type(exc).__name__}: {exc})") from None


@lru_cache(maxsize=1)
def rights_rules() -> RightsRules:
    """The packaged rights rules, read on first use."""
    return RightsRules.load()


def exercise_request(question: str, rules: RightsRules | None = None) -> str | None:
    """The right the question asks how to exercise ("delete", "access", "correct", "opt_out",
    "withdraw", "complain"), or None: the answer then carries the policy's channel for it."""
    rules = rules or rights_rules()
    if not rules.how.search(question) or rules.unless.search(question):
        return None
    found = [(m.start(), -len(m.group(0)), right) for right, p in rules.words.items() if (m := p.search(question))]
    return min(found)[2] if found else None


CHANNEL_LINE = {"en": ("To make this request, contact: ", "; "), "zh": ("如需提出请求，请联系：", "；")}


def channel_line(channels: Sequence[str], lang: str) -> str:
    """ "To make this request, contact: a@b.example; +1 …" in the answer's language ("" for none)."""
    lead, sep = CHANNEL_LINE["zh" if lang == "zh" else "en"]
    return lead + sep.join(channels) if channels else ""


class ContactDirectory:
    """Each policy's channels: its contact section's, per (doc_id, language), and those that
    tell how to exercise a right."""

    def __init__(self, clauses: Sequence[Clause], catalog: Catalog) -> None:
        self.documents = in_order(clauses)  # doc_id → its clauses in document order
        self.sections = contact_sections(clauses)
        self.catalog = catalog

    def for_question(self, lang: str, filters: Filters, named: Sequence[str], top_doc: str | None) -> str:
        """The channel to offer: the filter's policy, the ones the question names, the top
        hit's and its brand's current ones, then any current one — preferring a policy whose
        first language is the question's, then any that has a contact section."""
        catalog = self.catalog
        preferred = [*([filters.doc_id] if filters.doc_id else []), *sorted(named)]
        if top_doc is not None:
            brand = catalog[top_doc].brand.lower()
            preferred += [top_doc, *sorted(catalog.by_brand.get(brand, frozenset()) & catalog.current)]
        preferred.extend(catalog.current_sorted)
        for want_lang in (True, False):
            for doc_id in preferred:
                meta = catalog.get(doc_id)
                if meta is None or (want_lang and (not meta.languages or meta.languages[0] != lang)):
                    continue
                if found := self.sections.get((doc_id, lang)) or self.sections.get((doc_id, "en")):
                    return found
        return ""

    def channels_for(self, doc_id: str, lang: str, right: str | None = None) -> tuple[str, ...]:
        """The policy's channels for a request: those of the section on ``right`` when it gives
        some ("Opt In and Opt Out"), else of its sections on exercising rights, else of its
        contact section; in ``lang`` where the policy is written in it."""
        meta = self.catalog.get(doc_id)
        return request_channels(self.documents.get(doc_id, ()), lang, right, meta.languages if meta else ())

    def request_line(self, question: str, doc_id: str, lang: str) -> str:
        """The channel line for a question asking how to exercise a right, else ""."""
        right = exercise_request(question)
        return channel_line(self.channels_for(doc_id, lang, right), lang) if right else ""


def request_channels(
    document: Sequence[Clause], lang: str, right: str | None = None, languages: Sequence[str] = ()
) -> tuple[str, ...]:
    """A policy's channels for a request (see ``ContactDirectory.channels_for``); a language it
    is not written in falls back to its first of ``languages`` it has, else its first clause's."""
    langs = [c.lang for c in document]
    if lang not in langs:
        lang = next((x for x in languages if x in langs), langs[0] if langs else lang)
    mine = [c for c in document if c.lang == lang]
    rules = rights_rules()
    wanted = [rules.sections[right]] if right in rules.sections else []
    for pattern in [*wanted, channel_rules().rights_section]:
        if found := contact_channels(_text(c for c in mine if any(pattern.search(t) for t in c.section))):
            return found
    return contact_channels(_text(contact_clauses(document, lang)))


def _text(clauses: Iterable[Clause]) -> str:
    return "\n".join(c.text for c in clauses)
