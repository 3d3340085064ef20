"""Question analysis rules (app.query, app.catalog) against a hand-built four-policy catalogue: no model, no
index. Expectations are worked out from the rules by hand (English stems are Snowball's)."""

from __future__ import annotations

import pytest

from app import query
from app.catalog import Catalog, names
from app.query import in_english, plan
from app.records import DocumentMeta

ACME = "acme-privacy-2024"
ACME_OLD = "acme-privacy-2019"
ACME_CHINA = "acme-china-privacy-2023"
NOVA = "nova-privacy-2015"

# Two brands; Acme has a superseded version and a regional China policy written first in
# Chinese, which carries the brand's Chinese alias and the region's names.
CATALOG = Catalog(
    {
        m.doc_id: m
        for m in (
            DocumentMeta(ACME, brand="Acme", languages=("en",), effective_date="2024-03-01"),
            DocumentMeta(
                ACME_OLD, brand="Acme", languages=("en",), effective_date="2019-05-01", superseded_by=ACME
            ),
            DocumentMeta(
                ACME_CHINA,
                brand="Acme",
                region="China",
                languages=("zh", "en"),
                effective_date="2023-11-01",
                aliases=("艾克美",),
                region_names=("China", "中国"),
                regional=True,
            ),
            DocumentMeta(NOVA, brand="Nova", languages=("en",), effective_date="2015-06-01"),
        )
    }
)


@pytest.mark.parametrize(
    ("question", "lang", "terms", "added", "doc_ids"),
    [
        # no scope named: any current policy; "sell" brings its glossary group
        ("Do you sell my data?", "en", ["sell", "data"], {"sale", "sold"}, None),
        # a brand names its current, non-regional policy; the brand is no search term
        ("Does Acme sell my data?", "en", ["sell", "data"], {"sale", "sold"}, {ACME}),
        ("How long does Nova keep my information?", "en", ["long", "keep", "inform"], {"retain", "retent"}, {NOVA}),
        ("Do you delete my account?", "en", ["delet", "account"], {"eras", "erasur", "remov"}, None),
        # two brands: both current policies
        ("What is the difference between Acme and Nova?", "en", ["differ"], set(), {ACME, NOVA}),
        # a year names the version whose date (or id) carries it; the year is no term
        ("What did the 2019 policy say about cookies?", "en", ["say", "cooki"], set(), {ACME_OLD}),
        ("What did the 2001 policy say?", "en", ["say"], set(), None),  # no such year: unscoped
        # "old" names the superseded versions; the brand adds nothing already named by them
        ("Is Acme's old policy different?", "en", ["differ"], set(), {ACME_OLD}),
        # year for one brand, the other brand's current policy beside it
        ("Acme 2019 vs Nova", "en", ["vs"], set(), {ACME_OLD, NOVA}),
        # a region replaces its brand's other current policies
        ("Does Acme keep data in China?", "en", ["keep", "data"], {"retain", "retent"}, {ACME_CHINA}),
        ("Does Nova keep data in China?", "en", ["keep", "data"], {"retain", "retent"}, {NOVA}),  # not Nova's
        ("What does the 2023 China policy say?", "en", ["say"], set(), {ACME_CHINA}),
        (
            "数据会传到中国境外吗",
            "zh",
            ["数据", "传到", "境外"],
            {"传输", "转移", "传送", "发送", "国外", "海外", "出境", "跨境", "国际"},
            {ACME_CHINA},
        ),
        # the Chinese alias names the brand; a Chinese question also reaches its Chinese-first regional policy
        ("艾克美删除我的数据吗？", "zh", ["删除", "数据"], {"删掉", "注销", "清除"}, {ACME, ACME_CHINA}),
        (
            "我的个人信息会被传到国外吗？",
            "zh",
            ["个人", "信息", "个人信息", "传到", "国外"],
            {"传输", "转移", "传送", "发送", "境外", "海外", "出境", "跨境", "国际"},
            None,
        ),
        # nothing but scope words: the question's own tokens are kept rather than none
        ("Acme privacy policy", "en", ["acm", "privaci", "polici"], set(), {ACME}),
    ],
)
def test_plan_scope_and_terms(
    question: str, lang: str, terms: list[str], added: set[str], doc_ids: set[str] | None
) -> None:
    p = plan(question, CATALOG, explicit_doc=False)
    assert p.text == question
    assert p.lang == lang
    assert p.terms == terms
    assert p.tokens[: len(terms)] == terms  # own tokens first, then glossary equivalents, each once
    assert set(p.tokens[len(terms) :]) == added
    assert len(set(p.tokens)) == len(p.tokens)
    assert p.doc_ids == (None if doc_ids is None else frozenset(doc_ids))


