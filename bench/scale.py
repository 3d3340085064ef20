"""The assistant at 1,000 and 10,000 policies: ingest, size, memory, query speed, and what
switching FAISS from flat to IVF costs in recall and gains in speed.

    .venv/bin/python bench/scale.py                          # 1,000 and 10,000 policies
    .venv/bin/python bench/scale.py --sizes 1000 --questions 100 --json

For each size, `bench/synth.py` writes a synthetic corpus (sections of the seed notices and
of the 20 PolicyQA dev policies recombined under distinct doc ids, brands, regions and
dates) beside copies of the seed documents, so the eval questions keep their answers. It
is ingested twice in fresh processes: first with flat FAISS indexes, then with the ANN
threshold met (IVF), the vectors reused. Each index is then loaded in a fresh process
and asked the eval questions:

- unfiltered (the assistant's default scope: a brand the question names, else every
  current policy);
- with a brand filter (one fictional brand, ~2% of the policies) and a doc_id filter,
  checking that every retrieved clause matches the filter and that the dense ranking is
  exactly the brute-force ranking of the allowed clauses.

Recall of IVF against flat: hit@5 of the eval answers over the same corpus, and the
overlap of the top-50 dense clause rows of every question with the flat index's.

The corpus recombines a few hundred distinct sections, so most of its text repeats:
`ingest` embeds each distinct text once (vectors are cached by text hash), as it would for
real policy versions that share most of their wording. The table reports how many texts
were embedded and the model's raw encode rate, so that the cost for a corpus of unique
text can be worked out: (texts ÷ encode rate).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.query import machine, percentiles  # noqa: E402

FLAT = 10**12  # an ANN threshold no corpus reaches
BRAND = "Maison Aurel"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def ingest_one(corpus: Path, index: Path, threshold: int) -> dict[str, Any]:
    """In this process: ingest ``corpus`` with the given ANN threshold."""
    from app.embedding import SentenceTransformerEmbedder
    from app.index import build_index

    started = time.perf_counter()
    summary = build_index(corpus, index, SentenceTransformerEmbedder(), ann_threshold=threshold)
    seconds = time.perf_counter() - started
    build = (index / "current").resolve()
    manifest = json.loads((build / "manifest.json").read_text())
    embed_s = summary.phases_ms.get("embed", 0.0) / 1000
    return {
        "seconds": seconds,
        "documents": len(summary.documents),
        "clauses": manifest["clauses"],
        "sentences": manifest["sentences"],
        "embedded": summary.embedded,
        "reused": summary.reused,
        "embed_s": embed_s,
        "encode_rate": summary.embedded / embed_s if summary.embedded and embed_s else 0.0,
        "phases_ms": summary.phases_ms,
        "faiss": manifest["faiss"],
        "index_bytes": sum(p.stat().st_size for p in build.iterdir() if p.is_file()),
        "peak_rss_mib": _peak_rss_mib(),
    }


def _eval_items() -> list[Any]:
    from app.evaluation.dataset import DEFAULT_SETS, load_eval_set

    return [item for path in DEFAULT_SETS for item in load_eval_set(ROOT / path)]


def query_one(index: Path, questions: int) -> dict[str, Any]:
    """In this process: load ``index`` and ask the eval questions three ways."""
    from app.assistant import Assistant
    from app.evaluation.metrics import first_relevant_rank, hit_at
    from app.records import Filters
    from app.settings import Settings

    started = time.perf_counter()
    assistant = Assistant.from_settings(Settings.load({"index": index}))
    assistant.warm_up()
    load_s = time.perf_counter() - started
    rss_loaded = _rss_mib()
    state = assistant.snapshot()
    items = _eval_items()
    some_doc = sorted(d for d, m in state.catalog.items() if m.brand == BRAND)[0]
    modes: dict[str, dict[str, str]] = {"unfiltered": {}, "brand filter": {"brand": BRAND}, "doc filter": {}}
    modes["doc filter"] = {"doc_id": some_doc}
    timing: dict[str, list[float]] = {m: [] for m in modes}
    exact = {m: [0, 0] for m in modes}  # [exact dense rankings, checked]
    outside = 0
    for mode, filters in modes.items():
        allowed = state.retriever.filter_mask(Filters.from_dict(filters))
        for item in items[:questions]:
            assistant.embedder.clear_cache()  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            answer = assistant.ask(item.question, {**item.filters, **filters} if mode == "unfiltered" else filters)
            timing[mode].append((time.perf_counter() - t0) * 1000)
            if mode == "unfiltered":
                continue
            outside += sum(1 for r in answer.retrieved if not _matches(state.catalog[r.doc_id], r.doc_id, filters))
            vector = assistant.embedder.embed_query(item.question)
            rows, scores = state.retriever.clauses.top(vector, allowed, 50)
            brute = np.sort(state.index.clause_vectors[np.flatnonzero(allowed)] @ vector)[::-1][:50]
            # Many clauses share a text (and a vector), so compare the scores, not which of the tied rows
            same = len(rows) == len(brute) and bool(np.allclose(scores, brute, atol=1e-5)) and allowed[rows].all()
            exact[mode][0] += int(same)
            exact[mode][1] += 1
    hits, dense_top = [], []
    for item in items:
        answer = assistant.ask(item.question, item.filters)
        if item.answerable:
            hits.append(hit_at(first_relevant_rank(answer.retrieved, item.sources, item.needs_all), 5))
        vector = assistant.embedder.embed_query(item.question)
        dense_top.append(state.retriever.clauses.top(vector, None, 50)[0].tolist())
    return {
        "load_s": load_s,
        "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": _peak_rss_mib(),
        "latency": {m: percentiles(v) for m, v in timing.items()},
        "filter_exact": {m: f"{e[0]}/{e[1]}" for m, e in exact.items() if e[1]},
        "outside_filter": outside,
        "hit@5": float(np.mean(hits)),
        "answerable": len(hits),
        "dense_top50": dense_top,
    }


def _matches(meta: Any, doc_id: str, filters: dict[str, str]) -> bool:
    return (not filters.get("doc_id") or doc_id == filters["doc_id"]) and (
        not filters.get("brand") or meta.brand == filters["brand"]
    )


def _child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[:1])} failed ({done.returncode}): {done.stderr.strip()[-3000:]}")
    return {"wall_s": time.perf_counter() - started, **json.loads(done.stdout.strip().splitlines()[-1])}


def run(sizes: Sequence[int], questions: int, work: Path, threshold: int | None) -> dict[str, Any]:
    from app.settings import Settings
    from bench.synth import POLICYQA, generate

    ann = threshold or Settings.load().ann_threshold
    out: dict[str, Any] = {"machine": machine(), "ann_threshold": ann, "sizes": []}
    for size in sizes:
        corpus, index = work / f"corpus-{size}", work / f"index-{size}"
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
        generate(size, corpus, ROOT / "documents", POLICYQA)
        row: dict[str, Any] = {"synthetic": size}
        for kind, limit in (("flat", FLAT), ("ivf", 1)):  # IVF forced, to compare at every size
            print(f"{size} policies, {kind}: ingest", file=sys.stderr, flush=True)
            row[f"{kind}_ingest"] = _child(["--ingest-one", str(corpus), str(index), str(limit)])
            print(f"{size} policies, {kind}: queries", file=sys.stderr, flush=True)
            row[f"{kind}_query"] = _child(["--query-one", str(index), str(questions)])
        flat, ivf = row["flat_query"]["dense_top50"], row["ivf_query"]["dense_top50"]
        row["ivf_recall@50"] = float(
            np.mean([len(set(a) & set(b)) / max(1, len(a)) for a, b in zip(flat, ivf, strict=True)])
        )
        for kind in ("flat", "ivf"):
            del row[f"{kind}_query"]["dense_top50"]
        out["sizes"].append(row)
        shutil.rmtree(corpus, ignore_errors=True)
        shutil.rmtree(index, ignore_errors=True)
    return out


def format_table(r: dict[str, Any]) -> str:
    lines = [
        f"machine: {r['machine']}",
        "",
        "| policies | index | clauses | sentences | texts embedded | encode rate texts/s | ingest s | clauses/s "
        "| index MB | ingest peak RSS MiB | load s | RSS loaded MiB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["sizes"]:
        for kind in ("flat", "ivf"):
            i, q = row[f"{kind}_ingest"], row[f"{kind}_query"]
            faiss = f"{i['faiss']['clauses']} / {i['faiss']['sentences']}"
            lines.append(
                f"| {i['documents']:,} | {faiss} | {i['clauses']:,} | {i['sentences']:,} | {i['embedded']:,} "
                f"| {i['encode_rate']:.0f} | {i['seconds']:.0f} | {i['clauses'] / i['seconds']:,.0f} "
                f"| {i['index_bytes'] / 1e6:,.0f} | {i['peak_rss_mib']:,.0f} | {q['load_s']:.1f} "
                f"| {q['rss_loaded_mib']:,.0f} |"
            )
    lines += [
        "",
        "| policies | index | unfiltered p50 / p95 ms | brand filter p50 / p95 ms | doc filter p50 / p95 ms "
        "| filtered dense = brute force | clauses outside filter | hit@5 | IVF recall@50 vs flat |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in r["sizes"]:
        for kind in ("flat", "ivf"):
            i, q = row[f"{kind}_ingest"], row[f"{kind}_query"]
            lat = q["latency"]
            cells = " | ".join(
                f"{lat[m]['p50']:.1f} / {lat[m]['p95']:.1f}" for m in ("unfiltered", "brand filter", "doc filter")
            )
            exact = ", ".join(q["filter_exact"].values())
            recall = f"{row['ivf_recall@50']:.3f}" if kind == "ivf" else "—"
            lines.append(
                f"| {i['documents']:,} | {i['faiss']['clauses']} / {i['faiss']['sentences']} | {cells} | {exact} "
                f"| {q['outside_filter']} | {q['hit@5']:.3f} | {recall} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="synthetic policies")
    parser.add_argument("--questions", type=int, default=100, help="eval questions timed per filter mode")
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument("--ann-threshold", type=int, help="vectors from which FAISS is IVF (default: the app's)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--ingest-one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--query-one", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.ingest_one:
        corpus, index, limit = args.ingest_one
        print(json.dumps(ingest_one(Path(corpus), Path(index), int(limit))))
        return 0
    if args.query_one:
        print(json.dumps(query_one(Path(args.query_one[0]), int(args.query_one[1]))))
        return 0
    with tempfile.TemporaryDirectory(prefix="pa-bench-scale-") as tmp:
        report = run(args.sizes, args.questions, args.work or Path(tmp), args.ann_threshold)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
