"""Follow-up questions in the customer chat: "and in the US?" after "Is my data sent to
China?" asks "Is my data sent to the US?".

A follow-up keeps the previous question's topic and replaces its scope (a region, brand or
year the catalogue knows): the scope named in the previous question is swapped for the new
one where it stood, or, when it named none, the new scope is added in brackets before the
question mark. The result is always a whole question a person can read back in the chat's
"Answering: …" line. A pure function of the previous question and the new message, so the
chat's memory is one string per conversation and the rule is tested without a browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from app.text import CJK_CHARS, REGION_WORDS, YEAR, is_cjk

_LEAD = re.compile(
    r"^(?:and\s+what\s+about|and\s+how\s+about|what\s+about|how\s+about|and\s+also|and|same\s+for|also|"
    r"那么|那|和|还有|如果是)"
    r"(?=\W|$|[" + CJK_CHARS + "])",
    re.IGNORECASE,
)
_FILLER = frozenset({"for", "in", "the", "of", "at", "with", "policy", "policies", "version", "site", "customers",
                     "呢", "的", "政策", "版本", "怎么样", "的情况"})
_QUESTION_WORD = re.compile(
    r"\b(?:why|how|what|when|who|where|which|can|could|do|does|did|is|are|will|would|should)\b|为什么|怎么|如何|什么|吗",
    re.IGNORECASE,
)
_EDGE_PUNCT = re.compile(r"^[\s,.;:!?，。；：！？、]+|[\s,.;:!?，。；：！？、]+$")
_PREPOSITION = r"(?:\s+(?:in|for|of|at|from|to))?"
_BRACKETED = re.compile(r"\s*[(（]([^()（）]*)[)）](?=\s*[?？.。!！]?\s*$)")


@dataclass(frozen=True)
class FollowUp:
    """What to ask for a message, and the topic to remember for the next one."""

    question: str
    topic: str
    rewritten: bool = False


def _name_pattern(name: str) -> str:
    """A scope word as a regex: Chinese anywhere, anything else as a whole word; never inside
    an e-mail or web address ("support@acme.cn")."""
    inside_address = r"(?<![\w@.])" if not is_cjk(name) else r"(?<![@.])"
    return inside_address + re.escape(name) + (r"(?![\w@]|\.\w)" if not is_cjk(name) else r"(?!\.\w)")


def _scope_pattern(scope_words: Iterable[str]) -> re.Pattern[str]:
    """Any scope word or year, longest first."""
    names = sorted(scope_words, key=len, reverse=True)
    return re.compile("|".join([*(_name_pattern(n) for n in names), YEAR.pattern]), re.IGNORECASE)


def _scope_only(words: str, scope: re.Pattern[str]) -> bool:
    """True when ``words`` names a region, brand or year and holds nothing else but filler."""
    rest, count = scope.subn(" ", words.lower())
    leftover = [w for w in re.split(r"[\s,.;:!?，。；：！？、()（）]+", rest) if w]
    return count > 0 and all(w in _FILLER for w in leftover)


def _new_scope(message: str) -> tuple[str, bool]:
    """The scope words of a follow-up ("the US" of "and in the US?") and whether it opened
    with a follow-up word ("and", "what about", "那")."""
    text = message.strip()
    lead = _LEAD.match(text)
    rest = _EDGE_PUNCT.sub("", text[lead.end() :] if lead else text)
    rest = re.sub(r"^(?:(?:for|in|about|with|at)\s+)+", "", rest, flags=re.IGNORECASE)
    rest = re.sub(r"(?:的情况|的|怎么样|呢)+$", "", _EDGE_PUNCT.sub("", rest))
    return _EDGE_PUNCT.sub("", rest), lead is not None


def rewrite_followup(topic: str, message: str, scope_words: Iterable[str] = REGION_WORDS) -> FollowUp:
    """Combine a short follow-up ("and for China?", "那美国呢?", "Harry Winston?") with the
    previous question: its topic stays, its scope becomes the one the follow-up names."""
    text = message.strip()
    topic = topic.strip()
    new = FollowUp(text, text)
    if not topic or not text:
        return new
    short = len(text.split()) <= 6 if not is_cjk(text) else len(re.sub(r"\s", "", text)) <= 12
    if not short:
        return new
    scope = _scope_pattern(scope_words)
    rest, led = _new_scope(text)
    if not rest or _QUESTION_WORD.search(rest) or not (led or _scope_only(rest, scope)):
        return new
    if not scope.search(rest) and not led:
        return new
    asked = (None if scope.search(rest) else _new_object(topic, rest)) or _rescoped(topic, rest, scope)
    return FollowUp(asked, asked, True)


_EN_OBJECT = re.compile(
    r"\b(my|your|our|the)\s+((?:(?!(?:after|before|for|in|on|to|with|when|if|of|from|and|or|by|about)\b)"
    r"[\w'’-]+\s*){1,3})",
    re.IGNORECASE,
)
_EN_POSSESSIVE = re.compile(r"^(?:my|your|our|the|his|her|their)\s+", re.IGNORECASE)
_ZH_POSSESSIVE = re.compile(r"^(?:我们|我|你们|你|他|她|他们)的")


def _new_object(topic: str, thing: str) -> str | None:
    """The previous question about another thing: "How long do you keep my e-mail address?"
    then "and my photos?" asks "How long do you keep my photos?"; "那我的照片呢？" after
    "你们会保存我的数据多久？" asks "你们会保存我的照片多久？". None when the previous question
    has no possessed thing to replace (the caller then adds the words in brackets)."""
    if len(thing.split()) > 4 or len(thing) > 40:
        return None
    if is_cjk(topic):
        return _new_object_zh(topic, thing) if is_cjk(thing) else None
    if is_cjk(thing):
        return None
    m = _EN_OBJECT.search(topic)
    if m is None:
        return None
    phrase = thing if _EN_POSSESSIVE.match(thing) else f"{m.group(1)} {thing}"
    tail = topic[m.end(2) :]
    space = " " if m.group(2).endswith(" ") and tail[:1].isalnum() else ""
    return topic[: m.start()] + phrase + space + tail


def _new_object_zh(topic: str, thing: str) -> str | None:
    """The Chinese case of ``_new_object``: the word after the first "我的" is replaced."""
    from app.text.lexical import chinese_words

    words = chinese_words(topic)
    for k in range(len(words) - 2):
        if words[k] in {"我", "我们"} and words[k + 1] == "的":
            owner = "".join(words[k : k + 2])
            rest = _ZH_POSSESSIVE.sub("", thing)
            return "".join(words[:k]) + owner + rest + "".join(words[k + 3 :])
    return None


def _rescoped(question: str, scope: str, pattern: re.Pattern[str]) -> str:
    """``question`` about ``scope`` instead of the scope it named (or added, when none)."""
    bracketed = _BRACKETED.search(question)
    if bracketed:  # an earlier follow-up's scope: replace it whole
        question = question[: bracketed.start()] + question[bracketed.end() :]
    mentions = list(pattern.finditer(question))
    if not mentions:
        return _with_bracket(question, scope)
    first = mentions[0]
    before = question[: first.start()]
    core = re.sub(r"^the\s+", "", scope, flags=re.IGNORECASE) if re.search(r"\bthe\s+$", before, re.I) else scope
    out = before + core + question[first.end() :]
    # further mentions go, with the preposition that introduced them ("… in China" → "…")
    for m in reversed(list(pattern.finditer(out))[1:]):
        head = re.search(_PREPOSITION + r"\s*$", out[: m.start()], re.IGNORECASE)
        cut = head.start() if head and head.group(0).strip() else m.start()
        out = out[:cut] + out[m.end() :]
    return re.sub(r"\s{2,}", " ", out).strip()


def _with_bracket(question: str, scope: str) -> str:
    """ "How long do you keep my data (Harry Winston)?" / "你们保存我的数据多久（美国）？"."""
    m = re.search(r"\s*([?？.。!！]*)\s*$", question)
    end = m.start() if m else len(question)
    mark = m.group(1) if m else ""
    if is_cjk(question):
        return f"{question[:end]}（{scope}）{mark or '？'}"
    return f"{question[:end]} ({scope}){mark or '?'}"
