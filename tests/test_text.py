"""The text package (app/text/): its exports, its word lists as data, the shared patterns on
hand-written tables, and headings recognised by their shape on a policy of another brand."""

from __future__ import annotations

import pytest

import app.text
from app.splitter import SplitterConfig, split_document
from app.text.normalize import BlockKind, normalize
from app.text.patterns import FIGURE, NUMBER_WORD, PHONE, PHONE_TYPED, SENTENCE_BREAK, ZH_COUNT
from app.text.words import WORDS


def test_the_package_exports_what_the_module_did() -> None:
    for name in ("CJK", "CJK_CHARS", "EMAIL", "MARKER", "POLICY_WORDS", "REGION_WORDS", "YEAR",
                 "clean_input", "encodable", "format_date", "is_cjk", "language_of", "norm"):  # fmt: skip
        assert hasattr(app.text, name), name


def test_word_lists_come_from_the_data_file() -> None:
    assert WORDS.regions == app.text.REGION_WORDS
    assert {"eu", "uk", "欧洲"} <= app.text.REGION_WORDS
    assert all(w == w.lower() for w in app.text.REGION_WORDS)
    assert "one" in WORDS.numbers and "one" in WORDS.ambiguous_numbers


@pytest.mark.parametrize(
    ("text", "figure"),
    [
        ("We keep it for thirty days.", True),
        ("once a year", True),
        ("one of our partners", True),  # a figure is looked for: "one" counts
        ("保存三年", True),
        ("within 30 days", True),
        ("We keep it as long as necessary.", False),
        ("someone, anyone, stone", False),  # whole words only
    ],
)
def test_figure(text: str, figure: bool) -> None:
    assert bool(FIGURE.search(text)) is figure


@pytest.mark.parametrize(
    ("text", "facts"),
    [
        ("Within thirty or Forty-Five days.", ["thirty", "Forty", "Five"]),
        ("The one you bought", []),  # "one" is a pronoun as often as a number
        ("ninety days", ["ninety"]),
    ],
)
def test_number_word(text: str, facts: list[str]) -> None:
    assert NUMBER_WORD.findall(text) == facts


def test_zh_count() -> None:
    assert ZH_COUNT.findall("保存三年，删除需十五天") == ["三", "十五"]


def test_sentence_break() -> None:
    assert SENTENCE_BREAK.split("We keep it. 我们保存。然后删除") == ["We keep it.", "我们保存。", "然后删除"]


@pytest.mark.parametrize(
    ("text", "policy", "typed"),
    [
        ("+1 212 555 0187", True, True),
        ("+1 877 PRIVACY", True, False),  # a vanity number is printed by a policy, not typed
        ("call 12 34", False, False),
    ],
)
def test_the_two_phone_patterns(text: str, policy: bool, typed: bool) -> None:
    assert bool(PHONE.search(text)) is policy
    assert bool(PHONE_TYPED.search(text)) is typed


@pytest.mark.parametrize(
    ("line", "part"),
    [
        ("Commitment 1: Transparency & Trust", True),
        ("Principle 2: Your Choices", True),
        ("Part III – International Transfers", True),
        ("Section 4. Sharing With Others", True),
        ("Step 1: Sign in to your account and open the page called Preferences.", False),  # a sentence
        ("Version 2: updated in May", False),  # no title
        ("Article 12: " + "The controller keeps records of every processing activity " * 2, False),  # too long
    ],
)
def test_a_numbered_part_is_an_outer_heading(line: str, part: bool) -> None:
    block = normalize(f"{line}\n{'A body sentence that is long enough to follow a heading of its own. ' * 2}").blocks[0]
    assert (block.kind is BlockKind.HEADING and block.level == 1) is part


_OTHER_BRAND = """Northwind Atelier Privacy Notice
Principle 1: Openness
What we collect
We collect your name, your e-mail address and your order history when you buy from us online or in one of our stores.
Why we collect it
We use this information to deliver your orders, to answer your questions and, with your consent, to send you news.
Principle 2: Your Choices
Withdrawing consent
You may withdraw your consent at any time by writing to our privacy team, and we act on it within thirty days.
Part III – International Transfers
Your information may be stored on servers outside your country, under contracts that protect it as the law requires.
"""


def test_another_brands_parts_nest_their_sections() -> None:
    clauses = split_document("northwind-privacy-notice", normalize(_OTHER_BRAND), SplitterConfig())
    sections = [c.section for c in clauses]
    assert sections == [
        (),
        ("Principle 1: Openness", "What we collect"),
        ("Principle 1: Openness", "Why we collect it"),
        ("Principle 2: Your Choices", "Withdrawing consent"),
        ("Part III – International Transfers",),
    ]
