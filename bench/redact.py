"""What redaction costs: adversarial questions of a given length, and the redaction corpus.

    .venv/bin/python bench/redact.py                  # 2,000-character adversarial set + corpus
    .venv/bin/python bench/redact.py --length 4000 --repeats 50 --json
    .venv/bin/python bench/redact.py --scaling        # the same set at 500 … 8,000 characters
    .venv/bin/python bench/redact.py --clock cpu      # CPU time: a shared machine's preemption left out

Redaction runs on every question before the rate limit, so its worst case is what one client
can make every other client wait (issue 22: "1 " × 1,000 took 12.7 s with the old pair search).
Each input is redacted `--repeats` times after one warm-up call (lazy imports, phonenumbers'
metadata, the character cache); the table gives p50 and max per input in milliseconds, the
summary p50, p95 and max over all calls (on a shared machine the max is mostly the scheduler's).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.redact import redact, warm_up  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "redaction" / "corpus.jsonl"

# name -> a unit that is repeated up to the length; each aims at one rule's worst case.
ADVERSARIAL: dict[str, str] = {
    "digit-space": "1 ",
    "digit-hyphen": "1-",
    "digit-mixed-separators": "1 1-1.1/1,1~1 -- 1....1 • 1+1#1=1'1\\1;1\n    ",
    "pairs": "11 ",
    "triples": "111 ",
    "card-blocks": "4111 ",
    "digit-run": "1",
    "long-groups-wide-separators": "123456 -- ",
    "plus-digits": "+1 ",
    "plus-long": "+4420794609581234567890 ",
    "parentheses": "(12) ",
    "a-at": "a@",
    "dots-at": "a.a@b.",
    "quotes": '"a',
    "quoted-local": '"' + "x" * 60 + '"@',
    "spelled-at": "a (at) b (dot) ",
    "iban-like": "DE89 3704 0044 0532 0130 00 ",
    "iban-letters": "DE00 AAAA ",
    "label-spaces": "passport number" + " " * 40,
    "fullwidth-digits": "４１１１　",
    "arabic-digits": "٤١١١ ",
    "cjk-email": "我@例子。",
    "dates": "2024-01-15 ",
    "nino-like": "AB 12 34 56 ",
    "real-cards": "4111 1111 1111 1111 ",
    "real-phones": "+44 20 7946 0958 ",
    "national-phones": "212-555-0187, ",
    "real-emails": "jane.doe@example.com ",
    "combining-marks": "e\u0301@x\u0301.",
    "invisible-digits": "4\u200b1\u200b1\u200b1\u200b ",
}


def adversarial(length: int) -> dict[str, str]:
    return {name: (unit * (length // len(unit) + 1))[:length] for name, unit in ADVERSARIAL.items()}


def corpus() -> dict[str, str]:
    with CORPUS.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {f"corpus-{i:03d}": row["text"] for i, row in enumerate(rows)}


def timings(
    texts: dict[str, str], repeats: int, redactor: Callable[[str], object] = redact, clock: str = "wall"
) -> dict[str, list[float]]:
    """Milliseconds per call, ``repeats`` calls per input after one warm-up call. The collector
    is paused while the clock runs: its pauses belong to whatever allocated before. The "cpu"
    clock counts this thread's CPU time only, without the time the scheduler gave to others."""
    out = {}
    now = time.thread_time if clock == "cpu" else time.perf_counter
    gc.collect()
    gc.disable()
    try:
        for name, text in texts.items():
            out[name] = _runs(redactor, text, repeats, now)
    finally:
        gc.enable()
    return out


def _runs(redactor: Callable[[str], object], text: str, repeats: int, now: Callable[[], float]) -> list[float]:
    redactor(text)
    runs = []
    for _ in range(repeats):
        started = now()
        redactor(text)
        runs.append((now() - started) * 1000)
    return runs


def summary(runs: dict[str, list[float]]) -> dict[str, float]:
    """Over all calls of all inputs: p50, p95 and max; and the slowest input's own p50."""
    calls = sorted(t for r in runs.values() for t in r)
    return {
        "inputs": len(runs),
        "calls": len(calls),
        "p50_ms": round(calls[len(calls) // 2], 3),
        "p95_ms": round(calls[int(len(calls) * 0.95)], 3),
        "max_ms": round(calls[-1], 3),
        "worst_input_p50_ms": round(max(statistics.median(r) for r in runs.values()), 3),
    }


def table(runs: dict[str, list[float]]) -> str:
    lines = [f"{'input':<32} {'p50 ms':>8} {'max ms':>8}"]
    for name, r in sorted(runs.items(), key=lambda kv: -statistics.median(kv[1])):
        lines.append(f"{name:<32} {statistics.median(r):>8.3f} {max(r):>8.3f}")
    return "\n".join(lines)


def scaling(repeats: int, clock: str) -> list[dict[str, float]]:
    """p50 of the slowest adversarial input at each length, and its ratio to the first length."""
    rows = []
    for length in (500, 1000, 2000, 4000, 8000):
        runs = timings(adversarial(length), repeats, clock=clock)
        worst = max(statistics.median(r) for r in runs.values())
        rows.append({"length": length, "worst_p50_ms": worst})
    for row in rows:
        row["ratio_to_500"] = row["worst_p50_ms"] / rows[0]["worst_p50_ms"]
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=2000, help="characters per adversarial input")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--scaling", action="store_true", help="worst p50 at 500 … 8,000 characters")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall", help="cpu: without the time others ran")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    warm_up()  # what a server does at start (app.redact.warm_up)
    if args.scaling:
        rows = scaling(args.repeats, args.clock)
        print(json.dumps(rows) if args.json else "\n".join(f"{r}" for r in rows))
        return 0
    hostile = timings(adversarial(args.length), args.repeats, clock=args.clock)
    plain = timings(corpus(), args.repeats, clock=args.clock)
    result = {f"adversarial_{args.length}": summary(hostile), "corpus": summary(plain)}
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"adversarial inputs of {args.length} characters, {args.repeats} runs each, {args.clock} clock")
    print(f"{table(hostile)}\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
