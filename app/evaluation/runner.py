"""`privacy-assistant eval`: run eval sets through the pipelines, score, report.

The command on top of the evaluation library: it builds what is evaluated (the assistant,
called exactly as `ask --batch` calls it, the LLM answerer, baselines, ablation variants),
runs each through app.evaluation.scoring and prints or writes the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from app.assistant import Assistant, AssistantConfig
from app.embedding import SentenceTransformerEmbedder
from app.errors import InputError
from app.evaluation.baselines import BASELINES, make_baseline
from app.evaluation.calibrate import best_thresholds
from app.evaluation.choosers import RulesChooser
from app.evaluation.dataset import DEFAULT_SETS, EvalItem, load_eval_set
from app.evaluation.intent_model import IntentFigures, intent_figures, intent_flat
from app.evaluation.report import write_report
from app.evaluation.robustness import Robust, robust_flat, robustness_section, run_robustness
from app.evaluation.scoring import ItemResult, Pipeline, answerer_pipeline, flatten, run, summary_table
from app.evaluation.variants import VARIANTS, make_variant
from app.index import build_index
from app.llm import LLMConfig, answerer_from_config
from app.stages import Answerer


def run_cli(args: argparse.Namespace) -> int:
    """`privacy-assistant eval`: ensure the index, run the sets, print/write the report."""
    datasets = args.dataset or [p for p in DEFAULT_SETS if p.exists()]
    if not datasets:
        raise InputError("eval: no eval set given (--dataset FILE) and none found in evals/")
    llm_config = _llm_config(args)
    known = (*VARIANTS, *BASELINES)
    unknown = [b for b in args.baseline if b not in known]
    if unknown:
        raise InputError(f"eval --baseline: unknown {', '.join(unknown)} (known: {', '.join(known)})")
    sets = {Path(p).stem: _held_out(load_eval_set(Path(p)), args.held_out)[: args.limit] for p in datasets}
    embedder = SentenceTransformerEmbedder.from_settings(args.settings)
    summary = build_index(args.documents, args.index, embedder, ann_threshold=args.settings.ann_threshold)
    if not summary.up_to_date:
        print(f"index built: {sum(summary.documents.values())} clauses in {summary.seconds:.1f} s", file=sys.stderr)
    config = AssistantConfig.from_settings(args.settings)  # its limits and reader, as `ask` has them
    if args.calibrate:
        rules = RulesChooser(abstain_below=(0.0, 0.0))  # the thresholds it reads are what is calibrated
        return _calibrate(Assistant(embedder, args.index, config, chooser=rules), sets)
    assistant = Assistant(embedder, args.index, config)
    assistant.warm_up()
    all_results: dict[str, dict[str, list[ItemResult]]] = {}
    for pname, pipeline in _pipelines(args, assistant, embedder, llm_config).items():
        embedder.clear_cache()  # each pipeline pays for its own question encoding
        all_results[pname] = {s: run(items, pipeline, desc=f"{pname}:{s}") for s, items in sets.items()}
    robust: dict[str, dict[str, Robust]] = {}
    if args.robustness if args.robustness is not None else not args.dataset:  # on for the default sets
        embedder.clear_cache()
        robust = run_robustness(sets, answerer_pipeline(assistant), assistant.snapshot().catalog)
    intent = intent_figures(embedder) if args.intent else IntentFigures(skipped="--no-intent")
    _report(args, all_results, robust, intent)
    return 0


def _report(
    args: argparse.Namespace,
    all_results: dict[str, dict[str, list[ItemResult]]],
    robust: dict[str, dict[str, Robust]],
    intent: IntentFigures,
) -> None:
    """The flat dict (stdout with --json) or the tables, and report.md with --out."""
    flat = flatten(all_results) | robust_flat(robust, all_results["assistant"]) | intent_flat(intent)
    if args.json:
        print(json.dumps(flat, ensure_ascii=False))
    else:
        print(summary_table(all_results))
        if robust:
            print("\n" + robustness_section(robust, all_results["assistant"]))
    if args.out:
        command = " ".join(["privacy-assistant", *sys.argv[1:]])
        write_report(args.out, all_results, flat, command=command, robust=robust, intent=intent)
        print(f"report written to {args.out}/report.md", file=sys.stderr)


def _pipelines(
    args: argparse.Namespace, assistant: Assistant, embedder: SentenceTransformerEmbedder, llm_config: LLMConfig | None
) -> dict[str, Pipeline]:
    """What is evaluated, by name: the assistant, the LLM answerer, then each `--baseline`."""
    pipelines: dict[str, Pipeline] = {"assistant": answerer_pipeline(assistant)}
    llm = answerer_from_config(assistant, llm_config)
    if llm is not None:
        pipelines["llm"] = answerer_pipeline(llm)
    for name in args.baseline:
        if name in VARIANTS:
            variant = make_variant(name, args.settings, embedder)
            variant.warm_up()
            pipelines[name] = answerer_pipeline(variant)
        else:
            pipelines[name] = make_baseline(name, assistant, embedder)
    return pipelines


def _held_out(items: list[EvalItem], held_out: Path | None) -> list[EvalItem]:
    """With ``--held-out MODEL_DIR``: only the items about policies that model never saw in
    training (its training.json lists them)."""
    if held_out is None:
        return items
    record = held_out / "training.json" if held_out.is_dir() else held_out
    try:
        policies = set(json.loads(record.read_text(encoding="utf-8"))["held_out_policies"])
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"eval --held-out: {record} lists no held_out_policies ({exc})") from None
    kept = [i for i in items if (i.filters.get("doc_id") or i.doc) in policies]
    if not kept:
        raise InputError(f"eval --held-out: no item of the set is about a policy held out in {record}")
    return kept


def _llm_config(args: argparse.Namespace) -> LLMConfig | None:
    """With `--llm`, the configured server (a usage error when there is none)."""
    if not getattr(args, "llm", False):
        return None
    config = LLMConfig.from_settings(args.settings)
    if config is None:
        raise InputError("eval --llm: no LLM server configured (--llm-base-url or PRIVACY_ASSISTANT_LLM_BASE_URL)")
    return config


def _calibrate(assistant: Answerer, sets: dict[str, list[EvalItem]]) -> int:
    """`eval --calibrate`: per set and language, the abstention threshold that is most often right."""
    for name, items in sets.items():
        results = run(items, answerer_pipeline(assistant), desc=f"calibrate:{name}")
        for lang, (threshold, accuracy) in best_thresholds(results).items():
            print(f"{name}\t{lang}\tabstain_below={threshold:.4f}\tright={accuracy:.3f}")
    return 0
