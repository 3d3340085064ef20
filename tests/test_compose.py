"""The reply's text: the answer first, verbatim; where it comes from last; one language."""

from __future__ import annotations

import pytest

from app.answer import Evidence
from app.clarify import Clarifier
from app.compose import compose, without_label
from app.records import Clause, DocumentMeta

DOC_TEXT = "Selling your information: We do not sell your personal information. We keep it ten years."
RIGHTS = Clause("acme-2024", "acme-2024:sell:1", ("Your rights", "Selling your information"), DOC_TEXT, "en", 0,
                len(DOC_TEXT))  # fmt: skip
ZH_TEXT = "我们不会出售您的个人信息。"
ZH = Clause("acme-cn", "acme-cn:sell:1", ("出售",), ZH_TEXT, "zh", 0, len(ZH_TEXT))
CATALOG = {
    "acme-2024": DocumentMeta("acme-2024", "Acme Privacy Policy", "Acme", effective_date="2024-09",
                              public_url="https://acme.example/privacy"),
    "acme-cn": DocumentMeta("acme-cn", "Acme China Privacy Policy", "Acme", effective_date="2023-12",
                            title_zh="爱克美中国隐私政策"),
}  # fmt: skip


def evidence(clause: Clause, sentence: str) -> Evidence:
    start = clause.start + clause.text.index(sentence)
    return Evidence(clause, start, start + len(sentence), 0.9)


def test_the_reply_opens_with_the_answer_and_ends_with_its_source() -> None:
    ev = evidence(RIGHTS, "Selling your information: We do not sell your personal information.")
    reply = compose([ev], CATALOG, "en")
    assert reply.text.splitlines() == [
        "We do not sell your personal information. [1]",  # the heading label is not repeated
        "Source: Acme Privacy Policy (September 2024), “Selling your information” — https://acme.example/privacy",
    ]
    assert reply.citations[0].quote == "Selling your information: We do not sell your personal information."


def test_notes_come_between_the_answer_and_the_source() -> None:
    ev = evidence(RIGHTS, "We keep it ten years.")
    lines = compose([ev], CATALOG, "en", ["To make a request, write to: a@acme.example"]).text.splitlines()
    assert lines[0] == "We keep it ten years. [1]"
    assert lines[1] == "To make a request, write to: a@acme.example"
    assert lines[2].startswith("Source: ")


def test_chinese_reply_has_chinese_captions_and_title() -> None:
    reply = compose([evidence(ZH, ZH_TEXT)], CATALOG, "zh")
    assert reply.text.splitlines() == [f"{ZH_TEXT} [1]", "来源：《爱克美中国隐私政策》（2023年12月）“出售”部分"]


def test_a_quote_in_another_language_says_so() -> None:
    zh_reply = compose([evidence(RIGHTS, "We keep it ten years.")], CATALOG, "zh").text.splitlines()
    assert zh_reply[0] == "以下引用政策原文（英文）："
    assert zh_reply[-1].startswith("来源：《Acme Privacy Policy》")
    en_reply = compose([evidence(ZH, ZH_TEXT)], CATALOG, "en").text.splitlines()
    assert en_reply[0] == "Quoted as written in the policy (Chinese):"
    assert "爱克美" not in en_reply[-1] and en_reply[-1].startswith("Source: Acme China Privacy Policy")


def test_several_policies_are_each_named_before_what_they_say() -> None:
    reply = compose([evidence(RIGHTS, "We keep it ten years."), evidence(ZH, ZH_TEXT)], CATALOG, "en")
    lines = reply.text.splitlines()
    assert lines[0] == "Acme Privacy Policy (September 2024): We keep it ten years. [1]"
    assert lines[-2].startswith("Sources: Acme Privacy Policy") and lines[-1].startswith("Sources: Acme China")


@pytest.mark.parametrize(("sentence", "shown"), [
    ("Selling your information: We do not sell.", "We do not sell."),
    ("Deletion: You may ask us to delete it.", "You may ask us to delete it."),  # a short capitalised label
    ("Please write to us at: a@b.example", "Please write to us at: a@b.example"),  # not a label
    ("We may share data with: processors.", "We may share data with: processors."),
])  # fmt: skip
def test_a_heading_label_is_dropped_from_what_is_shown(sentence: str, shown: str) -> None:
    assert without_label(sentence, RIGHTS) == shown


@pytest.mark.parametrize(("terms", "vague"), [
    (["data"], True), (["privaci"], True), (["inform", "person"], True), (["数据"], True),
    (["cooki"], False), (["delet", "data"], False), ([], False),
])  # fmt: skip
def test_vague_questions_are_those_that_only_name_personal_data(terms: list[str], vague: bool) -> None:
    assert Clarifier.load().is_vague(terms) is vague


def test_the_question_back_offers_topics_in_the_users_language() -> None:
    clarifier = Clarifier.load()
    prompt, choices = clarifier.ask_back("zh")
    assert "？" in prompt and 3 <= len(choices) <= 5 and all("？" in c.question for c in choices)
    assert clarifier.ask_back("fr")[0] == clarifier.ask_back("en")[0]
