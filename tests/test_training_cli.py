"""`train ranker --eval-set` and `train selector --dataset` refuse the project's eval sets:
the files in evals/, and any file that repeats their questions (a copied slice)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import InputError
from app.training.cli import SEED_QUESTIONS, refuse_eval_sets

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.jsonl"
TEST = ROOT / "evals" / "test.jsonl"


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "selector", "--dataset", str(DEV)],
        ["train", "selector", "--dataset", "evals/dev.jsonl"],
        ["train", "selector", "--dataset", str(TEST)],
    ],
)
def test_train_selector_refuses_eval_sets(argv, capsys, monkeypatch) -> None:
    from app.cli import main

    monkeypatch.chdir(ROOT)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "evals/" in err or "held-out" in err


def test_train_ranker_refuses_the_dev_set(tmp_path, capsys) -> None:
    from app.cli import main

    data = tmp_path / "squad.json"
    data.write_text('{"data": []}', encoding="utf-8")
    code = main(["train", "ranker", "--data", str(data), "--out", str(tmp_path / "m"), "--eval-set", str(DEV)])
    assert code == 2
    assert "eval set" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_copied_slice_of_an_eval_set_is_refused(tmp_path) -> None:
    lines = DEV.read_text(encoding="utf-8").splitlines()
    copy = tmp_path / "mine.jsonl"
    copy.write_text("\n".join(lines[:3]) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="repeats 3 question"):
        refuse_eval_sets([copy], "train selector --dataset")


def test_our_seed_questions_are_accepted() -> None:
    refuse_eval_sets([ROOT / SEED_QUESTIONS], "train selector --dataset")


def test_the_rule_follows_the_evals_folder_it_is_given(tmp_path) -> None:
    evals = tmp_path / "evals"
    evals.mkdir()
    (evals / "dev.jsonl").write_text('{"id": "a", "question": "Do you sell my data?"}\n', encoding="utf-8")
    mine = tmp_path / "mine.jsonl"
    mine.write_text('{"id": "b", "question": "Do you keep my data?"}\n', encoding="utf-8")
    refuse_eval_sets([mine], "x", evals_dir=evals)
    with pytest.raises(InputError, match="is an eval set"):
        refuse_eval_sets([evals / "dev.jsonl"], "x", evals_dir=evals)
