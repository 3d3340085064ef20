"""Text as it arrives from outside (a chat box, a JSON line, argv), made safe to process."""

from __future__ import annotations

import re
import unicodedata

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


# -- shared patterns ------------------------------------------------------------------------

CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff"  # CJK ideographs (unified, extension A, compatibility)
CJK = re.compile(f"[{CJK_CHARS}]")


def is_cjk(text: str) -> bool:
    """True for Chinese text: two Chinese characters are enough (a Chinese line often
    carries Latin names and e-mail addresses, an English line never carries Chinese)."""
    return len(CJK.findall(text, 0, 400)) >= 2


def language_of(text: str) -> str:
    """ "zh" for Chinese text, else "en" (the two languages the assistant answers in)."""
    return "zh" if is_cjk(text) else "en"


# A year a question or a catalogue date names (1900–2099), not part of a longer number.
YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
# A citation marker of an answer: "[2]".
MARKER = re.compile(r"\[(\d+)\]")
# An e-mail address as written in a policy (contact channels). Redaction (app/redact.py) uses
# a looser pattern on purpose: a customer's address must be caught however it is typed.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# Words that pick which policy is meant rather than say what is asked (with the catalogue's
# brand and region names, app/catalog.py): a sentence must not look relevant for carrying them.
POLICY_WORDS = "policy policies privacy notice version year old new 隐私政策 政策 隐私"
# Region names customers use in a follow-up ("and for the US?"), for regions of any policy
# set; the indexed policies' own region names come from the catalogue.
REGION_WORDS = frozenset({
    "china", "chinese", "mainland", "us", "u.s.", "usa", "united states", "america", "american",
    "california", "europe", "european", "eu", "uk", "global", "worldwide",
    "中国", "中国大陆", "大陆", "美国", "加州", "欧洲", "全球",
})  # fmt: skip
