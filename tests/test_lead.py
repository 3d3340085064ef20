"""The answer lead's span rules (pure), and the shipped reader on real questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.lead import READER_DIR, Span, _tidy

SENTENCE = "We do not sell your personal information to third parties for their own marketing."


def test_a_span_is_widened_to_whole_words() -> None:
    text = "We keep your order history for ten years after your last purchase in a boutique."
    lead = _tidy(text, text.index("en years"), text.index("our last") + 1, 0.5)
    assert lead == Span("ten years after your", text.index("ten"), text.index(" last"), 0.5)


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
def test_train_reader_writes_a_loadable_reader_with_its_card(tiny_reader: Path) -> None:
    from app.lead import Reader

    record = json.loads((tiny_reader / "training.json").read_text(encoding="utf-8"))
    splits = [set(record[k]) for k in ("train_policies", "validation_policies", "test_policies")]
    assert all(not a & b for a in splits for b in splits if a is not b)  # split by policy
    assert record["validation"]["questions"] > 0 and record["test"]["questions"] > 0
    assert 0 < record["threshold"] <= 1.01
    card = (tiny_reader / "README.md").read_text(encoding="utf-8")
    assert f"{record['test']['all_f1']:.3f}" in card and "Trainer" in card
    reader = Reader(tiny_reader)
    assert reader.threshold == record["threshold"]
    sentence = (
        "We keep your personal information only for as long as is necessary for our purposes, and information "
        "relating to a contract with you will be kept for the lifetime of the contract and up to ten years after."
    )
    lead = reader.span("How long do you keep my data?", sentence)
    if lead is not None:  # a few training steps may find no proper part: then there is no lead
        assert sentence[lead.start : lead.end] == lead.text and 0 <= lead.probability <= 1
    assert reader.find("How long do you keep my data?", sentence, threshold=1.01) is None


def test_no_reader_means_no_lead(tmp_path: Path) -> None:
    from app.lead import shared_reader

    assert shared_reader(tmp_path / "nothing-here") is None
    assert not READER_DIR.exists() or (READER_DIR / "config.json").is_file()


def test_lead_settings_from_the_environment(tmp_path: Path) -> None:
    from app.assistant import AssistantConfig
    from app.errors import InputError
    from app.settings import Settings

    env = {"PRIVACY_ASSISTANT_READER": str(tmp_path), "PRIVACY_ASSISTANT_LEAD_THRESHOLD": "0"}
    config = AssistantConfig.from_settings(Settings.load(environ=env))
    assert config.reader_path == tmp_path and config.lead_threshold == 0.0
    with pytest.raises(InputError, match="PRIVACY_ASSISTANT_LEAD_THRESHOLD"):
        Settings.load(environ={"PRIVACY_ASSISTANT_LEAD_THRESHOLD": "high"})
