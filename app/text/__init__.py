"""Text rules: input made safe to process, the contract's comparison form, dates for readers.

The package holds every rule about text that more than one stage needs: ``language`` (English
or Chinese), ``patterns`` (phone numbers, e-mail addresses, sentence ends, figures: each written
once), ``normalize`` (a policy's raw text into lines and blocks) and ``lexical`` (BM25 tokens).
This module keeps what reads text as it arrives from outside (a chat box, a JSON line, argv).
"""

from __future__ import annotations

import re
import unicodedata

from app.text.language import CJK, CJK_CHARS, is_cjk, language_of
from app.text.patterns import EMAIL, MARKER, YEAR
from app.text.words import WORDS

__all__ = [
    "CJK", "CJK_CHARS", "EMAIL", "MARKER", "POLICY_WORDS", "REGION_WORDS", "YEAR",
    "clean_input", "encodable", "format_date", "is_cjk", "language_of", "norm",
]  # fmt: skip

# Words that pick which policy is meant rather than say what is asked (app/catalog.py).
POLICY_WORDS = WORDS.policy
# Region names customers use in a follow-up, for regions of any policy set (app/data/words.toml).
REGION_WORDS = WORDS.regions

# C0 controls but tab and newline, DEL, and lone UTF-16 surrogates (valid JSON "\ud800",
# undecodable bytes in argv): no tokenizer, encoder or database should ever see them.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def clean_input(text: str) -> str:
    """NFC, with control characters turned into spaces and lone surrogates dropped."""
    return unicodedata.normalize("NFC", _UNSAFE.sub(lambda m: "" if m.group(0) >= "\ud800" else " ", text))


def encodable(text: str) -> str:
    """The text without lone surrogates (they cannot be encoded as UTF-8)."""
    return re.sub(r"[\ud800-\udfff]", "", text)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def format_date(iso: str, lang: str = "en") -> str:
    """ "2024-09" → "September 2024" (or "2024年9月"); anything else is returned as it is."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?", iso.strip())
    if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
        return iso
    year, month, day = m.groups()
    if lang == "zh":
        return f"{year}年" + (f"{int(month)}月" if month else "") + (f"{int(day)}日" if day else "")
    parts = ([str(int(day))] if day else []) + ([_MONTHS[int(month) - 1]] if month else []) + [year]
    return " ".join(parts)


_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'", "＂": '"'})
_WS = re.compile(r"\s+")


def norm(text: str) -> str:
    """The contract's comparison form of a text (NFKC, straight quotes, collapsed whitespace,
    lower case): how eval labels and LLM replies are matched against the policies."""
    return _WS.sub(" ", unicodedata.normalize("NFKC", text).translate(_QUOTES)).strip().lower()
