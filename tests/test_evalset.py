"""The project's own eval set (evals/dev.jsonl, evals/test.jsonl) and our training questions
(data/seeds/questions.jsonl) checked against the documents.

No model needed: every gold quote must lie in its document's normalised text, and inside a
single clause of it (retrieval is scored on clauses), every expected fact must lie in a quote,
and each set must meet its minima. The seed questions train models, so none may repeat an
eval question (the embedding-based leakage check is bench/seed_leakage.py).
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from app.evaluation.dataset import EvalItem, load_eval_set
from app.evaluation.metrics import norm
from app.splitter import split_document
from app.text.normalize import normalize

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ROOT / "documents"
SPLITS = (ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl")
SEEDS = tuple(sorted((ROOT / "data" / "seeds").glob("*.jsonl")))  # questions.jsonl, questions-2.jsonl
SEED_IDS = (
    "cartier-privacy-policy-2024",
    "cartier-us-privacy-policy-2010",
    "cartier-china-privacy-policy-2023",
    "cartier-conditions-of-sale",
    "harry-winston-privacy-policy-2015",
)
CHINA = "cartier-china-privacy-policy-2023"


def _raw_rows(paths: tuple[Path, ...] = SPLITS) -> list[tuple[str, dict]]:
    rows = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append((path.stem, json.loads(line)))
    return rows


ROWS = _raw_rows()
ITEMS: list[EvalItem] = [item for path in SPLITS for item in load_eval_set(path)]
ANSWERABLE = [i for i in ITEMS if i.answerable]
SEED_ROWS = _raw_rows(SEEDS)
SEED_ITEMS: list[EvalItem] = [item for path in SEEDS for item in load_eval_set(path)]
FIRST_SEEDS: list[EvalItem] = load_eval_set(ROOT / "data" / "seeds" / "questions.jsonl")
ALL_ITEMS = [*ITEMS, *SEED_ITEMS]
SOURCE_CASES = [pytest.param(i, s, id=f"{i.id}-{n}") for i in ALL_ITEMS for n, s in enumerate(i.sources)]


@cache
def _doc_text(doc_id: str) -> str:
    raw = (DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8")
    return normalize(raw).text


@cache
def _normalised_doc(doc_id: str) -> str:
    return norm(_doc_text(doc_id))


@cache
def _normalised_clauses(doc_id: str) -> tuple[str, ...]:
    raw = (DOCUMENTS / f"{doc_id}.txt").read_text(encoding="utf-8")
    return tuple(norm(c.text) for c in split_document(doc_id, normalize(raw)))


# -- the loader accepts both files ---------------------------------------------------------------


def test_both_splits_load() -> None:
    assert len(ITEMS) == len(ROWS)
    assert {i.split for i in ITEMS} == {"dev", "test"}


def test_every_line_has_the_contract_fields() -> None:
    required = {"id", "question", "lang", "persona", "answerable", "filters", "sources", "needs_all", "answer_facts"}
    for split, row in [*ROWS, *SEED_ROWS]:
        missing = required - row.keys()
        assert not missing, f"{split} {row.get('id')}: missing {sorted(missing)}"
        assert isinstance(row["answerable"], bool)
        assert isinstance(row["needs_all"], bool)
        assert row["lang"] in {"en", "zh"}, row["id"]
        assert row["persona"] in {"agent", "customer"}, row["id"]


# -- quotes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("item", "source"), SOURCE_CASES)
def test_quote_in_document(item: EvalItem, source) -> None:
    assert (DOCUMENTS / f"{source.doc_id}.txt").exists(), f"{item.id}: unknown doc_id {source.doc_id}"
    quote = norm(source.quote)
    assert quote, f"{item.id}: empty quote"
    assert quote in _normalised_doc(source.doc_id), f"{item.id}: quote not in {source.doc_id}: {source.quote!r}"


@pytest.mark.parametrize(("item", "source"), SOURCE_CASES)
def test_quote_in_a_single_clause(item: EvalItem, source) -> None:
    quote = norm(source.quote)
    clauses = _normalised_clauses(source.doc_id)
    assert any(quote in c for c in clauses), (
        f"{item.id}: quote is not inside one clause of {source.doc_id} (spans a clause boundary?): {source.quote!r}"
    )


@pytest.mark.parametrize("item", [pytest.param(i, id=i.id) for i in ALL_ITEMS if i.answer_facts])
def test_facts_lie_in_a_quote(item: EvalItem) -> None:
    quotes = [norm(s.quote) for s in item.sources]
    for fact in item.answer_facts:
        assert any(norm(fact) in q for q in quotes), f"{item.id}: fact {fact!r} is in none of its quotes"


@pytest.mark.parametrize("item", [pytest.param(i, id=i.id) for i in ALL_ITEMS if i.filters.get("doc_id")])
def test_doc_filter_names_a_document_and_agrees_with_sources(item: EvalItem) -> None:
    doc = item.filters["doc_id"]
    assert (DOCUMENTS / f"{doc}.txt").exists(), f"{item.id}: filter names unknown {doc}"
    assert all(s.doc_id == doc for s in item.sources), f"{item.id}: a source lies outside the filtered document"


# -- structure ------------------------------------------------------------------------------------


def test_ids_unique_across_splits() -> None:
    counts = Counter(i.id for i in ITEMS)
    assert [k for k, n in counts.items() if n > 1] == []


def test_unanswerable_items_have_no_sources_or_facts() -> None:
    bad = [i.id for i in ALL_ITEMS if not i.answerable and (i.sources or i.answer_facts)]
    assert bad == []


def test_answerable_items_have_sources() -> None:
    assert [i.id for i in ALL_ITEMS if i.answerable and not i.sources] == []


def test_needs_all_items_have_several_sources() -> None:
    bad = [i.id for i in ALL_ITEMS if i.needs_all and len(i.sources) < 2]
    assert bad == []


def test_no_question_in_both_splits() -> None:
    dev = {norm(i.question) for i in ITEMS if i.split == "dev"}
    test = {norm(i.question) for i in ITEMS if i.split == "test"}
    assert sorted(dev & test) == []


def test_no_duplicate_question_within_a_split() -> None:
    counts = Counter((i.split, norm(i.question)) for i in ITEMS)
    assert [k for k, n in counts.items() if n > 1] == []


# -- the minima ---------------------------------------------------------------------------


def test_at_least_150_items() -> None:
    assert len(ITEMS) >= 150


def test_at_least_20_chinese_items_on_the_china_policy() -> None:
    zh = [i for i in ANSWERABLE if i.lang == "zh" and i.sources and all(s.doc_id == CHINA for s in i.sources)]
    assert len(zh) >= 20


def test_at_least_30_unanswerable() -> None:
    assert sum(1 for i in ITEMS if not i.answerable) >= 30


def test_needs_all_items_exist() -> None:
    assert any(i.needs_all for i in ITEMS)


def test_comparison_items_exist() -> None:
    comparison = [i for i in ITEMS if i.kind == "comparison"]
    assert comparison
    # a comparison is across policies: at least one of them cites two documents
    assert any(len({s.doc_id for s in i.sources}) >= 2 for i in comparison)


def test_every_seed_document_is_a_source() -> None:
    used = {s.doc_id for i in ITEMS for s in i.sources}
    assert set(SEED_IDS) <= used, f"never a source: {sorted(set(SEED_IDS) - used)}"


def test_both_personas_present() -> None:
    assert {i.persona for i in ITEMS} >= {"agent", "customer"}
    for split in ("dev", "test"):
        assert {i.persona for i in ITEMS if i.split == split} >= {"agent", "customer"}


# -- our own training questions (data/seeds/questions.jsonl) -----------------------------------------


def test_seed_ids_unique_and_apart_from_the_eval_ids() -> None:
    ids = [i.id for i in SEED_ITEMS]
    assert len(ids) == len(set(ids))
    assert sorted(set(ids) & {i.id for i in ITEMS}) == []


def test_no_seed_question_repeats_an_eval_question() -> None:
    evals = {norm(i.question) for i in ITEMS}
    seeds = [norm(i.question) for i in SEED_ITEMS]
    assert sorted(set(seeds) & evals) == []
    assert len(seeds) == len(set(seeds)), "a seed question is written twice"


def test_seed_set_shape() -> None:
    """The first file's mix: ~220 questions, ~25 % Chinese, both personas, ~20 % unanswerable but
    plausible, ~10 % off-topic requests (unanswerable, kind off_topic), every seed policy cited;
    the second file adds questions aimed at one sentence among similar ones, and more unanswerable
    ones."""
    assert len(SEED_ITEMS) >= 450
    first = FIRST_SEEDS
    n = len(first)
    off_topic = [i for i in first if i.kind == "off_topic"]
    plausible = [i for i in first if not i.answerable and i.kind != "off_topic"]
    assert n >= 200
    assert 0.2 <= sum(i.lang == "zh" for i in first) / n <= 0.35
    assert {i.persona for i in first} == {"agent", "customer"}
    assert 0.15 <= len(plausible) / n <= 0.25
    assert 0.07 <= len(off_topic) / n <= 0.13
    assert all(not i.answerable for i in off_topic)
    assert set(SEED_IDS) <= {s.doc_id for i in first for s in i.sources}
