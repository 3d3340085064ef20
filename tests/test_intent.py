"""The intent model (app/intent.py) and its trainer (app/training/intent.py).

Exact asserts on a tiny model fitted here (random vectors, a few lines); the shipped model with
the real encoder only under ``slow``, on questions that are in none of its training files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.errors import InputError
from app.intent import CONFIG_FILE, INTENTS, WEIGHTS_FILE, FeatureConfig, IntentModel, IntentScores, design_matrix
from app.training.intent import (
    Example,
    IntentConfig,
    clinc_examples,
    confusion,
    figures,
    fit,
    own_examples,
    sample_weights,
)

ROOT = Path(__file__).resolve().parent.parent
DIM = 8
ENCODER = {"spec": "fake", "name": "fake", "config_sha256": "abc", "dimension": DIM}
LINES = {
    "privacy": ["how long do you keep my data", "我的数据保存多久"],
    "off_topic": ["resize my ring please", "门店几点开门"],
    "chitchat": ["hello", "谢谢"],
    "followup": ["and in the US?", "那美国呢"],
    "compare": ["what changed between versions", "两个版本有什么区别"],
}


def _examples() -> list[Example]:
    return [Example(t, label, "own") for label, texts in LINES.items() for t in texts]


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def tiny() -> IntentModel:
    examples = _examples()
    return fit(examples, _vectors(len(examples)), IntentConfig(c=10.0), ENCODER)


@pytest.fixture
def saved(tiny: IntentModel, tmp_path: Path) -> Path:
    tiny.save(tmp_path)
    return tmp_path


def test_label_order_is_the_contract() -> None:
    assert INTENTS == ("privacy", "off_topic", "chitchat", "followup", "compare")


def test_scores_top_and_p() -> None:
    scores = IntentScores((0.1, 0.2, 0.6, 0.05, 0.05))
    assert scores.top == "chitchat"
    assert scores.p("off_topic") == 0.2
    assert scores.as_dict() == dict(zip(INTENTS, (0.1, 0.2, 0.6, 0.05, 0.05), strict=True))
    with pytest.raises(InputError, match="unknown intent 'shopping'"):
        scores.p("shopping")
    with pytest.raises(InputError, match="2 probabilities for 5 labels"):
        IntentScores((0.5, 0.5))


def test_design_matrix_shape_and_blocks() -> None:
    config = FeatureConfig(dimension=DIM, embedding_weight=2.0)
    x = design_matrix(["abc", "我的"], _vectors(2), config)
    assert x.shape == (2, DIM + 2**16)
    np.testing.assert_allclose(x[:, :DIM].toarray(), 2.0 * _vectors(2), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(x[:, DIM:].toarray(), axis=1), [1.0, 1.0], rtol=1e-6)
    with pytest.raises(InputError, match=r"expected \(3, 8\)"):
        design_matrix(["a", "b", "c"], _vectors(2), config)


def test_tiny_model_learns_its_lines(tiny: IntentModel) -> None:
    examples = _examples()
    scores = tiny.predict_many([e.text for e in examples], _vectors(len(examples)))
    assert [s.top for s in scores] == [e.label for e in examples]
    assert all(abs(sum(s.probabilities) - 1.0) < 1e-6 for s in scores)
    assert tiny.coef.shape == (5, DIM + 2**16)
    assert tiny.predict_many([], np.zeros((0, DIM))) == []


def test_round_trip(tiny: IntentModel, saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]
    loaded = IntentModel.load(saved, ENCODER)
    texts = ["do you share my address", "hi", "那中国呢"]
    vectors = _vectors(3, seed=5)
    np.testing.assert_allclose(loaded.probabilities(texts, vectors), tiny.probabilities(texts, vectors), atol=1e-6)
    assert loaded.predict(texts[0], vectors[0]) == tiny.predict(texts[0], vectors[0])
    assert loaded.features == tiny.features
    assert loaded.meta["hyper_parameters"]["c"] == 10.0


def test_predict_refuses_a_vector_of_another_size(tiny: IntentModel) -> None:
    with pytest.raises(InputError, match=r"shape \(1, 384\), expected \(1, 8\)"):
        tiny.predict("hello", np.zeros(384, dtype=np.float32))


def test_load_missing_folder_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=f"{CONFIG_FILE} not found"):
        IntentModel.load(tmp_path / "nowhere")


def test_load_refuses_another_encoder(saved: Path) -> None:
    with pytest.raises(InputError, match="fitted on the vectors of encoder fake"):
        IntentModel.load(saved, {**ENCODER, "config_sha256": "other"})
    assert IntentModel.load(saved, {**ENCODER, "spec": "/elsewhere/fake"}).features.dimension == DIM


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda c: {**c, "labels": ["privacy", "other"]}, "field 'labels'"),
        (lambda c: {**c, "format": 9}, "field 'format' is 9"),
        (lambda c: {k: v for k, v in c.items() if k != "encoder"}, "field 'encoder'"),
        (lambda c: {**c, "features": {"dimension": DIM}}, "field 'features' is malformed"),
        (lambda c: {**c, "features": {**c["features"], "ngram_weight": -1}}, "not a positive number"),
        (lambda c: {**c, "features": {**c["features"], "dimension": 16}}, r"expected \(5, 65552\)"),
    ],
)
def test_load_malformed_config(saved: Path, change: object, message: str) -> None:
    path = saved / CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(change(config)), encoding="utf-8")  # type: ignore[operator]
    with pytest.raises(InputError, match=message):
        IntentModel.load(saved)


def test_load_bad_json(saved: Path) -> None:
    (saved / CONFIG_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match=f"{CONFIG_FILE}: not valid JSON"):
        IntentModel.load(saved)


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        (None, "not a safetensors file"),
        ({"coef": np.zeros((5, DIM + 2**16), np.float32)}, "tensor 'intercept' is missing"),
        ({"coef": np.zeros((4, 3), np.float32), "intercept": np.zeros(5, np.float32)}, r"weights of shape \(4, 3\)"),
    ],
)
def test_load_bad_weights_file(saved: Path, tensors: dict[str, np.ndarray] | None, message: str) -> None:
    from safetensors.numpy import save_file

    path = saved / WEIGHTS_FILE
    if tensors is None:
        path.write_bytes(b"garbage")
    else:
        save_file(tensors, str(path))
    with pytest.raises(InputError, match=message):
        IntentModel.load(saved)


def test_missing_weights_file(saved: Path) -> None:
    (saved / WEIGHTS_FILE).unlink()
    with pytest.raises(InputError, match=f"{WEIGHTS_FILE} not found"):
        IntentModel.load(saved)


def test_importing_app_intent_stays_light() -> None:
    code = "import sys, app.intent; print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'torch'}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_sample_weights_balance_classes_and_sources() -> None:
    examples = [Example("a", "privacy", "policyqa")] * 3 + [
        Example("b", "privacy", "own"),
        Example("c", "chitchat", "own"),
    ]
    w = sample_weights(examples, own_weight=3.0)
    # privacy: 3 public + 1 own (×3) share half the weight; chitchat's one line the other half
    np.testing.assert_allclose(w, [5 / 12, 5 / 12, 5 / 12, 5 / 4, 5 / 2])
    assert w.mean() == pytest.approx(1.0)


def test_figures_and_confusion_by_hand() -> None:
    examples = [
        Example("a", "privacy", "own", "en"),
        Example("b", "privacy", "own", "zh"),
        Example("c", "compare", "own", "en"),
        Example("d", "chitchat", "own", "zh"),
    ]
    guesses = ["privacy", "off_topic", "compare", "privacy"]
    got = figures("x", examples, guesses)
    assert got["intent_accuracy_x"] == 0.5
    assert got["intent_accuracy_x_privacy"] == 0.5
    assert got["intent_accuracy_x_chitchat"] == 0.0
    assert got["intent_accuracy_x_en"] == 1.0
    assert got["intent_accuracy_x_zh"] == 0.0
    assert got["intent_n_x"] == 4
    matrix = confusion(examples, guesses)
    assert matrix[0] == [1, 1, 0, 0, 0]
    assert matrix[2] == [1, 0, 0, 0, 0]
    assert sum(map(sum, matrix)) == 4


def test_own_examples_name_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "hi", "label": "chitchat", "lang": "en"}\n{"text": "x", "label": "shop", "lang": "en"}\n')
    with pytest.raises(InputError, match=r"x.jsonl:2: field 'label'"):
        own_examples(path)
    path.write_text('{"text": "hi", "label": "chitchat", "lang": "fr"}\n')
    with pytest.raises(InputError, match=r"x.jsonl:1: field 'lang'"):
        own_examples(path)


def test_clinc_labels(tmp_path: Path) -> None:
    path = tmp_path / "clinc.json"
    path.write_text(
        json.dumps(
            {
                "train": [["hi there", "greeting"], ["pay my bill", "pay_bill"]],
                "oos_train": [["how tall is a giraffe", "oos"]],
            }
        )
    )
    assert [(e.text, e.label) for e in clinc_examples(("train", "oos_train"), path)] == [
        ("hi there", "chitchat"),
        ("pay my bill", "off_topic"),
        ("how tall is a giraffe", "off_topic"),
    ]
    with pytest.raises(InputError, match="not CLINC150"):
        clinc_examples(("val",), path)


def test_training_files_are_well_formed_and_separate() -> None:
    train = own_examples(ROOT / "data" / "intent" / "train.jsonl")
    held = own_examples(ROOT / "data" / "intent" / "heldout.jsonl")
    assert len(train) >= 400 and len(held) >= 120
    for examples in (train, held):
        assert {(e.label, e.lang) for e in examples} == {(label, lang) for label in INTENTS for lang in ("en", "zh")}
    assert not {e.text.lower() for e in train} & {e.text.lower() for e in held}


# Clear examples of each label, in none of the training files (nor the held-out one).
CLEAR = [
    ("How long do you keep my data?", "privacy"),
    ("What do you do with my address after a refund?", "privacy"),
    ("Do you share my purchase data with Salesforce or other vendors?", "privacy"),
    ("how lnog u keep my emial adress", "privacy"),
    ("我的信息会传到国外吗？", "privacy"),
    ("退货以后我的地址会被保存吗？", "privacy"),
    ("my necklace chain snapped, can you fix it", "off_topic"),
    ("how much is the blue leather watch strap", "off_topic"),
    ("项链断了可以修吗", "off_topic"),
    ("hello, good afternoon", "chitchat"),
    ("thank you, bye", "chitchat"),
    ("and in the US?", "followup"),
    ("what about Harry Winston?", "followup"),
    ("那美国呢？", "followup"),
    ("what changed between the 2010 and 2024 policy?", "compare"),
    ("how does the China policy differ from the global one?", "compare"),
    ("两个版本有什么区别？", "compare"),
]


@pytest.mark.slow
def test_shipped_model_on_clear_examples() -> None:
    from app.embedding import SentenceTransformerEmbedder

    files = [ROOT / "data" / "intent" / f for f in ("train.jsonl", "heldout.jsonl")]
    seen = {e.text.lower() for f in files for e in own_examples(f)}
    assert not [t for t, _ in CLEAR if t.lower() in seen]
    embedder = SentenceTransformerEmbedder()
    model = IntentModel.load(ROOT / "models" / "intent-minilm", embedder.identity)
    texts = [t for t, _ in CLEAR]
    scores = model.predict_many(texts, np.vstack([embedder.embed_query(t) for t in texts]))
    wrong = [(t, label, s.top) for (t, label), s in zip(CLEAR, scores, strict=True) if s.top != label]
    assert not wrong
