"""The number rules of redaction (app/redact.py): card numbers, IBANs, long ID numbers, phones.

Each rule reads the normalised view (ASCII digits, every space a plain space) in linear time:
one regular-expression pass finds runs of digit groups, and each run is walked once from left
to right. A card is checked with Luhn sums kept as prefix sums, so a candidate costs O(1) and
a start never looks beyond 19 digits; an IBAN's mod-97 check is carried along the run the
same way; a phone's length is checked against the possible lengths that `phonenumbers` holds
for its country code. Nothing here tries pairs of groups or joins digits per candidate. The
phone pattern itself is ``PHONE_TYPED`` (app/text/patterns.py), beside the other phone pattern.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left, bisect_right
from functools import lru_cache
from itertools import accumulate, islice

from app.text.patterns import PHONE_TYPED

_Span = tuple[int, int]

# Between the groups of a card number: up to ten spaces or punctuation marks, in any mix
# ("4111 -- 1111", "4111....1111", "4111 • 1111", a newline and an indent).
_CARD_SEP_CHARS = r"[ \-./,_:;·•‧∙・–—|*+~#\\='\"‘’“”]"
_CARD_SEP = _CARD_SEP_CHARS + r"{1,10}+"


def _blocks(min_digits: int) -> re.Pattern[str]:
    """Runs of digit blocks, each but the last of three digits or more, that hold at least
    ``min_digits`` digits: the lookahead counts them before anything is captured, so a run of
    short groups ("1 1 1 …") is passed over inside the regular-expression engine."""
    enough = r"(?=(?:" + _CARD_SEP_CHARS + r"{0,10}+[0-9]){" + str(min_digits) + "})"
    blocks = r"[0-9]{3,}+(?:" + _CARD_SEP + r"[0-9]{3,}+)*+(?:" + _CARD_SEP + r"[0-9]++)?"
    return re.compile(r"(?<![0-9])(?=[0-9]{3})" + enough + blocks)


_CARD_RUN = _blocks(13)
# A number typed digit by digit ("4 1 1 1 …"): a whole run of 13–25 single digits, one separator
# between them; a longer run is no card or account number and is passed over without backtracking.
_DIGIT_BY_DIGIT = re.compile(
    r"(?<![0-9])(?<![0-9]" + _CARD_SEP_CHARS + r")[0-9](?:" + _CARD_SEP_CHARS + r"[0-9]){12,24}+"
    r"(?!" + _CARD_SEP_CHARS + r"?[0-9])"
)
_LONG_RUN = _blocks(16)
_GROUP = re.compile(r"[0-9]+")
_NOT_DIGIT = re.compile(r"[^0-9]+")
_IBAN = re.compile(r"(?i)(?<![A-Z0-9])[A-Z]{2}[0-9]{2}(?:[ .-]{0,3}+[A-Z0-9]){11,32}+")
_IBAN_CHAR = re.compile(r"[A-Za-z0-9]")
_IBAN_SEPARATORS = re.compile(r"[ .-]+")
_IBAN_DIGITS = {ord(c): str(10 + i) for i, c in enumerate(string.ascii_uppercase)}
_GROUP_TOKEN = re.compile(r"\([0-9]{1,5}\)|[0-9]+")
_SLASH_TILDE_COMMA = re.compile(r"[/~,]")
_GLUED = re.compile(r"[0-9A-Za-z]")
# What looks like a phone number and is not: a date (passed over where a number starts with
# one), and a whole value that is a decimal, an amount with thousands separators ("1,250,000",
# "20 000 000"), a list of years, or a law's number, which starts with its year ("Law No.
# 2018-493", "2016/679").
_DATE = re.compile(
    r"(?:[0-9]{4}[-./](?:0?[1-9]|1[0-2])[-./](?:0?[1-9]|[12][0-9]|3[01])"
    r"|(?:0?[1-9]|[12][0-9]|3[01])[-./](?:0?[1-9]|[12][0-9]|3[01])[-./](?:[0-9]{4}|[0-9]{2}))(?![0-9])"
)
_YEARS = re.compile(r"(?:19|20)[0-9]{2}(?:[^0-9]+(?:19|20)[0-9]{2})+")
_NOT_DIALLABLE = re.compile(
    r"[0-9]+\.[0-9]+|[0-9]{1,3}([,.'])[0-9]{3}(?:\1[0-9]{3})*|[0-9]{1,2}(?: [0-9]{3})+"
    r"|(?:19|20)[0-9]{2}(?:[^0-9]+(?:19|20)[0-9]{2})+|(?:19|20)[0-9]{2}[-/.~,][0-9]{1,4}"
)
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)  # a digit's value in the Luhn sum when it is doubled


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum used by payment cards."""
    from stdnum import luhn

    return digits.isdigit() and luhn.is_valid(digits)


