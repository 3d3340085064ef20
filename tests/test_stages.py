"""The pipeline's stages hand each other named, frozen records: no stage returns a bare tuple
or a string-keyed dict, and what the answer says about its decision is a typed field."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from app.answer import Answer, Generation, Lead
from app.assistant import Assistant
from app.choose import LearnedChooser, choose, compare
from app.evaluation.choosers import CosineChooser, RulesChooser
from app.llm.answerer import LLMAnswerer
from app.stages import Chosen, Inquiry, Lookup

STAGES = [
    Assistant.lookup, Assistant.judge, Assistant.answer, Assistant.candidates, choose, compare,
    LearnedChooser.scored, LearnedChooser.select, LearnedChooser.confidence,
    RulesChooser.scored, CosineChooser.scored, LLMAnswerer.answer,
]  # fmt: skip


def _is_bare(hint: object) -> bool:
    origin = typing.get_origin(hint)
    if hint is tuple or origin is tuple or hint is dict or origin is dict:
        return True
    return any(_is_bare(arg) for arg in typing.get_args(hint))


@pytest.mark.parametrize("stage", STAGES, ids=lambda f: f.__qualname__)
def test_no_stage_returns_a_bare_tuple_or_dict(stage) -> None:
    returned = typing.get_type_hints(stage)["return"]
    assert not _is_bare(returned), f"{stage.__qualname__} returns {returned}"


@pytest.mark.parametrize("record", [Inquiry, Lookup, Chosen, Answer, Lead, Generation])
def test_the_records_are_frozen(record: type) -> None:
    assert dataclasses.is_dataclass(record) and record.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_the_answer_has_no_untyped_bag_of_extras() -> None:
    names = {f.name for f in dataclasses.fields(Answer)}
    assert "extras" not in names
    assert {"confidence", "abstain_reason", "references", "lead", "generation"} <= names
    hints = typing.get_type_hints(Answer)
    assert hints["confidence"] == float | None  # unknown is None, never read as "confident"


def test_the_contract_keys_come_from_the_typed_fields() -> None:
    lead = Lead("ten years", 1, 5, 14, 0.9)
    made = Generation("llm:m", reply_sentences=1)
    answer = Answer("q", "Q?", "A [1].", False, (), (), 1.0, confidence=0.81234, lead=lead, generation=made)
    out = answer.to_json()
    assert out["confidence"] == 0.8123 and out["lead"] == {"text": "ten years", "n": 1, "start": 5, "end": 14,
                                                           "probability": 0.9}  # fmt: skip
    assert out["generator"] == "llm:m" and out["reply_sentences"] == 1 and out["dropped"] == []
    assert "abstain_reason" not in out and "confidence" not in Answer("q", "Q?", "", True, (), (), 1.0).to_json()
