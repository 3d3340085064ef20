"""Scoring: answers against gold labels, per item, per set and per group.

The library below the `eval` command: a pipeline (anything that turns an eval item into an
`Answer`) is run over items, each answer gets its verdicts (`ItemResult`), and the verdicts
fold into the flat metrics dict, its breakdowns, the summary table and the results rows.
Baselines go through the same scorer as the assistant, so every figure is comparable.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from tqdm import tqdm

from app.answer import Answer
from app.evaluation import metrics as m
from app.evaluation.dataset import EvalItem
from app.llm.answerer import dropped_share
from app.stages import Answerer, Inquiry

Pipeline = Callable[[EvalItem], Answer]


@dataclass(frozen=True)
class ItemResult:
    """One answered item and its verdicts."""

    item: EvalItem
    answer: Answer
    rank: int | None
    ndcg: float
    citation_hit: float
    citation_correct: int
    citations: int
    fact_recall: float | None
    sentence_f1: float
    sentence_p: float
    sentence_r: float
    cited_words: float
    unit_words: float
    cited_policy: float | None = None  # the first citation's policy is a gold one (None: not counted)

    @property
    def ok(self) -> bool:
        """Right for the user: cites a gold sentence, or abstains on an unanswerable item."""
        if not self.item.answerable:
            return self.answer.abstained
        return not self.answer.abstained and self.citation_hit == 1.0


def answerer_pipeline(answerer: Answerer) -> Pipeline:
    """An answerer (the assistant, a variant, the LLM), called as `ask --batch` calls it."""

    def answer(item: EvalItem) -> Answer:
        return answerer.answer(Inquiry(item.question, dict(item.filters), item.id))

    return answer


def run(items: Sequence[EvalItem], pipeline: Pipeline, progress: bool = True, desc: str = "eval") -> list[ItemResult]:
    """Answer and score every item, with a progress bar on stderr."""
    results = []
    for item in tqdm(items, desc=desc, unit="q", file=sys.stderr, disable=not progress):
        results.append(score_item(item, pipeline(item)))
    return results


def score_item(item: EvalItem, answer: Answer) -> ItemResult:
    """The verdicts on one answer."""
    retrieved = [m.Unit(r.doc_id, r.text) for r in answer.retrieved]
    cited = [m.Unit(c.doc_id, c.quote) for c in answer.citations]
    verdicts = m.citation_verdicts(cited, item.sources)
    p, r, f1 = m.sentence_prf(cited, item.sources, item.answerable)
    return ItemResult(
        item=item,
        answer=answer,
        rank=m.first_relevant_rank(retrieved, item.sources, item.needs_all),
        ndcg=m.ndcg_at(retrieved, item.sources, 10),
        citation_hit=m.citation_hit(cited, item.sources, item.needs_all),
        citation_correct=sum(verdicts),
        citations=len(cited),
        fact_recall=None
        if answer.abstained and not item.answerable
        else m.fact_recall(answer.answer, item.answer_facts),
        sentence_f1=f1,
        sentence_p=p,
        sentence_r=r,
        cited_words=sum(len(c.text.split()) for c in cited) / len(cited) if cited else 0.0,
        unit_words=sum(len(u.text.split()) for u in retrieved) / len(retrieved) if retrieved else 0.0,
        cited_policy=m.cited_policy(cited, item.sources, answer.abstained) if item.answerable else None,
    )


def aggregate(results: Sequence[ItemResult]) -> dict[str, float]:
    """The flat metrics dict of a set of results."""
    answerable = [r for r in results if r.item.answerable]
    out: dict[str, float] = {"items": float(len(results)), "answerable": float(len(answerable))}
    for k in (1, 3, 5, 10):
        out[f"hit@{k}"] = _mean(m.hit_at(r.rank, k) for r in answerable)
    out["mrr@10"] = _mean(m.reciprocal_rank(r.rank, 10) for r in answerable)
    out["ndcg@10"] = _mean(r.ndcg for r in answerable)
    out["citation_hit"] = _mean(r.citation_hit for r in answerable)
    cited = [r for r in answerable if r.citations]
    out["citation_precision"] = (
        sum(r.citation_correct for r in cited) / sum(r.citations for r in cited) if cited else 0.0
    )
    policies = [r.cited_policy for r in answerable if r.cited_policy is not None]
    if policies:  # nothing answered with a named gold document: no such figure (not a zero)
        out["cited_policy"] = _mean(policies)
    facts = [r.fact_recall for r in answerable if r.fact_recall is not None]
    if facts:  # an outside set without answer_facts has no such figure (not a zero)
        out["answer_fact_recall"] = _mean(facts)
    out.update(_abstention(results, len(answerable)))
    out["sentence_precision"] = _mean(r.sentence_p for r in results)
    out["sentence_recall"] = _mean(r.sentence_r for r in results)
    out["sentence_f1"] = _mean(r.sentence_f1 for r in results)
    out["correct"] = _mean(1.0 if r.ok else 0.0 for r in results)
    latencies = [r.answer.latency_ms for r in results]
    out["latency_p50_ms"] = m.percentile(latencies, 50)
    out["latency_p95_ms"] = m.percentile(latencies, 95)
    out["cited_words"] = _mean(r.cited_words for r in results if r.citations)
    out["retrieved_unit_words"] = _mean(r.unit_words for r in results)
    out.update(_llm_replies([r.answer for r in results]))
    return {k: round(v, 4) for k, v in out.items()}


def _abstention(results: Sequence[ItemResult], answerable: int) -> dict[str, float]:
    """Abstention P/R/F1 with 'abstained' as the positive class, and the false-abstention rate."""
    tp = sum(1 for r in results if r.answer.abstained and not r.item.answerable)
    fp = sum(1 for r in results if r.answer.abstained and r.item.answerable)
    fn = sum(1 for r in results if not r.answer.abstained and not r.item.answerable)
    p, r, f1 = m.prf(tp, fp, fn)
    return {
        "abstain_precision": p,
        "abstain_recall": r,
        "abstain_f1": f1,
        "false_abstention_rate": fp / answerable if answerable else 0.0,
    }


def _llm_replies(answers: Sequence[Answer]) -> dict[str, float]:
    """In an LLM answerer's run: how much of the model's replies survived validation."""
    generated = [a for a in answers if a.generation is not None]
    if not generated:
        return {}
    answered = sum(1 for a in generated if a.generation is not None and a.generation.generator.startswith("llm:"))
    dropped, fallbacks = dropped_share(generated)
    return {"llm_answers": float(answered), "llm_sentences_dropped": dropped, "llm_fallbacks": float(fallbacks)}


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def breakdowns(results: Sequence[ItemResult]) -> dict[str, dict[str, dict[str, float]]]:
    """Metrics by kind, language, persona and document."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name, key in (
        ("kind", lambda r: r.item.kind),
        ("lang", lambda r: r.item.lang),
        ("persona", lambda r: r.item.persona),
        ("document", lambda r: r.item.doc),
    ):
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in results:
            groups[key(r) or "-"].append(r)
        out[name] = {g: aggregate(rs) for g, rs in sorted(groups.items())}
    return out


