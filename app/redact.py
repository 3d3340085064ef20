"""Redaction of personal data in what users type, before it is stored or logged.

Only user messages (questions, feedback comments) pass through here; policy text never
does. The patterns lean towards redacting: a customer's order number mistaken for a
phone number costs nothing, a card number kept in a log costs a lot. Card numbers are
recognised only when the Luhn check passes, so ordinary long numbers fall through to
the ID and phone rules instead.

Redaction runs before anything else looks at a request, so it must cost time linear in
the input's length whatever a client sends: every rule is one pass of a regular expression
that cannot backtrack without bound (possessive quantifiers, disjoint classes), and each
candidate span it yields is validated once, in time bounded by a constant (the number
rules live in app/redact_numbers.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from app.redact_numbers import card_spans, iban_spans, load_metadata, long_number_spans, luhn_valid, phone_spans
from app.text.language import unspaced
from app.text.patterns import EMAIL_SPELLED, EMAIL_TYPED

__all__ = [
    "CARD", "CARD_REQUEST", "EMAIL", "ID", "PHONE", "PLACEHOLDERS", "Redaction",
    "luhn_valid", "normalised_view", "redact", "redact_text", "warm_up",
]  # fmt: skip

CARD = "card"
EMAIL = "email"
PHONE = "phone"
ID = "id"

PLACEHOLDERS: dict[str, str] = {
    CARD: "[card number]",
    EMAIL: "[e-mail]",
    PHONE: "[phone]",
    ID: "[id number]",
}

# Sentences that ask for card details: never quoted to a customer who just typed a card number.
CARD_REQUEST = re.compile(
    r"\b(?:card|credit card|debit card)\s+(?:number|details)|security code|\bcvv\b|\bcvc\b|expiration date"
    r"|卡号|银行卡|信用卡|安全码",
    re.IGNORECASE,
)
# Digits glued to Latin letters are part of a word ("A1234567B"); digits glued to
# Chinese characters are not ("电话13812345678"), hence no \b here. A placeholder's "]"
# stands for what it replaced, so that a second pass finds nothing new.
_NOT_BEFORE = r"(?<![0-9A-Za-z\]])"
_NOT_AFTER = r"(?![0-9A-Za-z])"

# E-mail patterns are app/text/patterns.py's EMAIL_TYPED and EMAIL_SPELLED; this cue tells
# whether the spelled-out one is worth running.
_SPELLED_AT = re.compile(r"(?i)[\[(] *+at *+[\])]")
# A Latin top-level domain glued to the Chinese or Japanese sentence that follows it.
_GLUED_TLD = re.compile(r"[.。]([A-Za-z]{2,})(?=[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af])")
_LABELLED_ID = re.compile(
    r"(?i)(?P<label>\b(?:ssn|social security(?: number| no\.?)?|passport(?: number| no\.?)?|"
    r"(?:national |resident )?id(?: card)?(?: number| no\.?)|身份证(?:号码|号)?|护照(?:号码|号)?)"
    r" *+(?:is *+)?[:#]? *+)(?P<value>[A-Z]{0,2}\d[A-Z0-9-]{4,19}+)" + _NOT_AFTER
)
_SSN = re.compile(_NOT_BEFORE + r"\d{3}([- ])\d{2}\1\d{4}" + _NOT_AFTER)
_CN_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}[ -]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ -]?\d{3}[\dXx]" + _NOT_AFTER
)
# A passport number without its label: one or two capital letters and 7–8 digits ("E12345678").
_PASSPORT = re.compile(_NOT_BEFORE + r"[A-Z]{1,2}\d{7,8}" + _NOT_AFTER)
# UK National Insurance number ("QQ 12 34 56 C"; any two letters: leaning towards redacting).
_NINO = re.compile(r"(?i)" + _NOT_BEFORE + r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]" + _NOT_AFTER)
_MASK = "\u25a0"  # what a claimed character becomes in the working copy: no digit, letter or separator
# A combining mark (Thai, Devanagari and Arabic vowel signs, a decomposed accent) is no word
# character to Python's regular expressions; the rules see this letter in its place.
_MARK_STAND_IN = "\u02b0"

_Span = tuple[int, int]
_Finder = Callable[[str], list[_Span]]


@dataclass(frozen=True)
class Redaction:
    """Text with personal data replaced by placeholders, and which kinds were found."""

    text: str
    kinds: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.kinds)

    @property
    def had_card(self) -> bool:
        return CARD in self.kinds


def _email_spans(text: str) -> list[_Span]:
    """E-mail addresses, any script ("josé@…", "用户@例子.广告", "иван@пример.рф"), and spelled-out
    ones; a Chinese sentence glued before a Latin address ("邮箱是wang@qq.com") stays, and so does
    one glued after it ("wang@qq.com谢谢")."""
    spans = []
    for m in EMAIL_TYPED.finditer(text):
        start, end = m.start(), m.end()
        at = text.index("@", start)
        local = text[start:at]
        if unspaced(local[:1]) and not all(unspaced(c) for c in local):
            start += next(k for k, c in enumerate(local) if not unspaced(c))
        glued = _GLUED_TLD.search(text, at, end)
        if glued:
            end = glued.end(1)
        spans.append((start, end))
    if _SPELLED_AT.search(text):
        spans.extend((m.start(), m.end()) for m in EMAIL_SPELLED.finditer(text))
    return spans


def _pattern(pattern: re.Pattern[str]) -> _Finder:
    def find(text: str) -> list[_Span]:
        return [(m.start(), m.end()) for m in pattern.finditer(text)]

    return find


def _labelled_ids(text: str) -> list[_Span]:
    return [(m.start("value"), m.end("value")) for m in _LABELLED_ID.finditer(text)]


# Order matters: an e-mail may hold digits; an IBAN (mod 97 and its country's format) is a
# stronger match than Luhn's one in ten, so a card is not read out of its digits; a card
# number would also look like a phone number; an ID after "passport number:" is an ID
# whatever its shape, but a card number typed after such a label is still a card number.
_RULES: tuple[tuple[str, _Finder], ...] = (
    (EMAIL, _email_spans),
    (ID, iban_spans),
    (CARD, card_spans),
    (ID, _labelled_ids),
    (ID, _pattern(_CN_ID)),
    (ID, _pattern(_SSN)),
    (ID, _pattern(_NINO)),
    (ID, _pattern(_PASSPORT)),
    (ID, long_number_spans),
    (PHONE, phone_spans),
)


class _ViewTable(dict[int, str]):
    """``str.translate``'s table for the normalised view, filled on first sight of a character
    (and emptied past a bound, so a client cannot grow it without limit). ``irregular`` holds
    the characters that do not map to exactly one character, so that a text without them keeps
    its offsets; it is never emptied (a few thousand code points at most), so another thread's
    clearing cannot make a text look regular."""

    LIMIT = 50_000

    def __init__(self) -> None:
        super().__init__()
        self.irregular: set[str] = set()

    def __missing__(self, code: int) -> str:
        if len(self) >= self.LIMIT:
            self.clear()
        mapped = _char_view(chr(code))
        if len(mapped) != 1:
            self.irregular.add(chr(code))
        self[code] = mapped
        return mapped


def _char_view(ch: str) -> str:
    """What one character becomes in the normalised view (see ``normalised_view``)."""
    if ch.isspace():
        return " "
    category = unicodedata.category(ch)
    if category in ("Cf", "Cs", "Cc"):
        return ""
    if category[0] == "M":
        return _MARK_STAND_IN
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c.isspace():
            out.append(" ")
        elif c.isdigit() and unicodedata.decimal(c, None) is not None:
            out.append(str(unicodedata.decimal(c)))  # "٤", "४", "４" → "4"
        else:
            out.append(c)
    return "".join(out)


_VIEW = _ViewTable()


def normalised_view(text: str) -> tuple[str, list[int]]:
    """The text as the rules see it, and for each of its characters the index of the original
    character it came from: NFKC (full-width digits and "＠" become ASCII), every script's
    decimal digits ASCII, every Unicode space (no-break, thin, ideographic, tab, newline) a plain
    space, invisible characters (zero-width spaces, joiners, lone surrogates) dropped, combining
    marks a letter."""
    view = text.translate(_VIEW)
    if _VIEW.irregular.isdisjoint(text):
        return view, list(range(len(text)))
    pieces = [_VIEW[ord(ch)] for ch in text]
    return view, [i for i, p in enumerate(pieces) for _ in p]


def _claims(view: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) in the view. Each rule runs once over a working copy in which what
    earlier rules claimed is masked, so a card's digits are not read again as a phone."""
    work = view
    taken = bytearray(len(view))
    claims: list[tuple[int, int, str]] = []
    for kind, finder in _RULES:
        accepted = []
        for a, b in finder(work):
            if a < b and taken.find(1, a, b) == -1:
                taken[a:b] = b"\x01" * (b - a)
                accepted.append((a, b))
                claims.append((a, b, kind))
        if accepted:
            pieces, pos = [], 0
            for a, b in sorted(accepted):
                pieces += [work[pos:a], _MASK * (b - a)]
                pos = b
            work = "".join([*pieces, work[pos:]])
    return claims


def redact(text: str) -> Redaction:
    """Replace card numbers, e-mail addresses, IBANs, phone and ID numbers in ``text``. They are
    found on its normalised view and the replacement is mapped back onto the original, so a
    secret typed with odd spaces or full-width digits goes as surely as a plain one."""
    view, origin = normalised_view(text)
    claims = _claims(view)
    if not claims:
        return Redaction(text)
    found: list[str] = []
    for _, _, kind in claims:
        if kind not in found:
            found.append(kind)
    out, pos = [], 0
    for start, end, kind in sorted((origin[a], origin[b - 1] + 1, kind) for a, b, kind in claims):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return Redaction("".join(out), tuple(found))


def warm_up() -> None:
    """Load now what redaction would load on its first calls (phonenumbers' metadata for every
    country, python-stdnum's IBAN registry; ~80 ms), so that no client's request pays for it.
    A server calls this once at start; redaction works without it."""
    load_metadata()
    redact("+1 212 555 0187, 4111 1111 1111 1111, DE89 3704 0044 0532 0130 00, a@b.example")


def redact_text(text: str) -> str:
    """The redacted text alone (for logging)."""
    return redact(text).text
