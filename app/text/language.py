"""Which language a text is in, and which characters belong to scripts written without spaces.

The assistant answers in English and Chinese; every rule that must tell them apart (the
splitter's sentence ends, BM25's tokens, the reply's language) asks here, so that "Chinese"
means the same characters everywhere.
"""

from __future__ import annotations

import re

CJK_CHARS = "\u3400-\u9fff\uf900-\ufaff"  # CJK ideographs (unified, extension A, compatibility)
CJK = re.compile(f"[{CJK_CHARS}]")
# Kana, CJK ideographs and Hangul: scripts whose words are not separated by spaces, so a
# Latin token (an e-mail address) may be glued to them.
UNSPACED_CHARS = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff"


def is_cjk(text: str) -> bool:
    """True for Chinese text: two Chinese characters are enough (a Chinese line often
    carries Latin names and e-mail addresses, an English line never carries Chinese)."""
    return len(CJK.findall(text, 0, 400)) >= 2


def language_of(text: str) -> str:
    """ "zh" for Chinese text, else "en" (the two languages the assistant answers in)."""
    return "zh" if is_cjk(text) else "en"


def unspaced(ch: str) -> bool:
    """True for a character of Chinese, Japanese or Korean: scripts written without spaces between words."""
    return bool(ch) and ("\u3040" <= ch <= "\u30ff" or "\u3400" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7af"
                         or "\uf900" <= ch <= "\ufaff")  # fmt: skip
