"""Follow-ups keep the previous question's topic and replace its scope, always as a whole question."""

from __future__ import annotations

import pytest

from app.followup import rewrite_followup
from app.text import REGION_WORDS

TOPIC = "How long do you keep my data?"
SCOPE = REGION_WORDS | {"Harry Winston", "海瑞温斯顿", "Cartier", "卡地亚"}


@pytest.mark.parametrize(("message", "asked"), [
    ("and for China?", "How long do you keep my data (China)?"),
    ("And what about Harry Winston?", "How long do you keep my data (Harry Winston)?"),
    ("how about the US?", "How long do you keep my data (the US)?"),
    ("China?", "How long do you keep my data (China)?"),
    ("Harry Winston", "How long do you keep my data (Harry Winston)?"),
    ("2010?", "How long do you keep my data (2010)?"),
    ("what about the 2010 policy?", "How long do you keep my data (the 2010 policy)?"),
    ("那中国呢?", "How long do you keep my data (中国)?"),
    # new questions stay as they are
    ("and can I delete it?", "and can I delete it?"),
    ("Do you sell my personal information?", "Do you sell my personal information?"),
    ("thanks", "thanks"),
    ("and for China, how long is the retention of order history kept?",
     "and for China, how long is the retention of order history kept?"),
])  # fmt: skip
def test_follow_up_rewriting(message: str, asked: str) -> None:
    result = rewrite_followup(TOPIC, message, SCOPE)
    assert result.question == asked
    assert result.rewritten is (asked != message)
    assert result.topic == result.question  # the next follow-up builds on the question as answered


@pytest.mark.parametrize(("topic", "message", "asked"), [
    # the scope the previous question named is replaced where it stood
    ("Is my data sent to China?", "and in the US?", "Is my data sent to the US?"),
    ("How long does the China policy keep my data?", "and for the US?", "How long does the US policy keep my data?"),
    ("How long does Cartier keep my data in China?", "what about Harry Winston?",
     "How long does Harry Winston keep my data?"),
    ("中国的政策会保存我的数据多久？", "那美国呢？", "美国的政策会保存我的数据多久？"),
    # none named: the new scope in brackets before the question mark
    ("你们会保存我的数据多久？", "那美国呢？", "你们会保存我的数据多久（美国）？"),
    ("你们会保存我的数据多久？", "和海瑞温斯顿的呢", "你们会保存我的数据多久（海瑞温斯顿）？"),
    ("Do you sell my data", "and in China?", "Do you sell my data (China)?"),
])  # fmt: skip
def test_the_new_scope_replaces_the_old_one_in_a_whole_question(topic: str, message: str, asked: str) -> None:
    assert rewrite_followup(topic, message, SCOPE).question == asked


def test_follow_up_needs_a_previous_question() -> None:
    assert rewrite_followup("", "and for China?").question == "and for China?"


def test_follow_ups_chain_on_the_question_as_answered() -> None:
    first = rewrite_followup(TOPIC, "and for China?", SCOPE)
    second = rewrite_followup(first.topic, "what about Harry Winston?", SCOPE)
    assert second.question == "How long do you keep my data (Harry Winston)?"
    third = rewrite_followup(second.topic, "and Cartier?", SCOPE)
    assert third.question == "How long do you keep my data (Cartier)?"


def test_a_name_inside_an_address_is_not_a_scope() -> None:
    asked = rewrite_followup("Can I write to privacy@cartier.com about China?", "and for the US?", SCOPE).question
    assert asked == "Can I write to privacy@cartier.com about the US?"


@pytest.mark.parametrize(("topic", "message", "asked"), [
    # a follow-up about another thing keeps the question and replaces what it was about
    ("How long do you keep my e-mail address after I close my account?", "and my photos?",
     "How long do you keep my photos after I close my account?"),
    ("How long do you keep my data?", "and photos?", "How long do you keep my photos?"),
    ("Do you sell my personal information to advertisers?", "what about my order history?",
     "Do you sell my order history to advertisers?"),
    ("你们会保存我的数据多久？", "那我的照片呢？", "你们会保存我的照片多久？"),
    ("你们会保存我的数据多久？", "那照片呢？", "你们会保存我的照片多久？"),
    # nothing possessed to replace: the words are added in brackets, as for a scope
    ("Do you share data with partners?", "and cookies?", "Do you share data with partners (cookies)?"),
    # a scope is still a scope, and a new question stays new
    ("How long do you keep my data?", "and in China?", "How long do you keep my data (China)?"),
    ("How long do you keep my data?", "and can I delete it?", "and can I delete it?"),
])  # fmt: skip
def test_a_follow_up_about_another_thing_replaces_the_thing(topic: str, message: str, asked: str) -> None:
    assert rewrite_followup(topic, message, SCOPE).question == asked
