"""Evaluation, a library below the `privacy-assistant eval` command.

- dataset.py    eval sets in the contract's JSON Lines format
- metrics.py    pure metric functions (gold labels and a system's output in, numbers out)
- scoring.py    answers → per-item verdicts → the flat metrics dict, breakdowns, tables, rows
- report.py     `eval --out DIR`: report.md, results.jsonl, plots
- calibrate.py  the abstention thresholds, replayed from answers' confidence
- baselines.py  reference pipelines (dense, BM25, llama-index's defaults)
- variants.py   the ablation: the assistant with each learned part swapped out
- perturb.py    the questions re-asked with typos, plain typing, or as a chat follow-up
- robustness.py the assistant on the perturbed questions, beside its clean figures
- intent_model.py  the intent model's own figures, when one ships
- runner.py     the `eval` command: builds what is evaluated, scores it, reports
"""
