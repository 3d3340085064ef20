"""Warm `ask` latency on the seed eval questions, stage by stage, beside llama-index's default.

    .venv/bin/python bench/query.py                 # ./index, evals/dev.jsonl + evals/test.jsonl
    .venv/bin/python bench/query.py --rounds 3 --json

Each round asks every question once with the question-vector cache cleared, so each
answer pays for a real query embedding. The assistant's stages are timed inside `ask`
(`Assistant.ask(..., timings=...)`); the llama-index default is `VectorStoreIndex` over
the same documents with its default splitter, the same embedding model, and
`as_retriever(similarity_top_k=10).retrieve(question)` — retrieval only, it composes
nothing. The figures are wall time on this machine, one question at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DATASETS = (ROOT / "evals" / "dev.jsonl", ROOT / "evals" / "test.jsonl")
STAGES = (
    "question analysis",
    "query embedding",
    "filters",
    "FAISS clauses",
    "FAISS sentences",
    "BM25",
    "fusion",
    "sentence selection",
    "composition",
)


def machine() -> str:
    """The CPU and core count the figures were measured on."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    arr = np.asarray(values, dtype=float)
    return {
        "p50": float(np.percentile(arr, 50)),
        "p95": float(np.percentile(arr, 95)),
        "p99": float(np.percentile(arr, 99)),
        "mean": float(arr.mean()),
    }


def load_questions(paths: Sequence[Path], limit: int | None) -> list[tuple[str, dict[str, Any]]]:
    from app.jsonl import read_objects

    out = []
    for path in paths:
        for _, item in read_objects(path):
            out.append((str(item["question"]), dict(item.get("filters") or {})))
    return out[:limit] if limit else out


def run(index: Path, datasets: Sequence[Path], rounds: int, limit: int | None, baseline: bool) -> dict[str, Any]:
    from app.assistant import Assistant
    from app.settings import Settings

    questions = load_questions(datasets, limit)
    assistant = Assistant.from_settings(Settings.load({"index": index}))
    started = time.perf_counter()
    assistant.warm_up()
    warm_up_s = time.perf_counter() - started
    for question, filters in questions[:20]:  # first-call costs (caches, allocator) out of the figures
        assistant.ask(question, filters)

    totals: list[float] = []
    stages: dict[str, list[float]] = {s: [] for s in STAGES}
    for _ in range(rounds):
        for question, filters in questions:
            assistant.embedder.clear_cache()  # type: ignore[attr-defined]
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            assistant.ask(question, filters, timings=timings)
            totals.append((time.perf_counter() - t0) * 1000)
            for stage in STAGES:
                stages[stage].append(timings.get(stage, 0.0))

    report: dict[str, Any] = {
        "machine": machine(),
        "index": str(index),
        "clauses": len(assistant.snapshot().index.clauses),
        "questions": len(questions),
        "rounds": rounds,
        "warm_up_s": warm_up_s,
        "assistant": percentiles(totals),
        "stages": {s: percentiles(v) for s, v in stages.items()},
    }
    if baseline:
        report["llamaindex_default"] = llamaindex_default(assistant, questions, rounds)
    return report


def llamaindex_default(assistant: Any, questions: list[tuple[str, dict[str, Any]]], rounds: int) -> dict[str, Any]:
    """llama-index's default pipeline on the same documents and model: build, then retrieve."""
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters

    state = assistant.snapshot()
    docs = [Document(text=d.text, metadata={"doc_id": d.doc_id}, id_=d.doc_id) for d in state.index.documents.values()]
    started = time.perf_counter()
    index = VectorStoreIndex.from_documents(docs, embed_model=assistant.embedder.llama_embedding)
    build_s = time.perf_counter() - started
    retrievers: dict[str | None, Any] = {}

    def retriever(doc_id: str | None) -> Any:
        if doc_id not in retrievers:
            filters = MetadataFilters(filters=[ExactMatchFilter(key="doc_id", value=doc_id)]) if doc_id else None
            retrievers[doc_id] = index.as_retriever(similarity_top_k=10, filters=filters)
        return retrievers[doc_id]

    times: list[float] = []
    embed: list[float] = []
    model = assistant.embedder.llama_embedding
    for _ in range(rounds):
        for question, filters in questions:
            t0 = time.perf_counter()
            retriever(filters.get("doc_id")).retrieve(question)
            times.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            model.get_query_embedding(question)  # its query embedding alone (float32, no cache)
            embed.append((time.perf_counter() - t0) * 1000)
    return {
        "chunks": len(index.docstore.docs),
        "build_s": build_s,
        "retrieve": percentiles(times),
        "query_embedding": percentiles(embed),
    }


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"machine: {r['machine']}",
        f"index: {r['index']} ({r['clauses']} clauses); {r['questions']} questions × {r['rounds']} rounds, "
        f"question-vector cache cleared before each; warm-up (index + model load) {r['warm_up_s']:.1f} s",
        "",
        "| stage | p50 ms | p95 ms | mean ms |",
        "|---|---:|---:|---:|",
    ]
    for stage, p in r["stages"].items():
        lines.append(f"| {stage} | {p['p50']:.2f} | {p['p95']:.2f} | {p['mean']:.2f} |")
    a = r["assistant"]
    lines += [
        "",
        "| pipeline | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---:|---:|---:|---:|",
        f"| assistant `ask` (answer + citations) | {a['p50']:.1f} | {a['p95']:.1f} | {a['p99']:.1f} "
        f"| {a['mean']:.1f} |",
    ]
    if b := r.get("llamaindex_default"):
        p = b["retrieve"]
        e = b["query_embedding"]
        lines.append(
            f"| llama-index default retriever (top 10 of {b['chunks']} chunks, no answer) "
            f"| {p['p50']:.1f} | {p['p95']:.1f} | {p['p99']:.1f} | {p['mean']:.1f} |"
        )
        lines.append(
            f"| — its query embedding alone (float32) | {e['p50']:.1f} | {e['p95']:.1f} | {e['p99']:.1f} "
            f"| {e['mean']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="index folder (built by `ingest`)")
    parser.add_argument("--dataset", type=Path, action="append", help="question files (default: dev and test)")
    parser.add_argument("--rounds", type=int, default=2, help="passes over the questions")
    parser.add_argument("--limit", type=int, help="only the first N questions")
    parser.add_argument("--no-baseline", action="store_true", help="skip the llama-index default")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    report = run(args.index, args.dataset or DATASETS, args.rounds, args.limit, not args.no_baseline)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
