"""The benchmarks run and print their tables (tiny inputs; no timing is asserted — the
figures are what `bench/*.py` report, not pass/fail conditions)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.documents import load_documents
from app.index import build_index, load_index

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import synth  # noqa: E402


def test_synthetic_corpus_ingests_with_distinct_ids_and_metadata(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    sections = synth.generate(12, corpus, ROOT / "documents", synth.POLICYQA)
    assert sections >= 50  # the seeds alone give ~90; the PolicyQA policies, where ../shared has them, ~200 more
    docs = {doc.doc_id: doc for doc, _ in load_documents(corpus)}
    synthetic = [d for d in docs if d.startswith("synth-")]
    assert len(synthetic) == 12 and "cartier-privacy-policy-2024" in docs  # the seeds are kept beside them
    assert all(docs[d].meta.brand in synth.BRANDS and docs[d].meta.region for d in synthetic)
    assert len({(docs[d].meta.brand, docs[d].meta.region, docs[d].meta.effective_date) for d in synthetic}) > 6
    build_index(corpus, tmp_path / "index", fake_embedder)
    index = load_index(tmp_path / "index")
    assert {c.doc_id for c in index.clauses} == set(docs)
    # the same seed gives the same corpus
    again = tmp_path / "again"
    synth.generate(12, again, ROOT / "documents", synth.POLICYQA)
    assert [p.read_bytes() for p in sorted(corpus.iterdir())] == [p.read_bytes() for p in sorted(again.iterdir())]


@pytest.mark.slow
def test_query_benchmark_prints_stage_table(seed_index):
    from bench import query

    report = query.run(seed_index, query.DATASETS, rounds=1, limit=8, baseline=True)
    table = query.format_table(report)
    assert report["questions"] == 8 and set(report["stages"]) == set(query.STAGES)
    assert report["stages"]["query embedding"]["p50"] > 0  # the cache was cleared: real encodes
    assert "| assistant `ask`" in table and "llama-index default retriever" in table


@pytest.mark.slow
def test_ingest_benchmark_one_run_reports_phases(tmp_path):
    """The child mode the ingest benchmark runs (here: an unchanged re-ingest of a copy)."""
    docs = tmp_path / "documents"
    (docs).mkdir()
    (docs / "tiny.txt").write_text("Retention\nWe keep your data for ten years.\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ingest.py"), "--one", str(docs), str(tmp_path / "index")],
        capture_output=True,
        text=True,
        check=True,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
    )
    row = json.loads(out.stdout.strip().splitlines()[-1])
    assert row["clauses"] == 1 and row["embedded"] >= 2 and "embed" in row["phases_ms"]


@pytest.mark.slow
@pytest.mark.cluster
def test_replica_benchmark_runs_one_replica_behind_nginx(seed_index):
    from bench import replicas
    from tests.cluster import missing

    if missing():
        pytest.skip(f"not installed: {missing()} (make cluster-deps)")
    row = replicas.measure(1, seed_index, clients=2, seconds=3)
    assert row["replicas"] == 1 and row["requests"] > 0 and row["errors"] == 0
    assert row["throughput_rps"] > 0 and row["rss_mib_per_replica_after"] > 100 and row["startup_s_all"] > 0
