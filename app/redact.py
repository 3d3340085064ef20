"""Redaction of personal data in what users type, before it is stored or logged.

Only user messages (questions, feedback comments) pass through here; policy text never
does. The patterns lean towards redacting: a customer's order number mistaken for a
phone number costs nothing, a card number kept in a log costs a lot. Card numbers are
recognised only when the Luhn check passes, so ordinary long numbers fall through to
the phone rule instead.
"""

from __future__ import annotations

import re
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

# Digits glued to Latin letters are part of a word ("A1234567B"); digits glued to
# Chinese characters are not ("电话13812345678"), hence no \b here.
_NOT_BEFORE = r"(?<![0-9A-Za-z])"
_NOT_AFTER = r"(?![0-9A-Za-z])"

_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CARD = re.compile(_NOT_BEFORE + r"\d(?:[ -]?\d){12,18}" + _NOT_AFTER)
_LABELLED_ID = re.compile(
    r"(?i)(?P<label>\b(?:ssn|social security(?: number| no\.?)?|passport(?: number| no\.?)?|"
    r"(?:national |resident )?id(?: card)?(?: number| no\.?)|身份证(?:号码|号)?|护照(?:号码|号)?)"
    r"\s*(?:is\s*)?[:#：]?\s*)(?P<value>[A-Z]{0,2}\d[A-Z0-9-]{4,19})" + _NOT_AFTER
)
_SSN = re.compile(_NOT_BEFORE + r"\d{3}([- ])\d{2}\1\d{4}" + _NOT_AFTER)
_CN_ID = re.compile(
    _NOT_BEFORE + r"[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]" + _NOT_AFTER
)
_PHONE_INTL = re.compile(r"(?<![\w+])\+\s?\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){1,6}" + _NOT_AFTER)
_PHONE_PAREN = re.compile(r"(?<!\w)\(\d{2,5}\)\s?\d{2,5}(?:[\s.-]?\d{2,5}){0,2}" + _NOT_AFTER)
_PHONE_GROUPS = re.compile(_NOT_BEFORE + r"\d{1,5}(?:[ .-]\d{2,5}){1,4}" + _NOT_AFTER)
_PHONE_RUN = re.compile(_NOT_BEFORE + r"\d{7,15}" + _NOT_AFTER)
# What is left of card length after the Luhn check: a mistyped card, an account number.
_LONG_NUMBER = re.compile(_NOT_BEFORE + r"\d(?:[ -]?\d){15,24}" + _NOT_AFTER)
_DATE = re.compile(r"^\d{1,4}[-./]\d{1,2}[-./]\d{1,4}$")
_YEAR_RANGE = re.compile(r"^(?:19|20)\d{2}\s?[-–]\s?(?:19|20)?\d{2}$")
_DECIMAL = re.compile(r"^\d+\.\d+$")


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


def _is_card(m: re.Match[str]) -> bool:
    digits = _digits(m.group(0))
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_phone(m: re.Match[str]) -> bool:
    s = m.group(0).strip()
    n = len(_digits(s))
    if n < 7 or n > 15:
        return False
    # Dates, year ranges and section numbers ("1798.100") are not phone numbers.
    return not (_DATE.match(s) or _YEAR_RANGE.match(s) or _DECIMAL.match(s))


def _always(_: re.Match[str]) -> bool:
    return True


_Rule = tuple[str, re.Pattern[str], Callable[[re.Match[str]], bool]]

# Order matters: e-mails may hold digits, a card number would also look like a phone
# number, an SSN like a grouped phone number.
_RULES: tuple[_Rule, ...] = (
    (EMAIL, _EMAIL, _always),
    (CARD, _CARD, _is_card),
    (ID, _CN_ID, _always),
    (ID, _SSN, _always),
    (ID, _LONG_NUMBER, _always),
    (PHONE, _PHONE_INTL, _is_phone),
    (PHONE, _PHONE_PAREN, _is_phone),
    (PHONE, _PHONE_GROUPS, _is_phone),
    (PHONE, _PHONE_RUN, _is_phone),
)


def redact(text: str) -> Redaction:
    """Replace card numbers, e-mail addresses, phone and ID numbers in `text`."""
    found: list[str] = []

    def note(kind: str) -> None:
        if kind not in found:
            found.append(kind)

    def labelled(m: re.Match[str]) -> str:
        note(ID)
        return m.group("label") + PLACEHOLDERS[ID]

    # A value after "passport number:" is an ID whatever its shape, so it goes first;
    # but a card number typed after such a label is still a card number.
    out = text
    for kind, pattern, accept in _RULES[:2]:
        out = _sub(pattern, out, kind, accept, note)
    out = _LABELLED_ID.sub(labelled, out)
    for kind, pattern, accept in _RULES[2:]:
        out = _sub(pattern, out, kind, accept, note)
    return Redaction(out, tuple(found))


def _sub(
    pattern: re.Pattern[str],
    text: str,
    kind: str,
    accept: Callable[[re.Match[str]], bool],
    note: Callable[[str], None],
) -> str:
    def replace(m: re.Match[str]) -> str:
        if not accept(m):
            return m.group(0)
        note(kind)
        return PLACEHOLDERS[kind]

    return pattern.sub(replace, text)


def redact_text(text: str) -> str:
    """The redacted text alone (for logging)."""
    return redact(text).text