@pytest.mark.parametrize(
    ("question", "explicit_doc", "compare"),
    [
        ("Do you sell my data?", False, False),
        ("Acme versus Nova", False, True),
        ("Compare Acme and Nova on cookies", False, True),
        ("What changed between 2019 and 2024?", False, True),  # two years: two versions
        ("What changed in the Acme policy?", False, False),  # one policy named: nothing to compare with
        ("How do I change my marketing preferences?", False, False),  # "change" alone asks for no comparison
        ("Do you share data between your affiliates?", False, False),
        ("Did the policy change between 2019 and 2024?", False, True),  # a change between two named years
        ("How do Acme and Nova differ on cookies?", False, True),
        ("艾克美的政策有什么不同？", False, True),  # the two Acme policies a Chinese reader gets
        ("Acme vs Nova", True, True),  # the caller chose the documents: the cue alone decides
    ],
)
def test_plan_compare(question: str, explicit_doc: bool, compare: bool) -> None:
    assert plan(question, CATALOG, explicit_doc=explicit_doc).compare is compare


def test_explicit_doc_names_no_documents() -> None:
    assert plan("Does Acme keep data in China in 2019?", CATALOG, explicit_doc=True).doc_ids is None


@pytest.mark.parametrize(
    ("question", "off_topic"),
    [
        ("What are your opening hours?", True),
        ("Is the boutique open on Sunday?", True),
        ("How much is the Love bracelet?", True),
        ("Can I return a gift I received?", True),
        ("Can I pay with PayPal?", True),
        ("退货政策是什么？", True),
        ("Can I store my watch with you for repair?", True),  # "store" alone is no privacy cue
        ("Is the store open on Sunday?", True),
        ("Where do you store my data?", False),
        # a privacy cue wins over a shopping one
        ("Do you keep my card number after a refund?", False),
        ("Does PayPal receive my personal data?", False),
        ("退款后会删除我的信息吗？", False),
        ("Do you sell my data?", False),
    ],
)
def test_plan_off_topic(question: str, off_topic: bool) -> None:
    assert plan(question, CATALOG, explicit_doc=False).off_topic is off_topic


NO_ANSWER = "We respect your privacy."


@pytest.mark.parametrize(
    ("question", "needs_number", "answering"),
    [
        ("How many days do you keep my data?", True, "We keep it for 30 days."),
        ("How long do you keep my data?", False, "We keep it for as long as the law requires."),
        ("保存多久？", False, "我们保存 3 年。"),
        ("Which email address can I write to?", False, "Write to privacy@acme.example."),
        ("What is your phone number?", False, "Call +1 800 227 8437."),
        ("How old must children be?", False, "We do not serve anyone under 16."),
        ("Within how many months do you answer?", True, "Within 3 months."),
        ("Do you sell my data?", False, None),
    ],
)
def test_plan_answer_shape(question: str, needs_number: bool, answering: str | None) -> None:
    p = plan(question, CATALOG, explicit_doc=False)
    assert p.needs_number is needs_number
    if answering is None:
        assert p.shape is None
    else:
        assert p.shape is not None
        assert p.shape.search(answering)
        assert not p.shape.search(NO_ANSWER)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", {ACME, NOVA}),  # the China policy only when named
        ("zh", {ACME, NOVA, ACME_CHINA}),  # no policy for everyone is written first in Chinese
        ("fr", {ACME, NOVA}),
    ],
)
def test_catalog_default(lang: str, expected: set[str]) -> None:
    assert CATALOG.default(lang) == frozenset(expected)


def test_catalog_scope_tokens() -> None:
    names_ = {"acm", "艾克美", "nova", "china", "中国"}
    words = {"polici", "privaci", "notic", "version", "year", "old", "new", "隐私", "政策"}
    assert CATALOG.scope_tokens == frozenset(names_ | words)


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("Is my data sent to the US?", "US", True),
        ("Can you send it to us?", "US", False),  # short upper-case names only in upper case
        ("Is the USA covered?", "US", False),
        ("What about U.S. residents?", "U.S.", True),
        ("the eu rules", "EU", False),
        ("Does China's law apply?", "China", True),
        ("CHINA", "China", True),  # longer names in any case
        ("Chinaware", "China", False),
        ("Acmes", "Acme", False),
        ("hello-acme", "Acme", True),
        ("在中国大陆", "中国", True),  # Chinese anywhere in the text
        ("中华", "中国", False),
    ],
)
def test_names(text: str, name: str, expected: bool) -> None:
    assert names(text, name) is expected


@pytest.mark.parametrize(
    ("tokens", "expected"),
    [
        ([], []),
        (["sell"], ["sell"]),  # English tokens have no entry
        (["国外"], ["国外", "abroad", "countri", "internat", "oversea", "transfer"]),
        # each English word once, in the order of the Chinese tokens that bring them
        (["传到", "国外"], ["传到", "国外", "transfer", "abroad", "countri", "internat", "oversea"]),
        (["位置"], ["位置", "locat"]),
    ],
)
def test_in_english(tokens: list[str], expected: list[str]) -> None:
    assert in_english(tokens) == expected


@pytest.mark.parametrize(
    ("token", "known", "expected"),
    [
        ("sell", True, {"sell", "sale", "sold"}),
        ("delet", True, {"delet", "eras", "erasur", "remov"}),
        ("email", True, {"contact", "reach", "phone", "email", "e-mail"}),
        ("cooki", True, {"cooki"}),  # "cookie cookies" stem to one token
        ("data", False, {"data"}),
    ],
)
def test_synonyms(token: str, known: bool, expected: set[str]) -> None:
    assert query.has_synonyms(token) is known
    assert query.synonyms(token) == expected
