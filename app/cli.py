"""The `privacy-assistant` command: parse, call the library, report errors in one line."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import AssistantError, IndexNotReady, InputError
from app.jsonl import read_objects
from app.settings import ENV_CONFIG, KNOBS, Settings, prepare_runtime, quiet_libraries

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.llm import LLMAnswerer

log = logging.getLogger("app")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(f"{self.prog}: {message}")


def _parser() -> argparse.ArgumentParser:
    """The command line: each command registered with the function that runs it (``run``),
    and the settings' flags generated from their declaration (app/settings.py)."""
    parser = _Parser(prog="privacy-assistant", description=__doc__)
    _setting_flags(parser, "")
    parser.add_argument("--config", type=Path, help=f"a TOML settings file (default: ${ENV_CONFIG})")
    parser.add_argument("--verbose", "-v", action="store_true", help="log diagnostics on stderr")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    _command(sub, "ingest", _ingest, "build or update the index from the documents")

    ask = _command(sub, "ask", _ask, "answer one question, or a batch")
    ask.add_argument("question", nargs="?", help="the question")
    ask.add_argument("--doc-id", help="answer only from this document")
    ask.add_argument("--batch", type=Path, help="JSON Lines file of questions; one answer per line")
    ask.add_argument("--json", action="store_true", help="print the contract's JSON answer")
    ask.add_argument("--no-llm", action="store_true", help="extractive answers even when an LLM is configured")

    serve = _command(sub, "serve", _serve, "the web app (agent console and customer chat)")
    serve.add_argument("--no-llm", action="store_true", help="extractive answers even when an LLM is configured")

    ev = _command(sub, "eval", _eval, "score the assistant on an eval set")
    ev.add_argument("--dataset", type=Path, action="append", help="eval set (JSON Lines); repeatable")
    ev.add_argument("--out", type=Path, help="write report.md, results.jsonl and plots here")
    ev.add_argument("--json", action="store_true", help="print one flat JSON dict of metrics")
    ev.add_argument("--baseline", action="append", default=[], help="also run a reference pipeline")
    ev.add_argument("--limit", type=int, help="score only the first N items of each set")
    ev.add_argument(
        "--held-out", type=Path, metavar="MODEL_DIR", help="only items about policies the model was not trained on"
    )
    ev.add_argument("--calibrate", action="store_true", help="print the abstention thresholds that fit the set best")
    ev.add_argument(
        "--robustness",
        action=argparse.BooleanOptionalAction,
        help="also re-ask each set with typos, plain typing and as a chat follow-up (default: on for the default sets)",
    )
    ev.add_argument(
        "--intent", action=argparse.BooleanOptionalAction, default=True, help="report the intent model's figures"
    )
    ev.add_argument("--llm", action="store_true", help="also score the LLM answerer, beside the extractive one")

    from app.training.cli import add_parser

    add_parser(sub)
    sub.choices["train"].set_defaults(run=_train)
    from app.insights.cli import add_parser as add_insights

    add_insights(sub)
    from app.api.cli import add_parser as add_keys

    add_keys(sub)  # `keys create|list|revoke` (it sets its own `run`)
    return parser


