"""Redaction of personal data in what users type, before it is stored or logged.

Only user messages (questions, feedback comments) pass through here; policy text never
does. The patterns lean towards redacting: a customer's order number mistaken for a
phone number costs nothing, a card number kept in a log costs a lot. Card numbers are
recognised only when the Luhn check passes, so ordinary long numbers fall through to
the phone rule instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

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
# Chinese characters are not ("电话13812345678"), hence no \b here.
_NOT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_AFTER = r"(?![0-9A-Za-z])"

_TLD = r"(?:[A-Za-z]{2,}|[\u3400-\u9fff]{2,})(?![A-Za-z])"
_EMAIL = re.compile(r"(?<![\w.%+'-])[\w.%+'-]+@[\w-]+(?:\.[\w-]+)*\." + _TLD)
# "bob[at]example.com", "bob (at) example (dot) com"
_EMAIL_SPELLED = re.compile(
    r"(?i)(?<![\w.%+-])[\w.%+-]+\s*[\[(]\s*at\s*[\])]\s*[\w-]+(?:\s*(?:\.|[\[(]\s*dot\s*[\])])\s*[A-Za-z0-9-]+)+"
)
# Digit groups with any short run of spaces or punctuation between them: a card number may
# be typed "4111.1111.1111.1111", "4111 / 1111 …", "4111 - 1111", with tabs or double spaces.
_SEP = r"[ \-./,_:·•–—|*]{1,3}"
_DIGIT_GROUPS = re.compile(r"(?<!\d)\d+(?:" + _SEP + r"\d+)*(?!\d)")
_GROUP = re.compile(r"\d+")
_IBAN = re.compile(r"(?i)(?<![A-Z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,32}(?![A-Z0-9])")
_LABELLED_ID = re.compile(
    r"(?i)(?P<label>\b(?:ssn|social security(?: number| no\.?)?|passport(?: number| no\.?)?|"
    r"(?:national |resident )?id(?: card)?(?: number| no\.?)|身份证(?:号码|号)?|护照(?:号码|号)?)"
    r"\s*(?:is\s*)?[:#]?\s*)(?P<value>[A-Z]{0,2}\d[A-Z0-9-]{4,19})" + _NOT_AFTER
)
_SSN = re.compile(_NOT_BEFORE + r"\d{3}([- ])\d{2}\1\d{4}" + _NOT_AFTER)
_CN_ID = re.compile(
    r"(?<!\d)[1-9]\d{5}[ -]?(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[ -]?\d{3}[\dXx]" + _NOT_AFTER
)
# A passport number without its label: one or two capital letters and 7–8 digits ("E12345678").
_PASSPORT = re.compile(_NOT_BEFORE + r"[A-Z]{1,2}\d{7,8}" + _NOT_AFTER)
# UK National Insurance number ("QQ 12 34 56 C"; any two letters: leaning towards redacting).
_NINO = re.compile(r"(?i)" + _NOT_BEFORE + r"[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]" + _NOT_AFTER)
_PHONE_INTL = re.compile(r"(?<![0-9A-Za-z+])\+\s?\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){1,6}" + _NOT_AFTER)
_PHONE_PAREN = re.compile(r"(?<![0-9A-Za-z])\(\d{2,5}\)\s?\d{2,5}(?:[\s.-]?\d{2,5}){0,2}" + _NOT_AFTER)
_PHONE_GROUPS = re.compile(_NOT_BEFORE + r"\d{1,5}(?:[ .-]\d{2,5}){1,4}" + _NOT_AFTER)
_PHONE_RUN = re.compile(_NOT_BEFORE + r"\d{7,15}" + _NOT_AFTER)
# What is left of card length after the Luhn check: a mistyped card, an account number.
_LONG_NUMBER = re.compile(r"(?<!\d)\d(?:(?:" + _SEP + r")?\d){15,24}(?!\d)")
_DATE = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")
_YEAR_RANGE = re.compile(r"^(?:19|20)\d{2}\s?[-–]\s?(?:19|20)?\d{2}$")
_DECIMAL = re.compile(r"^\d+\.\d+$")
_MASK = "\u25a0"  # what a claimed character becomes in the working copy: no digit, letter or separator


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


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum used by payment cards."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digits(s: str) -> str:
    return "".join(ch for ch in s if ch.isdigit())


def _card_spans(text: str) -> list[tuple[int, int]]:
    """Card numbers: a run of consecutive digit groups with 13–19 digits that passes Luhn,
    not right after a "+" (an international phone number)."""
    spans = []
    for run in _DIGIT_GROUPS.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in _GROUP.finditer(run.group(0))]
        i = 0
        while i < len(groups):
            found = None
            for j in range(len(groups) - 1, i - 1, -1):
                digits = "".join(text[a:b] for a, b in groups[i : j + 1])
                if 13 <= len(digits) <= 19 and luhn_valid(digits) and not _after_plus(text, groups[i][0]):
                    found = j
                    break
            if found is None:
                i += 1
                continue
            spans.append((groups[i][0], groups[found][1]))
            i = found + 1
    return spans


def _after_plus(text: str, start: int) -> bool:
    return text[max(0, start - 2) : start].strip().endswith("+")


def _iban_spans(text: str) -> list[tuple[int, int]]:
    """IBANs (the mod-97 check of python-stdnum), spaced or not; a match that runs on into
    the next words is cut back to its longest valid prefix."""
    from stdnum import iban

    spans = []
    for m in _IBAN.finditer(text):
        value = m.group(0)
        for end in range(len(value), 14, -1):
            if (end == len(value) or value[end] == " " or value[end - 1] != " ") and iban.is_valid(value[:end]):
                spans.append((m.start(), m.start() + len(value[:end].rstrip())))
                break
    return spans


def _email_spans(text: str) -> list[tuple[int, int]]:
    """E-mail addresses, any script ("josé@…", "用户@例子.广告"), and spelled-out ones; a
    Chinese sentence glued before a Latin address ("邮箱是wang@qq.com") stays."""
    spans = []
    for pattern in (_EMAIL, _EMAIL_SPELLED):
        for m in pattern.finditer(text):
            start = m.start()
            local = m.group(0).split("@")[0] if "@" in m.group(0) else m.group(0)
            if _cjk(local[:1]) and not all(_cjk(c) for c in local):
                start += next(k for k, c in enumerate(local) if not _cjk(c))
            spans.append((start, m.end()))
    return spans


def _cjk(ch: str) -> bool:
    return bool(ch) and ("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")


def _phone_like(value: str) -> bool:
    n = len(_digits(value))
    if n < 7 or n > 15:
        return False
    # Dates, year ranges and section numbers ("1798.100") are not phone numbers.
    s = value.strip()
    return not (_DATE.match(s) or _YEAR_RANGE.match(s) or _DECIMAL.match(s))


def _pattern(pattern: re.Pattern[str], accept: Callable[[str], bool] | None = None) -> _Finder:
    def find(text: str) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in pattern.finditer(text) if accept is None or accept(m.group(0))]

    return find


def _labelled_ids(text: str) -> list[tuple[int, int]]:
    return [(m.start("value"), m.end("value")) for m in _LABELLED_ID.finditer(text)]


_Finder = Callable[[str], list[tuple[int, int]]]

# Order matters: an e-mail may hold digits; a card number would also look like a phone
# number; an ID after "passport number:" is an ID whatever its shape, but a card number
# typed after such a label is still a card number.
_RULES: tuple[tuple[str, _Finder], ...] = (
    (EMAIL, _email_spans),
    (CARD, _card_spans),
    (ID, _iban_spans),
    (ID, _labelled_ids),
    (ID, _pattern(_CN_ID)),
    (ID, _pattern(_SSN)),
    (ID, _pattern(_NINO)),
    (ID, _pattern(_PASSPORT)),
    (ID, _pattern(_LONG_NUMBER)),
    (PHONE, _pattern(_PHONE_INTL, _phone_like)),
    (PHONE, _pattern(_PHONE_PAREN, _phone_like)),
    (PHONE, _pattern(_PHONE_GROUPS, _phone_like)),
    (PHONE, _pattern(_PHONE_RUN, _phone_like)),
)


def normalised_view(text: str) -> tuple[str, list[int]]:
    """The text as the rules see it, and for each of its characters the index of the original
    character it came from: NFKC (full-width digits and "＠" become ASCII), every Unicode space
    (no-break, thin, ideographic, tab) a plain space, invisible characters (zero-width spaces,
    joiners, lone surrogates) dropped."""
    chars: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if category in ("Cf", "Cs", "Cc") and not ch.isspace():
            continue
        mapped = " " if ch.isspace() else unicodedata.normalize("NFKC", ch)
        for c in mapped:
            chars.append(" " if c.isspace() else c)
            origin.append(i)
    return "".join(chars), origin


def redact(text: str) -> Redaction:
    """Replace card numbers, e-mail addresses, IBANs, phone and ID numbers in ``text``. They are
    found on its normalised view and the replacement is mapped back onto the original, so a
    secret typed with odd spaces or full-width digits goes as surely as a plain one."""
    view, origin = normalised_view(text)
    work = view
    claimed: list[tuple[int, int, str]] = []  # original start, end, kind
    found: list[str] = []
    for kind, finder in _RULES:
        for a, b in finder(work):
            if a >= b or _MASK in work[a:b]:
                continue
            work = work[:a] + _MASK * (b - a) + work[b:]
            claimed.append((origin[a], origin[b - 1] + 1, kind))
            if kind not in found:
                found.append(kind)
    if not claimed:
        return Redaction(text)
    out, pos = [], 0
    for start, end, kind in sorted(claimed):
        if start < pos:
            continue
        out.append(text[pos:start])
        out.append(PLACEHOLDERS[kind])
        pos = end
    out.append(text[pos:])
    return Redaction("".join(out), tuple(found))


def redact_text(text: str) -> str:
    """The redacted text alone (for logging)."""
    return redact(text).text