def flatten(all_results: dict[str, dict[str, list[ItemResult]]]) -> dict[str, float]:
    """One flat dict: the assistant on all sets unprefixed, then `split/metric`, `baseline/...`."""
    flat: dict[str, float] = {}
    for pname, by_set in all_results.items():
        everything = [r for rs in by_set.values() for r in rs]
        prefix = "" if pname == "assistant" else f"{pname}/"
        flat.update({f"{prefix}{k}": v for k, v in aggregate(everything).items()})
        if len(by_set) > 1:
            for split, rs in by_set.items():
                flat.update({f"{prefix}{split}/{k}": v for k, v in aggregate(rs).items()})
    return flat


TABLE_METRICS = (
    "hit@1", "hit@5", "mrr@10", "ndcg@10", "citation_hit", "citation_precision", "cited_policy",
    "answer_fact_recall",
    "abstain_f1", "false_abstention_rate", "sentence_f1", "latency_p50_ms", "latency_p95_ms", "cited_words",
)  # fmt: skip


LLM_METRICS = ("llm_answers", "llm_sentences_dropped", "llm_fallbacks")


def summary_table(all_results: dict[str, dict[str, list[ItemResult]]]) -> str:
    """A Markdown table: one row per pipeline and set (with the LLM's columns when one ran)."""
    aggs = {(p, s): aggregate(rs) for p, by_set in all_results.items() for s, rs in by_set.items()}
    keys = TABLE_METRICS + (LLM_METRICS if any("llm_answers" in a for a in aggs.values()) else ())
    header = "| pipeline | set | n | " + " | ".join(keys) + " |"
    lines = [header, "|" + "---|" * (3 + len(keys))]
    for pname, by_set in all_results.items():
        for split, rs in by_set.items():
            agg = aggs[(pname, split)]
            cells = " | ".join(_fmt(agg[k], k) if k in agg else "-" for k in keys)
            lines.append(f"| {pname} | {split} | {len(rs)} | {cells} |")
    return "\n".join(lines)


def _fmt(value: float, key: str) -> str:
    if key in ("llm_answers", "llm_fallbacks"):
        return f"{value:.0f}"
    return f"{value:.1f}" if key.endswith("_ms") or key == "cited_words" else f"{value:.3f}"


def result_row(r: ItemResult) -> dict[str, Any]:
    """One line of results.jsonl: the answer with its verdicts."""
    return {
        "id": r.item.id,
        "split": r.item.split,
        "ok": r.ok,
        "kind": r.item.kind,
        "lang": r.item.lang,
        "persona": r.item.persona,
        "answerable": r.item.answerable,
        "abstained": r.answer.abstained,
        "rank": r.rank,
        "citation_hit": r.citation_hit,
        "citations_correct": r.citation_correct,
        "cited_policy": r.cited_policy,
        "fact_recall": r.fact_recall,
        "gold": [asdict(s) for s in r.item.sources],
        "answer": r.answer.to_json() | {"retrieved": [asdict(x) for x in r.answer.retrieved[:5]]},
    }
