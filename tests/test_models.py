"""The shipped models: they load offline, the card's figures reproduce, the baseline still loads,
and the training command runs end to end (on a tiny slice)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.embedding import DEFAULT_MODEL, PACKAGED_MODEL, SentenceTransformerEmbedder, default_model
from app.selection import Selector
from app.settings import Settings

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
MODEL = Path(DEFAULT_MODEL)
POLICYQA = ROOT.parent / "shared" / "datasets" / "policyqa" / "dev.json"


def test_the_shipped_model_is_the_default_and_small() -> None:
    assert MODEL.is_relative_to(ROOT / "models") and (MODEL / "config.json").is_file()
    assert default_model("") == DEFAULT_MODEL
    assert default_model(Settings.load(environ={"PRIVACY_ASSISTANT_MODEL": PACKAGED_MODEL}).model) == PACKAGED_MODEL
    weights = sum(p.stat().st_size for p in (ROOT / "models").rglob("*.safetensors"))
    assert weights <= 100 * 2**20  # the encoder and the reader, fp16: about 43 MB each
    assert (MODEL / "README.md").is_file()  # the model card
    Selector.load(MODEL / "selector.json")


def test_shipped_and_packaged_models_load_offline_and_differ(embedder) -> None:
    tuned = embedder.embed_query("How long do you keep my data?")
    packaged = SentenceTransformerEmbedder(PACKAGED_MODEL).embed_query("How long do you keep my data?")
    assert embedder.spec == DEFAULT_MODEL
    assert tuned.dtype == np.float32 and tuned.shape == packaged.shape == (384,)
    assert abs(float(np.linalg.norm(tuned)) - 1.0) < 1e-4
    assert 0.5 < float(tuned @ packaged) < 0.999  # fine-tuned from it, not the same
    assert embedder.identity["spec"] == "models/privacy-minilm"  # portable across clones
    assert embedder.identity["weights_sha256"]


@pytest.mark.skipif(not POLICYQA.is_file(), reason="../shared/datasets/policyqa is not beside this clone")
def test_model_card_figures_reproduce_on_the_held_out_slice(embedder) -> None:
    from app.training.data import read_policyqa, sentence_hit_at_1
    from app.training.ranker import SLICE

    record = json.loads((MODEL / "training.json").read_text())
    held_out = [p.removeprefix("policyqa-") for p in record["held_out_policies"]]
    paragraphs = read_policyqa(POLICYQA)
    titles = {p.policy for p in paragraphs}
    held = [t for t in titles if t.replace(".", "-") in held_out]
    assert len(held) == len(held_out) and not set(held) & {t.replace("-", ".") for t in record["train_policies"]}

    def encode(texts: list[str]) -> np.ndarray:
        return embedder.embed_texts(texts)

    figures = sentence_hit_at_1(paragraphs, held, encode, limit=SLICE)
    card = record["held_out_sentence_ranking"]["tuned"][f"first_{SLICE}"]
    assert figures["questions"] == card["questions"]
    assert figures["hit@1"] == pytest.approx(card["hit@1"], abs=0.03)  # bf16 vs float32 encoding
    assert figures["mrr@10"] == pytest.approx(card["mrr@10"], abs=0.03)


def test_train_ranker_command_writes_a_loadable_model(tmp_path) -> None:
    from app.cli import main

    data = tmp_path / "dev.json"
    paragraphs = []
    for k in range(6):
        context = (
            f"Policy {k} says we collect your name. We keep data for {k + 2} years. "
            "You may delete your account by writing to us. Cookies remember your settings."
        )
        qas = [
            {
                "id": f"{k}a",
                "question": "How long is data kept?",
                "answers": [{"text": f"{k + 2} years", "answer_start": context.index(f"{k + 2} years")}],
            },
            {
                "id": f"{k}b",
                "question": "Can I delete my account?",
                "answers": [{"text": "delete your account", "answer_start": context.index("delete your account")}],
            },
        ]
        paragraphs.append({"title": f"site{k}.com", "paragraphs": [{"context": context, "qas": qas}]})
    data.write_text(json.dumps({"data": paragraphs}))
    out = tmp_path / "model"
    code = main(["train", "ranker", "--data", str(data), "--out", str(out), "--batch-size", "4", "--epochs", "1"])
    assert code == 0
    record = json.loads((out / "training.json").read_text())
    assert record["pairs"] > 0 and record["hyper_parameters"]["batch_size"] == 4
    assert not set(record["train_policies"]) & set(record["held_out_policies"])
    assert list(out.glob("*.safetensors"))
    vec = SentenceTransformerEmbedder(str(out)).embed_query("How long is data kept?")
    assert vec.dtype == np.float32 and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
