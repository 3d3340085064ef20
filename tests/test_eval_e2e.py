"""End to end: `privacy-assistant eval` with the real model on a real seed index, on a 6-item set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import CliResult, run_cli

ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT / "evals" / "dev.jsonl"
# 3 answerable English items (one about retention: "ten years") and 1 Chinese, from the dev set
DEV_IDS = ("d001", "d004", "d112", "d159")
UNANSWERABLE = (
    {"id": "u-paypal", "question": "Can I pay with PayPal?"},
    {"id": "u-hours", "question": "What are your boutique opening hours?"},
)
RATIO_METRICS = (
    "hit@1", "hit@3", "hit@5", "hit@10", "mrr@10", "ndcg@10", "citation_hit", "citation_precision",
    "answer_fact_recall", "abstain_precision", "abstain_recall", "abstain_f1", "false_abstention_rate",
)  # fmt: skip
LATENCY_METRICS = ("latency_p50_ms", "latency_p95_ms")

pytestmark = pytest.mark.slow


def _eval_set(path: Path) -> list[dict]:
    lines = [line for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_id = {row["id"]: row for row in map(json.loads, lines)}
    rows = [by_id[i] for i in DEV_IDS]
    assert any("ten years" in row["answer_facts"] for row in rows)
    assert [r["lang"] for r in rows].count("zh") == 1
    rows += [
        {
            **u,
            "lang": "en",
            "persona": "customer",
            "answerable": False,
            "filters": {},
            "sources": [],
            "needs_all": False,
            "answer_facts": [],
            "kind": "unanswerable",
        }
        for u in UNANSWERABLE
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return rows


@pytest.fixture(scope="module")
def eval_run(seed_index: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CliResult, Path]:
    tmp = tmp_path_factory.mktemp("eval-e2e")
    dataset = tmp / "six.jsonl"
    _eval_set(dataset)
    out = tmp / "rep"
    args = ["--documents", "documents", "--index", str(seed_index)]
    return run_cli(*args, "eval", "--dataset", str(dataset), "--json", "--robustness", "--out", str(out)), out


def test_exit_status_zero(eval_run) -> None:
    proc, _ = eval_run
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_json_on_stdout_is_a_flat_metrics_dict(eval_run) -> None:
    proc, _ = eval_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    metrics = json.loads(proc.stdout)
    assert isinstance(metrics, dict)
    assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in metrics.values()), metrics
    missing = set(RATIO_METRICS + LATENCY_METRICS) - metrics.keys()
    assert not missing, sorted(missing)
    for key in RATIO_METRICS:
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
    for key in LATENCY_METRICS:
        assert metrics[key] >= 0.0
    assert metrics["latency_p50_ms"] <= metrics["latency_p95_ms"]
    assert metrics["items"] == 6
    assert metrics["answerable"] == 4


def test_report_files_exist(eval_run) -> None:
    _, out = eval_run
    for name in ("report.md", "results.jsonl", "by_kind.png", "latency.png"):
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, name
    assert (out / "by_kind.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "# Evaluation report" in (out / "report.md").read_text(encoding="utf-8")


def _results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]


def test_results_jsonl_has_six_lines_failures_first(eval_run) -> None:
    _, out = eval_run
    rows = _results(out)
    assert len(rows) == 6
    assert {r["id"] for r in rows} == {*DEV_IDS, *(u["id"] for u in UNANSWERABLE)}
    oks = [r["ok"] for r in rows]
    assert oks == sorted(oks), f"failures (ok=false) must come first: {oks}"


def test_unanswerable_items_abstained(eval_run) -> None:
    _, out = eval_run
    rows = {r["id"]: r for r in _results(out)}
    for u in UNANSWERABLE:
        row = rows[u["id"]]
        assert row["answerable"] is False
        assert row["abstained"] is True, row["answer"]["answer"]
        assert row["answer"]["citations"] == []
        assert row["ok"] is True


ROBUST_KINDS = ("typos", "plain", "followup")


def test_robustness_in_the_flat_json(eval_run) -> None:
    proc, _ = eval_run
    metrics = json.loads(proc.stdout)
    for kind in ROBUST_KINDS:
        prefix = f"assistant/six/robust_{kind}/"
        assert metrics[prefix + "items"] == 6
        for key in ("citation_hit", "abstain_f1", "false_abstention_rate"):
            assert 0.0 <= metrics[prefix + key] <= 1.0, (prefix + key, metrics[prefix + key])
        assert metrics[prefix + "clean_citation_hit"] == metrics["citation_hit"]
        delta = metrics[prefix + "citation_hit"] - metrics["citation_hit"]
        assert metrics[prefix + "citation_hit_delta"] == pytest.approx(delta, abs=1e-3)
    # the two unanswerable items have no gold policy to follow up on: asked as they are
    assert metrics["assistant/six/robust_followup/unchanged"] >= 2
    assert 0.0 <= metrics["cited_policy"] <= 1.0


def test_robustness_and_intent_in_the_report(eval_run) -> None:
    _, out = eval_run
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## Robustness (assistant)" in report
    assert "| set | kind | n | unchanged | citation hit | clean citation hit | delta |" in report
    for kind in ROBUST_KINDS:
        assert f"| six | {kind} | 6 |" in report
    assert "## Intent model" in report
    assert "cited_policy" in report
