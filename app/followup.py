"""Follow-up questions in the customer chat: "and for China?" after "How long do you keep
my data?" asks "How long do you keep my data? (China)".

A pure function of the previous topic and the new message, so the chat's memory is one
string per conversation and the rule can be tested without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.text import CJK_CHARS, REGION_WORDS, YEAR, is_cjk

_LEAD = re.compile(
    r"^(?:and\s+what\s+about|and\s+how\s+about|what\s+about|how\s+about|and|那么|那|和|还有)"
    r"(?=\W|$|[" + CJK_CHARS + "])",
    re.IGNORECASE,
)
_FILLER = frozenset({"for", "in", "the", "of", "at", "with", "policy", "policies", "version", "site", "customers", "呢",
                     "的", "政策", "版本", "怎么样", "呢?"})
_QUESTION_WORD = re.compile(
    r"\b(?:why|how|what|when|who|where|which|can|could|do|does|did|is|are|will|would|should)\b|为什么|怎么|如何|什么|吗",
    re.IGNORECASE,
)
_EDGE_PUNCT = re.compile(r"^[\s,.;:!?，。；：！？、]+|[\s,.;:!?，。；：！？、]+$")


@dataclass(frozen=True)
class FollowUp:
    """What to ask for a message, and the topic to remember for the next one."""

    question: str
    topic: str
    rewritten: bool = False


def _name_pattern(name: str) -> str:
    """A scope word as a regex: Chinese anywhere, anything else as a whole word."""
    return re.escape(name) if is_cjk(name) else rf"(?<!\w){re.escape(name)}(?!\w)"


def _scope_only(words: str, scope_words: Iterable[str]) -> bool:
    """True when `words` names a region, brand or year and holds nothing else but filler."""
    rest = words.lower()
    named = False
    for name in sorted(scope_words, key=len, reverse=True):
        rest, count = re.subn(_name_pattern(name), " ", rest, flags=re.IGNORECASE)
        named = named or count > 0
    leftover = [w for w in re.split(r"[\s,.;:!?，。；：！？、()（）]+", rest) if w]
    named = named or any(YEAR.fullmatch(w) for w in leftover)
    return named and all(w in _FILLER or YEAR.fullmatch(w) for w in leftover)


def rewrite_followup(topic: str, message: str, scope_words: Iterable[str] = REGION_WORDS) -> FollowUp:
    """Combine a short follow-up ("and for China?", "那美国呢?", "Harry Winston?") with the
    topic of the previous question: "How long do you keep my data? (China)"."""
    text = message.strip()
    topic = topic.strip()
    new = FollowUp(text, text)
    if not topic or not text:
        return new
    short = len(text.split()) <= 6 if not is_cjk(text) else len(re.sub(r"\s", "", text)) <= 12
    if not short:
        return new
    lead = _LEAD.match(text)
    rest = _EDGE_PUNCT.sub("", text[lead.end():] if lead else text)
    rest = re.sub(r"^(?:(?:for|in|about|the)\s+)+", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"(?:的情况|的|怎么样|呢)+$", "", _EDGE_PUNCT.sub("", rest))
    rest = _EDGE_PUNCT.sub("", rest)
    if not rest or _QUESTION_WORD.search(rest):
        return new
    if not lead and not _scope_only(rest, scope_words):
        return new
    # The new scope replaces the old one: "How long does the China policy keep data?" then
    # "and for the US?" asks about the US, not about China and the US.
    base = _without_scope(topic, scope_words) or topic
    if is_cjk(topic):
        return FollowUp(f"{base}（{rest}）", topic, True)
    return FollowUp(f"{base} ({rest})", topic, True)


def _without_scope(text: str, scope_words: Iterable[str]) -> str:
    """The text less the scope words it contains (and a "(…)" scope a rewrite appended)."""
    text = re.sub(r"\s*[(（][^()（）]*[)）]\s*$", "", text)
    for name in sorted(scope_words, key=len, reverse=True):
        text = re.sub(_name_pattern(name), " ", text, flags=re.IGNORECASE)
    return re.sub(r"\s{2,}", " ", text).strip()
