"""Training pairs from PolicyQA: the answering sentence, negatives, the split by policy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.errors import InputError
from app.training.data import (
    answer_sentences,
    make_pairs,
    policy_key,
    read_policyqa,
    sentence_hit_at_1,
    split_policies,
)


def _squad(tmp_path, policies):
    data = []
    for title, paragraphs in policies.items():
        paras = []
        for context, qas in paragraphs:
            paras.append(
                {
                    "context": context,
                    "qas": [
                        {
                            "id": f"{title}-{i}",
                            "question": q,
                            "answers": [{"text": a, "answer_start": context.index(a)}],
                        }
                        for i, (q, a) in enumerate(qas)
                    ],
                }
            )
        data.append({"title": title, "paragraphs": paras})
    path = tmp_path / "dev.json"
    path.write_text(json.dumps({"data": data}))
    return path


CONTEXT = (
    "We collect your name and email address. We keep your data for five years after your last order. "
    "You can ask us to delete your account at any time. Cookies help us remember your preferences."
)


def test_answer_sentence_is_the_one_holding_the_span(tmp_path) -> None:
    path = _squad(tmp_path, {"a.com": [(CONTEXT, [("How long?", "five years"), ("Delete?", "delete your account")])]})
    (para,) = read_policyqa(path)
    assert len(para.sentences) == 4
    assert [answer_sentences(para, s, e) for _, s, e in para.qas] == [(1, 2), (2, 3)]
    span = CONTEXT.index("address. We keep")
    assert answer_sentences(para, span, span + len("address. We keep")) == (0, 2)  # across a boundary


def test_pairs_have_a_same_paragraph_negative_and_never_the_answer(tmp_path) -> None:
    path = _squad(tmp_path, {"a.com": [(CONTEXT, [("How long do you keep data?", "five years")])]})
    paragraphs = read_policyqa(path)
    pairs = make_pairs(paragraphs, ["a.com"], seed=1, mined=0)
    (pair,) = pairs
    assert pair.positive == "We keep your data for five years after your last order."
    assert pair.negatives[0] in CONTEXT and pair.negatives[0] != pair.positive
    assert make_pairs(paragraphs, ["a.com"], seed=1, mined=0) == pairs  # deterministic
    assert make_pairs(paragraphs, ["b.com"], seed=1, mined=0) == []  # only the policies asked for


def test_mined_negative_is_the_closest_non_answer(tmp_path) -> None:
    path = _squad(tmp_path, {"a.com": [(CONTEXT, [("How long do you keep data?", "five years")])]})
    paragraphs = read_policyqa(path)

    def encode(texts):  # "delete" sentence is closest to every question; the answer is excluded anyway
        return np.array([[1.0, 0.0] if ("delete" in t or "How long" in t) else [0.0, 1.0] for t in texts])

    (pair,) = make_pairs(paragraphs, ["a.com"], seed=0, encode=encode, mined=1)
    assert pair.negatives[1] == "You can ask us to delete your account at any time."


def test_split_is_by_policy_deterministic_and_disjoint() -> None:
    titles = [f"site{i}.com" for i in range(20)]
    train, held = split_policies(titles, held_out=6)
    assert split_policies(titles[:4], held_out=6)[1] == split_policies(titles[:4], held_out=1)[1]  # a third at most
    assert len(held) == 6 and not set(train) & set(held) and sorted(train + held) == sorted(titles)
    assert split_policies(list(reversed(titles)), held_out=6) == (train, held)
    assert policy_key("mlb.mlb.com") == "policyqa-mlb-mlb-com"


def test_sentence_hit_at_1_by_hand(tmp_path) -> None:
    path = _squad(
        tmp_path, {"a.com": [(CONTEXT, [("How long do you keep data?", "five years"), ("Cookies?", "Cookies help")])]}
    )
    paragraphs = read_policyqa(path)

    def encode(texts):  # every text maps to the "five years" direction except cookie ones
        return np.array(
            [[0.0, 1.0] if "ookie" in t else [1.0, 0.0] if "five" in t or "How" in t else [0.5, 0.5] for t in texts]
        )

    figures = sentence_hit_at_1(paragraphs, ["a.com"], encode)
    assert figures == {"questions": 2.0, "hit@1": 1.0, "mrr@10": 1.0}
    assert sentence_hit_at_1(paragraphs, ["a.com"], encode, limit=1)["questions"] == 1.0


def test_a_file_that_is_not_squad_is_an_input_error(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match=r"bad\.json"):
        read_policyqa(bad)