def _runs(pattern: re.Pattern[str], text: str, min_digits: int) -> list[list[_Span]]:
    """The digit groups of every run that ``pattern`` finds with at least ``min_digits`` digits."""
    runs = []
    for run in pattern.finditer(text):
        if len(_NOT_DIGIT.sub("", run.group(0))) >= min_digits:
            runs.append([m.span() for m in _GROUP.finditer(text, run.start(), run.end())])
    return runs


def _luhn_sums(digits: str) -> tuple[list[int], list[int]]:
    """Prefix sums of the Luhn weights, one list for each parity of the last digit's position:
    the digits [s, e) pass Luhn when ``sums[(e - 1) % 2][e] - sums[(e - 1) % 2][s]`` ends in 0."""
    values = [ord(c) - 48 for c in digits]
    even = [v if i % 2 == 0 else _DOUBLED[v] for i, v in enumerate(values)]
    odd = [_DOUBLED[v] if i % 2 == 0 else v for i, v in enumerate(values)]
    return list(accumulate(even, initial=0)), list(accumulate(odd, initial=0))


def _offsets(groups: list[_Span]) -> list[int]:
    """Where each group starts in the run's digits, and (last) how many digits the run has."""
    return list(accumulate((b - a for a, b in groups), initial=0))


def card_spans(text: str) -> list[_Span]:
    """Card numbers: consecutive digit groups with 13–19 digits that pass Luhn, every group but
    the last of three digits or more (a card is typed in blocks, a date or a list is not), not
    right after a "+" (an international phone number), or typed digit by digit. From each start
    the longest card wins."""
    spans = []
    for groups in _runs(_CARD_RUN, text, 13):
        digits = "".join(text[a:b] for a, b in groups)
        sums = _luhn_sums(digits)
        at = _offsets(groups)
        i = 0
        while i < len(groups):
            best = None if _after_plus(text, groups[i][0]) else _longest_card(at, sums, i)
            if best is not None and _YEARS.fullmatch(text, groups[i][0], groups[best][1]):
                best = None  # "2019 2020 2021 2022" passing Luhn by chance
            if best is None:
                i += 1
                continue
            spans.append((groups[i][0], groups[best][1]))
            i = best + 1
    for m in _DIGIT_BY_DIGIT.finditer(text):
        if len(m.group(0)) <= 37 and luhn_valid(m.group(0)[::2]) and not _after_plus(text, m.start()):
            spans.append(m.span())  # 13–19 digits
    return spans


def _longest_card(at: list[int], sums: tuple[list[int], list[int]], i: int) -> int | None:
    """The last group of the longest card that starts at group i: only the ends that give
    13–19 digits are tried (at most seven), each with an O(1) Luhn check."""
    first = bisect_left(at, at[i] + 13, i + 1)
    last = bisect_right(at, at[i] + 19, i + 1) - 1
    for end in range(last, first - 1, -1):
        luhn_sums = sums[(at[end] - 1) % 2]
        if (luhn_sums[at[end]] - luhn_sums[at[i]]) % 10 == 0:
            return end - 1
    return None


def _after_plus(text: str, start: int) -> bool:
    before = text[max(0, start - 2) : start]
    return before[-1:] == "+" or before == "+ "


def long_number_spans(text: str) -> list[_Span]:
    """What is left of card length after the Luhn check: a mistyped card, an account number —
    16 digits or more, in blocks of three or more (a single block of any length), or 16–25
    digits typed one by one."""
    spans = []
    for groups in _runs(_LONG_RUN, text, 16):
        at = _offsets(groups)
        i = 0
        while i < len(groups):
            j = i
            while j + 1 < len(groups) and at[j + 1] - at[j] >= 3 and at[j + 2] - at[i] <= 25:
                j += 1
            if at[j + 1] - at[i] >= 16 and not _YEARS.fullmatch(text, groups[i][0], groups[j][1]):
                spans.append((groups[i][0], groups[j][1]))
            i = j + 1
    spans.extend(m.span() for m in _DIGIT_BY_DIGIT.finditer(text) if len(m.group(0)) >= 31)  # 16 digits or more
    return spans


def iban_spans(text: str) -> list[_Span]:
    """IBANs (ISO 7064 mod 97, then python-stdnum's check of the country's format), spaced or
    not; a match that runs on into the next words is cut back to its longest valid prefix. The
    mod-97 remainder is carried along the candidate, so each possible end costs O(1), and only
    the ends that pass it (one in 97 by chance) reach python-stdnum."""
    from stdnum import iban

    spans: list[_Span] = []
    m = _IBAN.search(text)
    while m:
        resume = m.end()
        compact = _IBAN_SEPARATORS.sub("", m.group(0)).upper()
        for k in reversed(_mod97_ends(compact)):
            if iban.is_valid(compact[:k]):
                ends = [c.end() for c in islice(_IBAN_CHAR.finditer(text, m.start(), m.end()), k)]
                spans.append((m.start(), ends[-1]))
                resume = ends[-1]  # a second IBAN may follow this one directly
                break
        m = _IBAN.search(text, resume)
    return spans


