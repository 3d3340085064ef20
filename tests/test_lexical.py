"""Tokens and BM25 weights (app.text.lexical) on hand-checkable inputs: no model, no index on disk.
English stems are Snowball's (Porter2); Chinese words are jieba's search-mode segmentation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.query import synonyms
from app.text.lexical import LexicalIndex, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Do you sell my data?", ["sell", "data"]),  # stop words dropped
        ("How long do you keep my information?", ["long", "keep", "inform"]),
        ("Running runs", ["run", "run"]),  # lower-cased, stemmed, repeats kept
        ("Cartier's policies", ["cartier", "polici"]),  # possessive dropped before stemming
        ("It’s 14 years", ["14", "year"]),  # curly apostrophe read as "it's", a stop word
        ("What is it?", []),
        ("？！…", []),
        ("'quoted' -dash-", ["quot", "dash"]),  # quotes and hyphens trimmed at the ends
        ("opt-out e-mail", ["opt-out", "e-mail"]),  # inner hyphens keep one word
        ("Write to privacy@acme.com", ["write", "privaci", "acm", "com"]),  # an address splits at @ and .
        ("+1 (800) 227-8437", ["1", "800", "227-8437"]),
        ("我们的数据是", ["数据"]),  # Chinese stop words dropped
        ("我的个人信息", ["个人", "信息", "个人信息"]),  # search mode: the parts, then the compound
        ("2023年", ["2023", "年"]),
        ("Acme 中国 policy", ["acm", "中国", "polici"]),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


# Three two-token documents, so every length equals the average and BM25's length factor is 1:
# 0 "sell data", 1 "keep data", 2 "cooki track".
CORPUS = ["We sell data.", "We keep data.", "Cookies track you."]
IDF_ONCE = math.log(1 + (3 - 1 + 0.5) / (1 + 0.5))  # ln(8/3) = 0.98083: in one document of three
IDF_TWICE = math.log(1 + (3 - 2 + 0.5) / (2 + 0.5))  # ln(1.6) = 0.47000: in two ("data")
TF_ONCE = 1 / (1.2 + 1)  # Lucene BM25 term part, tf 1, k1 1.2, length = average: 0.45455


@pytest.fixture(scope="module")
def index() -> LexicalIndex:
    return LexicalIndex(CORPUS)


def test_idf_weights(index: LexicalIndex) -> None:
    assert index.size == 3
    assert index.idf == pytest.approx(
        {"sell": 0.98083, "data": 0.47000, "keep": 0.98083, "cooki": 0.98083, "track": 0.98083}, abs=1e-5
    )
    assert index.max_idf == pytest.approx(IDF_ONCE)


@pytest.mark.parametrize(
    ("terms", "text_tokens", "use_synonyms", "expected"),
    [
        ([], {"sell"}, False, 0.0),
        (["sell", "data"], {"sell", "data"}, False, 1.0),
        (["sell", "data"], set(), False, 0.0),
        (["sell", "data"], {"sell"}, False, 0.67605),  # 0.98083 / (0.98083 + 0.47000)
        (["sell", "data"], {"data"}, False, 0.32395),  # 0.47000 / 1.45083: a common word weighs less
        (["sell", "sell", "data"], {"sell"}, False, 0.67605),  # a repeated term counts once
        (["sale", "data"], {"data"}, False, 0.32395),  # unseen "sale" weighs the largest IDF
        (["sale", "data"], {"sell"}, False, 0.0),
        (["sale", "data"], {"sell"}, True, 0.67605),  # "sale" found through its equivalent "sell"
        (["keep", "track"], {"keep", "data"}, False, 0.5),  # equal weights
    ],
)
def test_coverage(
    index: LexicalIndex, terms: list[str], text_tokens: set[str], use_synonyms: bool, expected: float
) -> None:
    equivalents = synonyms if use_synonyms else None
    assert index.coverage(terms, text_tokens, equivalents) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (["sell"], [IDF_ONCE * TF_ONCE, 0.0, 0.0]),  # 0.44583
        (["data"], [IDF_TWICE * TF_ONCE, IDF_TWICE * TF_ONCE, 0.0]),  # 0.21364 each: a tie
        (["keep", "data"], [IDF_TWICE * TF_ONCE, (IDF_ONCE + IDF_TWICE) * TF_ONCE, 0.0]),
        (["sell", "unseen"], [IDF_ONCE * TF_ONCE, 0.0, 0.0]),  # unknown tokens are ignored
        (["unseen"], [0.0, 0.0, 0.0]),
        ([], [0.0, 0.0, 0.0]),
    ],
)
def test_scores(index: LexicalIndex, query: list[str], expected: list[float]) -> None:
    scores = index.scores(query)
    assert scores.shape == (3,)
    assert scores.tolist() == pytest.approx(expected, abs=1e-5)


@pytest.mark.parametrize(
    ("query", "ranking"),
    [
        (["sell"], [0]),
        (["keep", "data"], [1, 0]),  # both words beat one, the rare word beats the common one
        (["cooki", "track", "data"], [2, 0, 1]),  # 0 before 1 by index on their tie
    ],
)
def test_scores_order(index: LexicalIndex, query: list[str], ranking: list[int]) -> None:
    scores = index.scores(query)
    order = np.argsort(-scores, kind="stable")
    assert [int(i) for i in order if scores[i] > 0] == ranking


def test_empty_text_is_indexable() -> None:
    # nothing, and only stop words: each indexed as one placeholder token
    lexical = LexicalIndex(["", "The the of.", "We sell data."])
    # lengths 1, 1, 2 (average 4/3): term part 1 / (1.2 * (0.25 + 0.75 * 2 / (4/3)) + 1) = 1 / 2.65
    assert lexical.scores(["sell"]).tolist() == pytest.approx([0.0, 0.0, IDF_ONCE / 2.65], abs=1e-5)
