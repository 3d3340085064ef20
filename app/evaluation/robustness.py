"""The robustness block of `privacy-assistant eval`: each set re-asked under each perturbation
(app.evaluation.perturb), scored like the clean run and set beside it.

Only the main assistant is re-asked (a baseline's robustness is not what a release decides on),
through the same pipeline as the clean run, so a delta is the perturbation's doing alone. A
follow-up goes through the chat's own rule (app.followup.rewrite_followup) turn by turn, as the
customer chat sends it, and only the second turn's answer is scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.catalog import Catalog
from app.evaluation.dataset import EvalItem
from app.evaluation.perturb import PERTURBATIONS, Conversation, scope_words
from app.evaluation.scoring import ItemResult, Pipeline, aggregate, run
from app.followup import rewrite_followup

KINDS = tuple(PERTURBATIONS)
ROBUST_METRICS = ("citation_hit", "abstain_f1", "false_abstention_rate", "cited_policy", "correct")
NOTES = {
    "typos": "about one word in three of 4+ Latin letters gets one keyboard slip; words with a capital, "
    "numbers, e-mails, URLs and the catalogue's brand and region names never do. Chinese characters are "
    "left untouched, so a Chinese question changes only where it holds a Latin word",
    "plain": "lower case, no punctuation (ASCII and CJK), collapsed whitespace",
    "followup": "turn 1 asks the question about another brand or region (its own scope words removed), "
    "turn 2 names only the gold policy ('and for {scope}?' / '那{scope}呢？'), through the chat's "
    "follow-up rule; only turn 2 is scored. Unanswerable items, items with a doc_id filter and items "
    "whose gold spans several policies keep the clean question",
}


@dataclass(frozen=True)
class Robust:
    """One set asked under one perturbation."""

    kind: str
    results: tuple[ItemResult, ...]
    unchanged: int  # items asked with the clean question (nothing to perturb)
    rewritten: int = 0  # followup: second turns the chat's rule turned into a whole question


def perturbed(item: EvalItem, kind: str, catalog: Catalog) -> tuple[EvalItem, str]:
    """The item as asked under ``kind``, and how: "clean" (nothing to perturb: the clean
    question), "perturbed", or for a follow-up "rewritten" / "not rewritten" by the chat's rule."""
    asked = PERTURBATIONS[kind](item, catalog)
    if asked is None or asked == item.question:
        return item, "clean"
    if isinstance(asked, Conversation):
        words = scope_words(catalog)
        first = rewrite_followup("", asked.first, words)
        second = rewrite_followup(first.topic, asked.second, words)
        return dataclasses.replace(item, question=second.question), "rewritten" if second.rewritten else "not rewritten"
    return dataclasses.replace(item, question=asked), "perturbed"


def run_robustness(
    sets: Mapping[str, Sequence[EvalItem]],
    pipeline: Pipeline,
    catalog: Catalog,
    kinds: Sequence[str] = KINDS,
    progress: bool = True,
) -> dict[str, dict[str, Robust]]:
    """Every set under every kind: set name → kind → its scored run."""
    out: dict[str, dict[str, Robust]] = {}
    for name, items in sets.items():
        out[name] = {}
        for kind in kinds:
            asked = [perturbed(item, kind, catalog) for item in items]
            results = run([a for a, _ in asked], pipeline, progress=progress, desc=f"robust-{kind}:{name}")
            how = [h for _, h in asked]
            out[name][kind] = Robust(kind, tuple(results), how.count("clean"), how.count("rewritten"))
    return out


def robust_flat(
    robust: Mapping[str, Mapping[str, Robust]], clean: Mapping[str, Sequence[ItemResult]], pipeline: str = "assistant"
) -> dict[str, float]:
    """Flat keys ``assistant/test/robust_typos/citation_hit``, with the clean run's figure as
    ``clean_citation_hit`` and the difference as ``citation_hit_delta``."""
    flat: dict[str, float] = {}
    for split, by_kind in robust.items():
        clean_hit = aggregate(clean[split]).get("citation_hit", 0.0)
        for kind, r in by_kind.items():
            agg = aggregate(r.results)
            prefix = f"{pipeline}/{split}/robust_{kind}/"
            figures = {"items": float(len(r.results)), "unchanged": float(r.unchanged)}
            figures |= {k: agg[k] for k in ROBUST_METRICS if k in agg}
            figures["clean_citation_hit"] = clean_hit
            figures["citation_hit_delta"] = round(agg.get("citation_hit", 0.0) - clean_hit, 4)
            if kind == "followup":
                figures["rewritten"] = float(r.rewritten)
            flat |= {prefix + k: v for k, v in figures.items()}
    return flat


def robustness_section(robust: Mapping[str, Mapping[str, Robust]], clean: Mapping[str, Sequence[ItemResult]]) -> str:
    """The report's "Robustness" table and what each kind does."""
    lines = [
        "| set | kind | n | unchanged | citation hit | clean citation hit | delta | abstain F1 | false referrals |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, by_kind in robust.items():
        base = aggregate(clean[split])
        for kind, r in by_kind.items():
            agg = aggregate(r.results)
            hit, clean_hit = agg.get("citation_hit", 0.0), base.get("citation_hit", 0.0)
            lines.append(
                f"| {split} | {kind} | {len(r.results)} | {r.unchanged} | {hit:.3f} | {clean_hit:.3f} | "
                f"{hit - clean_hit:+.3f} | {agg['abstain_f1']:.3f} | {agg['false_abstention_rate']:.3f} |"
            )
    lines.append("")
    lines += [f"- **{kind}**: {NOTES[kind]}." for kind in KINDS if any(kind in k for k in robust.values())]
    rewritten = {s: k["followup"] for s, k in robust.items() if "followup" in k}
    if rewritten:
        counts = ", ".join(f"{s} {r.rewritten} of {len(r.results) - r.unchanged}" for s, r in rewritten.items())
        lines.append(f"- Second turns the follow-up rule rewrote into a whole question: {counts}.")
    lines.append("- unchanged = items asked with the clean question (nothing the perturbation could change).")
    return "\n".join(lines)
