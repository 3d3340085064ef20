"""`privacy-assistant insights`: the Insights tab's report on the command line (a summary
table, or the JSON), written with its plot to a folder for a weekly e-mail; and the agents'
corrections written out as eval-set lines (`--export-eval FILE`)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.errors import InputError

if TYPE_CHECKING:
    from app.settings import Settings
    from app.sqldb import Database

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """The `insights` command, registered with the function that runs it."""
    from app.insights.queries import Scope
    from app.insights.report import CAP

    insights = sub.add_parser("insights", help="what the notices do not answer, and the answers agents corrected")
    insights.add_argument("--since", type=_day, metavar="DATE", help="first day (YYYY-MM-DD, UTC; default: all)")
    insights.add_argument("--until", type=_day, metavar="DATE", help="last day, included (default: today)")
    insights.add_argument("--doc-id", default="", help="one policy only (default: all)")
    insights.add_argument("--out", type=Path, help="write summary.txt, report.json, CSV files and volume.png here")
    insights.add_argument("--json", action="store_true", help="print the report as JSON")
    insights.add_argument("--export-eval", type=Path, metavar="FILE",
                          help="write the agents' corrections as eval-set lines (JSON Lines) and stop, "
                          "unless --out or --json asks for the report too")  # fmt: skip
    insights.add_argument("--low-confidence", type=float, default=Scope().low_confidence, metavar="P",
                          help="an answer under this confidence counts as weak (default: %(default)s)")  # fmt: skip
    insights.add_argument("--cap", type=int, default=CAP, help="distinct questions grouped at most; a stratified "
                          "sample over it (default: %(default)s)")  # fmt: skip
    insights.set_defaults(run=run_cli)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def run_cli(args: argparse.Namespace) -> int:
    """Run `insights` with the parsed arguments (`args.settings`: the resolved settings)."""
    from app.insights.corrections import CorrectionStore, export_eval
    from app.insights.queries import Scope

    if args.since and args.until and args.since > args.until:
        raise InputError(f"insights: --since {args.since} is after --until {args.until}")
    if args.cap < 2:
        raise InputError(f"insights: --cap must be at least 2, not {args.cap}")
    if not 0 <= args.low_confidence <= 1:
        raise InputError(f"insights: --low-confidence must be between 0 and 1, not {args.low_confidence}")
    db = open_database(args.settings)
    if args.export_eval:
        written = export_eval(CorrectionStore(db).all(), args.export_eval)
        print(f"wrote {written} eval line(s) to {args.export_eval}", file=sys.stderr)
        if not (args.out or args.json):
            return 0
    scope = Scope(args.since, args.until, args.doc_id, args.low_confidence)
    report = _report(args.settings, db, scope, args.cap)
    _show(report, args)
    return 0


def open_database(settings: Settings) -> Database:
    """The feedback store's database the settings name: PostgreSQL (`database_url`) or the SQLite file."""
    if settings.database_url:
        from app.pgstate import connect
        from app.sqldb import PostgresDatabase

        return PostgresDatabase(connect(settings.database_url, max_size=2))
    if not settings.feedback_db.is_file():
        raise InputError(f"insights: no feedback database at {settings.feedback_db} (feedback_db setting)")
    from app.feedback import FeedbackStore
    from app.insights.db import database_of

    return database_of(FeedbackStore(settings.feedback_db))


def _report(settings: Settings, db: Database, scope: Any, cap: int) -> Any:
    from app.embedding import SentenceTransformerEmbedder
    from app.insights.report import build_report

    embedder = SentenceTransformerEmbedder.from_settings(settings)  # the encoder the index is built with
    return build_report(db, scope, embedder.embed_texts, cap=cap)


def _show(report: Any, args: argparse.Namespace) -> None:
    from app.insights.export import report_json, summary, write_folder

    if args.out:
        written = write_folder(report, args.out)
        print(f"wrote {', '.join(p.name for p in written)} to {args.out}", file=sys.stderr)
    sys.stdout.write(report_json(report) if args.json else summary(report))
