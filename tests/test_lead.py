"""The answer lead's span rules (pure), and the shipped reader on real questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.lead import READER_DIR, Lead, _tidy

SENTENCE = "We do not sell your personal information to third parties for their own marketing."


def test_a_span_is_widened_to_whole_words() -> None:
    text = "We keep your order history for ten years after your last purchase in a boutique."
    lead = _tidy(text, text.index("en years"), text.index("our last") + 1, 0.5)
    assert lead == Lead("ten years after your", text.index("ten"), text.index(" last"), 0.5)


def test_a_negation_just_before_the_span_is_kept() -> None:
    lead = _tidy(SENTENCE, SENTENCE.index("sell"), SENTENCE.index(" to third"), 0.5)
    assert lead is not None and lead.text == "do not sell your personal information"
    assert SENTENCE[lead.start : lead.end] == lead.text


def test_edges_are_trimmed_and_improper_spans_refused() -> None:
    text = "Retention: up to ten years, after the contract ends."
    lead = _tidy(text, text.index(": up") + 1, text.index(", after") + 1, 0.3)
    assert lead is not None and lead.text == "up to ten years"
    assert _tidy(text, 0, len(text), 0.9) is None  # (nearly) the whole sentence
    assert _tidy(text, text.index("ten"), text.index("ten") + 3, 0.9) is None  # one word


@pytest.mark.slow
def test_the_shipped_reader_quotes_its_sentence_and_its_card_is_current() -> None:
    from app.lead import Reader

    record = json.loads((READER_DIR / "training.json").read_text(encoding="utf-8"))
    reader = Reader(READER_DIR)
    assert reader.threshold == record["threshold"] and 0 < reader.threshold <= 1.01
    assert not set(record["test_policies"]) & set(record["train_policies"])
    sentence = (
        "We keep your personal information only for as long as is necessary for our purposes, and information "
        "relating to a contract with you will be kept for the lifetime of the contract and up to ten years after."
    )
    lead = reader.span("How long do you keep my data?", sentence)
    assert lead is not None and sentence[lead.start : lead.end] == lead.text and 0 <= lead.probability <= 1
    assert f"{record['test']['shown_f1']:.3f}" in (READER_DIR / "README.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_reader_figures_reproduce_on_a_slice_of_the_test_policies() -> None:
    from app.lead import Reader
    from app.training.data import read_policyqa
    from app.training.reader import lead_figures, sentence_cases

    data = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "policyqa" / "dev.json"
    if not data.is_file():
        pytest.skip("../shared/datasets/policyqa is not beside this clone")
    record = json.loads((READER_DIR / "training.json").read_text(encoding="utf-8"))
    titles = {p.removeprefix("policyqa-") for p in record["validation_policies"]}
    paragraphs = read_policyqa(data)
    held = sorted({p.policy for p in paragraphs if p.policy.lower().replace(".", "-") in titles})
    cases = sentence_cases(paragraphs, held)
    assert len(cases) == record["validation"]["questions"]
    figures = lead_figures(Reader(READER_DIR), cases[:150], record["threshold"])
    full = record["validation"]
    assert figures["all_f1"] == pytest.approx(full["all_f1"], abs=0.08)  # a slice of the same policies
    assert figures["all_sentence_f1"] == pytest.approx(full["all_sentence_f1"], abs=0.08)