def _command(sub: Any, name: str, run: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
    """A subcommand that ``run`` carries out, with the flags of the settings it takes."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help)
    parser.set_defaults(run=run)
    _setting_flags(parser, name)
    return parser


def _setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of the settings that ``command`` takes ("": those given before any command),
    as declared in app/settings.py; a flag not given is None, so that it does not override."""
    knobs = [k for k in KNOBS if k.flag and ((command in k.on) if command else not k.on)]
    if not knobs:
        return
    group = parser.add_argument_group("settings (each also an environment variable or a --config entry)")
    for knob in knobs:
        default = f"; default: {knob.default}" if knob.default not in ("", None) else ""
        group.add_argument(
            knob.flag,
            dest=knob.name,
            metavar=knob.flag.rsplit("-", 1)[-1].upper(),
            help=f"{knob.help} (${knob.env}{default})".replace("%", "%%"),
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: the one place where settings are read."""
    prepare_runtime()
    try:
        args = _parser().parse_args(argv)
        logging.basicConfig(
            level=logging.INFO if args.verbose else logging.WARNING,
            format="%(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
        if not args.verbose:
            _quiet_libraries()
        flags = {k.name: getattr(args, k.name, None) for k in KNOBS if k.flag}
        args.settings = settings = Settings.load(flags, config=args.config)
        args.documents, args.index = settings.documents, settings.index
        for name, value, source in settings.describe():
            log.info("setting %s = %s (%s)", name, value, source)
        return int(args.run(args))
    except (InputError, IndexNotReady) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AssistantError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _quiet_libraries() -> None:
    quiet_libraries()
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _train(args: argparse.Namespace) -> int:
    from app.training.cli import run_cli

    return run_cli(args)


def _ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.embedding import SentenceTransformerEmbedder
    from app.index import build_index

    bar: tqdm[Any] | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, desc="embedding", unit="text", file=sys.stderr)
        bar.update(done - bar.n)

    print(f"ingesting {args.documents} into {args.index}", file=sys.stderr)
    settings = args.settings
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    summary = build_index(
        args.documents, args.index, embedder, progress=progress, ann_threshold=settings.ann_threshold
    )
    if bar is not None:
        bar.close()
    if summary.up_to_date:
        print(
            f"index up to date: {len(summary.documents)} documents, {sum(summary.documents.values())} clauses "
            f"({summary.seconds:.1f} s)"
        )
        return EXIT_OK
    width = max(len(d) for d in summary.documents)
    for doc_id, count in summary.documents.items():
        mark = " (changed)" if doc_id in summary.changed else ""
        print(f"  {doc_id:<{width}}  {count:>4} clauses{mark}")
    for doc_id in summary.removed:
        print(f"  {doc_id:<{width}}  removed")
    print(
        f"{len(summary.documents)} documents, {sum(summary.documents.values())} clauses; "
        f"embedded {summary.embedded} texts, reused {summary.reused}; {summary.seconds:.1f} s → {summary.path}"
    )
    return EXIT_OK


def _ask(args: argparse.Namespace) -> int:
    from app.assistant import Assistant

    if args.batch and args.question:
        raise InputError("ask: give either a QUESTION or --batch FILE, not both")
    if not args.batch and args.question is None:
        raise InputError("ask: a QUESTION (or --batch FILE) is required")
    filters = {"doc_id": args.doc_id} if args.doc_id else {}
    assistant = Assistant.from_settings(args.settings)
    llm = None if args.no_llm else llm_answerer(args, assistant)
    ask = llm.ask if llm is not None else assistant.ask
    if args.doc_id:
        assistant.check_filters(filters)
    if args.batch:
        if not args.batch.is_file():
            raise InputError(f"{args.batch}: batch file not found")
        assistant.warm_up()  # one model load, before the first question's clock starts
    else:
        answer = ask(args.question, filters)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) if args.json else answer.render_text())
        return EXIT_OK
    for item in read_batch(args.batch):
        if args.doc_id and not item.get("filters"):
            item["filters"] = filters
        answer = ask(item["question"], item.get("filters") or {}, qid=item["id"])
        line = answer.to_json() if args.json else {"id": item["id"], "answer": answer.answer}
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return EXIT_OK


def read_batch(path: Path) -> Iterator[dict[str, Any]]:
    """Lines of a batch file, validated one by one (errors name the line and field)."""
    for number, (where, item) in enumerate(read_objects(path), 1):
        if not isinstance(item.get("question"), str):
            raise InputError(f"{where}: field 'question' (a string) is required")
        item.setdefault("id", f"line{number}")
        if not isinstance(item["id"], str | int):
            raise InputError(f"{where}: field 'id' must be a string")
        item["id"] = str(item["id"])
        if not isinstance(item.get("filters", {}), dict | None):
            raise InputError(f"{where}: field 'filters' must be an object")
        yield item


def _serve(args: argparse.Namespace) -> int:
    from app.assistant import Assistant
    from app.redact import warm_up as redaction_warm_up
    from app.web import launch

    assistant = Assistant.from_settings(args.settings)
    llm = None if args.no_llm else llm_answerer(args, assistant)
    assistant.warm_up()
    redaction_warm_up()  # phone metadata and the IBAN registry, before the first customer pays for them
    launch(assistant, args.settings, llm=llm)
    return EXIT_OK


def llm_answerer(args: argparse.Namespace, assistant: Assistant) -> LLMAnswerer | None:
    """The LLM answerer when a server is configured (flags, then environment); else None."""
    from app.llm import LLMConfig, answerer_from_config

    config = LLMConfig.from_settings(args.settings)
    if config is None and args.llm_model:
        raise InputError("--llm-model: no LLM server configured (--llm-base-url or PRIVACY_ASSISTANT_LLM_BASE_URL)")
    if config is not None:
        log.info("LLM answers from %s", config.base_url)
    return answerer_from_config(assistant, config)


def _eval(args: argparse.Namespace) -> int:
    from app.evaluation.runner import run_cli

    return run_cli(args)


if __name__ == "__main__":
    sys.exit(main())
