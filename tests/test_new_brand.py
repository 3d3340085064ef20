"""A sixth policy of a brand the code has never heard of, in its own region, with Chinese and
English names in the catalogue only: asked about by brand and by region in both languages, it
is answered and scoped correctly with no code change."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.assistant import Assistant
from app.catalog import default_documents
from app.index import build_index
from app.web import compare_presets
from app.web.render import policy_choices

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
DOC_ID = "maison-lune-privacy-policy-2025"
POLICY = """Maison Lune Privacy Notice
Last updated: March 2025

About this notice
Maison Lune K.K. is responsible for the personal information of clients of its boutiques and website in Japan.

How long we keep your information
We keep your purchase records for seven years after your last purchase, as Japanese tax law requires.
Newsletter subscriptions are kept until you unsubscribe.

Your rights
You may ask us to disclose, correct or delete the personal information we hold about you.
Write to privacy@maison-lune.example.
"""
CATALOGUE = f"""
[{DOC_ID}]
title = "Maison Lune Privacy Notice"
brand = "Maison Lune"
region = "Japan"
languages = ["en"]
effective_date = "2025-03"
label = "Maison Lune — Japan"
label_zh = "月亮之家 — 日本"
aliases = ["月亮之家", "Lune"]
region_names = ["Japan", "Japanese", "日本"]
regional = true
public_url = "https://maison-lune.example/privacy"
"""


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    docs = tmp_path_factory.mktemp("six") / "documents"
    shutil.copytree(ROOT / "documents", docs)
    (docs / f"{DOC_ID}.txt").write_text(POLICY, encoding="utf-8")
    with open(docs / "catalogue.toml", "a", encoding="utf-8") as out:
        out.write(CATALOGUE)
    index = docs.parent / "index"
    build_index(docs, index, embedder)
    return Assistant(embedder, index)


@pytest.mark.parametrize("question", [
    "How long does Maison Lune keep my purchase records?",
    "How long are purchase records kept in Japan?",
    "月亮之家会保存我的购买记录多久？",
    "在日本，你们会保存我的购买记录多久？",
])  # fmt: skip
def test_the_new_brand_is_answered_by_brand_and_region_in_both_languages(assistant: Assistant, question: str) -> None:
    answer = assistant.ask(question)
    assert not answer.abstained, answer.answer
    assert answer.citations[0].doc_id == DOC_ID
    assert "seven years" in answer.citations[0].quote


def test_the_new_regional_policy_stays_out_of_unscoped_questions(assistant: Assistant) -> None:
    answer = assistant.ask("How long do you keep my data?")
    assert all(c.doc_id != DOC_ID for c in answer.citations)
    assert DOC_ID not in default_documents(assistant.snapshot().catalog, "en")
    cartier = assistant.ask("How long does Cartier keep my data?")
    assert all(c.doc_id != DOC_ID for c in cartier.citations)


def test_the_catalogue_names_it_for_customers_and_agents(assistant: Assistant) -> None:
    metas = assistant.snapshot().catalog
    assert ("Maison Lune — Japan · 月亮之家 — 日本", DOC_ID) in policy_choices(metas, include_superseded=False)
    assert all(DOC_ID not in pair for _, pair in compare_presets(metas))  # regional: no default preset
    assert ("Cartier vs Harry Winston", ("cartier-privacy-policy-2024", "harry-winston-privacy-policy-2015")) in (
        compare_presets(metas)
    )
    answer = assistant.ask("How can I ask Maison Lune to delete my data?")
    assert answer.citations and answer.citations[0].doc_id == DOC_ID