def _mod97_ends(compact: str) -> list[int]:
    """The lengths (15 or more) at which the prefix passes ISO 7064 mod 97: the country code and
    check digits move to the end (six digits), letters count as 10–35."""
    tail = int(compact[:4].translate(_IBAN_DIGITS))
    rest, ends = 0, []
    for k in range(4, len(compact)):
        value = int(compact[k], 36)
        rest = (rest * (100 if value > 9 else 10) + value) % 97
        if k >= 14 and (rest * 1_000_000 + tail) % 97 == 1:
            ends.append(k + 1)
    return ends


def load_metadata() -> None:
    """Load what the number rules otherwise load on first use: python-stdnum's IBAN registry and
    phonenumbers' metadata for every country code (some 80 ms in all)."""
    import phonenumbers
    from stdnum import iban

    iban.is_valid("DE89370400440532013000")
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        _national_lengths(code)


@lru_cache(maxsize=512)
def _national_lengths(country_code: int) -> frozenset[int]:
    """How many digits a number may have after this country code (phonenumbers' metadata);
    empty when no country has the code."""
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata

    region = phonenumbers.region_code_for_country_code(country_code)
    if region == phonenumbers.UNKNOWN_REGION:
        return frozenset()
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        metadata = PhoneMetadata.metadata_for_nongeo_region(country_code)
    else:
        metadata = PhoneMetadata.metadata_for_region(region)
    return frozenset(metadata.general_desc.possible_length) if metadata and metadata.general_desc else frozenset()


def _international_end(sizes: list[int], tokens: list[str]) -> int | None:
    """The last token of an international number: the country code is the first 1–3 digits that
    name a country, a "(0)" after it is the national trunk prefix, and the longest prefix whose
    remaining length is possible for that country wins. None when no country fits."""
    digits = "".join(t.strip("()") for t in tokens[:3])[:3]
    lengths: frozenset[int] = frozenset()
    code = 0
    for code in range(1, len(digits) + 1):
        lengths = _national_lengths(int(digits[:code]))
        if lengths:
            break
    count, best = -code, None
    for k, size in enumerate(sizes):
        count += 0 if k > 0 and tokens[k] == "(0)" else size
        if count > 17:
            break
        if count in lengths:
            best = k
    return best


def _plausible_national(value: str, tokens: list[str]) -> bool:
    """A national number is no decimal, amount, list of years or numbered law; two groups joined
    by "/", "~" or "," ("2016/679") are one only when the number starts with a trunk "0"."""
    if _NOT_DIALLABLE.fullmatch(value):
        return False
    return not (len(tokens) == 2 and _SLASH_TILDE_COMMA.search(value) and not value.startswith(("0", "(0")))


def _national_end(sizes: list[int], i: int) -> int:
    """The last token of the longest national number that can start at token i: up to 15
    digits, a first group of at most five digits unless it stands alone."""
    n, j = sizes[i], i
    if n > 5:
        return i
    while j + 1 < len(sizes) and n + sizes[j + 1] <= 15:
        j += 1
        n += sizes[j]
    return j


def phone_spans(text: str) -> list[_Span]:
    """Phone numbers, international ("+44 (0) 20 7946 0958", "+86 138/0013/8000") or national
    ("01 42 68 53 00", "030/12345678", "212,555,0187"), 7–15 digits."""
    spans = []
    for m in PHONE_TYPED.finditer(text):
        found = list(_GROUP_TOKEN.finditer(text, m.start(), m.end()))
        if _GLUED.match(text, m.end()):
            found.pop()  # the last group runs on into a word ("0187ext"): the groups before it may be a phone
        if not found:
            continue
        tokens = [t.group(0) for t in found]
        sizes = [len(t.strip("()")) for t in tokens]
        at = list(accumulate(sizes, initial=0))
        i = 0
        if text[m.start()] == "+":
            end = _international_end(sizes, tokens)
            if end is None:
                end = _national_end(sizes, 0)
            if 7 <= at[end + 1] <= 17:
                spans.append((m.start(), found[end].end()))
            i = end + 1
        spans += _national_spans(text, found, sizes, i)
    return spans


def _national_spans(text: str, found: list[re.Match[str]], sizes: list[int], i: int) -> list[_Span]:
    """National numbers among the tokens of one match, from token i on: the longest plausible
    one at each start; a date is passed over whole ("2024-01-15 555-0187")."""
    spans = []
    at = list(accumulate(sizes, initial=0))
    while i < len(found):
        date = _DATE.match(text, found[i].start())
        if date:
            while i < len(found) and found[i].start() < date.end():
                i += 1
            continue
        j = _national_end(sizes, i)
        value = text[found[i].start() : found[j].end()]
        if 7 <= at[j + 1] - at[i] <= 15 and _plausible_national(value, [t.group(0) for t in found[i : j + 1]]):
            spans.append((found[i].start(), found[j].end()))
            i = j + 1
        else:
            i += 1
    return spans
