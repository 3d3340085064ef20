"""`eval --out DIR`: report.md, results.jsonl (failures first) and PNG plots."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.evaluation.intent_model import IntentFigures, intent_section
from app.evaluation.robustness import Robust, robustness_section
from app.evaluation.scoring import ItemResult, aggregate, breakdowns, result_row, summary_table


def write_report(
    out: Path,
    all_results: dict[str, dict[str, list[ItemResult]]],
    flat: dict[str, float],
    command: str,
    robust: Mapping[str, Mapping[str, Robust]] | None = None,
    intent: IntentFigures | None = None,
) -> None:
    """report.md (tables, breakdowns, robustness, intent model, failures), results.jsonl, metrics.json, plots."""
    out.mkdir(parents=True, exist_ok=True)
    main = [r for rs in all_results["assistant"].values() for r in rs]
    rows = sorted(main, key=lambda r: (r.ok, r.item.split, r.item.id))
    with open(out / "results.jsonl", "w", encoding="utf-8") as handle:
        for r in rows:
            handle.write(json.dumps(result_row(r), ensure_ascii=False) + "\n")
    (out / "metrics.json").write_text(json.dumps(flat, indent=2, ensure_ascii=False), encoding="utf-8")
    parts = [
        "# Evaluation report",
        "",
        f"Command: `{command}`",
        "",
        summary_table(all_results),
        "",
        "Metrics: hit@k/MRR/nDCG on the retrieved clauses; citation hit = the citations quote a gold "
        "sentence (all of them for needs_all items); citation precision = share of citations that do; "
        "cited_policy = share of answered items whose first citation is from a gold policy; "
        "answer-fact recall = expected facts found in the answer text; abstention P/R/F1 with "
        "'abstained' as the positive class; cited_words = mean length of a citation.",
    ]
    for name, groups in breakdowns(main).items():
        parts += ["", f"## Assistant by {name}", "", _group_table(groups)]
    if "llm" in all_results:
        llm = [r for rs in all_results["llm"].values() for r in rs]
        parts += ["", "## LLM answers", "", *_llm_section(llm)]
        with open(out / "results-llm.jsonl", "w", encoding="utf-8") as handle:
            for r in sorted(llm, key=lambda r: (r.ok, r.item.split, r.item.id)):
                handle.write(json.dumps(result_row(r), ensure_ascii=False) + "\n")
    if robust:
        parts += ["", "## Robustness (assistant)", "", robustness_section(robust, all_results["assistant"])]
    if intent is not None:
        parts += ["", "## Intent model", "", intent_section(intent)]
    parts += ["", *_failures_section(rows)]
    parts += ["", "Plots: `by_kind.png`, `latency.png`."]
    (out / "report.md").write_text("\n".join(parts) + "\n", encoding="utf-8")
    _plots(out, main)


def _failures_section(rows: list[ItemResult]) -> list[str]:
    """The failures by cause, then the first 40 of them."""
    failed = [r for r in rows if not r.ok]
    lines = [f"## Failures ({len(failed)} of {len(rows)}; first 40)", ""]
    if failed:
        causes = Counter(_cause(r) for r in failed)
        shares = ", ".join(f"{k} {n} ({n / len(failed):.0%})" for k, n in causes.most_common())
        lines += [f"By cause: {shares}.", ""]
    for r in failed[:40]:
        got = "abstained" if r.answer.abstained else (r.answer.citations[0].quote[:140] if r.answer.citations else "-")
        want = r.item.sources[0].quote[:100] if r.item.sources else "(should abstain)"
        lines.append(
            f"- **{r.item.id}** [{r.item.kind}/{r.item.lang}] {r.item.question} — want: “{want}” — got: “{got}”"
        )
    return lines


def _cause(r: ItemResult) -> str:
    """Why an item failed: a referral it should not have made, an answer it should not have
    given, an answer from the wrong policy, or the right policy's wrong sentence."""
    if not r.item.answerable:
        return "answered_unanswerable"
    if r.answer.abstained:
        return "false_referral"
    return "wrong_policy" if r.cited_policy == 0.0 else "wrong_sentence"


def _llm_section(results: list[ItemResult]) -> list[str]:
    """Which generator answered, why reply sentences were dropped, and a few examples."""
    made = [(r, r.answer.generation) for r in results]
    generators = Counter(g.generator if g is not None else "-" for _, g in made)
    dropped = [(r, d) for r, g in made if g is not None for d in g.dropped]
    reasons = Counter(_reason_kind(d.reason) for _, d in dropped)
    fallbacks = Counter(_fallback_kind(g.fallback_reason) for _, g in made if g is not None and g.fallback_reason)
    lines = [
        f"Answers by generator: {_counts(generators)}.",
        "",
        f"Dropped reply sentences by reason: {_counts(reasons)}.",
        "",
        f"Fallbacks to the extractive answer by reason: {_counts(fallbacks)}.",
        "",
    ]
    lines += [f"- **{r.item.id}** “{d.sentence[:140]}” — {d.reason[:160]}" for r, d in dropped[:15]]
    return lines


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k} {n}" for k, n in counter.most_common()) or "none"


def _fallback_kind(reason: str) -> str:
    if reason.startswith("LLM server") or "`openai`" in reason:
        return "server unavailable or failed"
    if reason.startswith("0 of "):
        return "no reply sentence supported"
    return "under half supported" if " reply sentences supported" in reason else reason


def _reason_kind(reason: str) -> str:
    for key, kind in (
        ("point at none", "invalid marker"),
        ("no citation", "no citation"),
        ("not in the source", "fact not in source"),
        ("similarity", "not similar enough"),
        ("instructions", "cites instructions"),
    ):
        if key in reason:
            return kind
    return "other"


def _group_table(groups: dict[str, dict[str, Any]]) -> str:
    keys = (
        "items", "hit@5", "citation_hit", "citation_precision", "cited_policy", "answer_fact_recall", "abstain_f1",
        "correct",
    )  # fmt: skip
    lines = ["| group | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 1)]
    for g, agg in groups.items():
        lines.append(f"| {g} | " + " | ".join(_cell(agg, k) for k in keys) + " |")
    return "\n".join(lines)


def _cell(agg: dict[str, Any], key: str) -> str:
    if key not in agg:
        return "-"
    return f"{agg[key]:.0f}" if key == "items" else f"{agg[key]:.3f}"


def _plots(out: Path, results: list[ItemResult]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = breakdowns(results)["kind"]
    names = list(groups)
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 0.45), 4.5))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [groups[n]["hit@5"] for n in names], width=0.4, label="hit@5")
    ax.bar([x + 0.2 for x in xs], [groups[n]["correct"] for n in names], width=0.4, label="correct answer")
    ax.set_xticks(list(xs), names, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_title("Assistant by question kind")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "by_kind.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist([r.answer.latency_ms for r in results], bins=30)
    agg = aggregate(results)
    ax.set_title(f"latency per question (p50 {agg['latency_p50_ms']:.1f} ms, p95 {agg['latency_p95_ms']:.1f} ms)")
    ax.set_xlabel("ms")
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
