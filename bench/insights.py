"""How long the insights report takes over a year of traffic: seeds N synthetic exchanges
(default 100,000, over 365 days) into SQLite and into a real PostgreSQL server (Debian's
binaries, as tests/cluster.py starts them), then times `build_report` with the index's
encoder. Prints one row per database: seeding time, report time (cold: the encoder's first
load is timed apart), how many distinct questions needed grouping and how many were grouped.

    .venv/bin/python bench/insights.py                       # both databases, 100,000 exchanges
    .venv/bin/python bench/insights.py --exchanges 20000 --backends sqlite

The questions are made from templates of our own (topics the notices answer and topics they
do not, with varied wording and filler), never from evals/."""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.insights.corrections import SQLITE_SCHEMA  # noqa: E402
from app.sqldb import Database, PostgresDatabase, SqliteDatabase  # noqa: E402

DOCS = ("cartier-privacy-policy-2024", "cartier-us-privacy-policy-2010", "cartier-china-privacy-policy-2023",
        "cartier-conditions-of-sale", "harry-winston-privacy-policy-2015")  # fmt: skip
# Topics the notices answer (mostly answered) and topics they do not (mostly referred).
COVERED = {
    "retention": ["How long do you keep my {data}?", "For how long is my {data} retained?",
                  "When is my {data} deleted?"],
    "selling": ["Do you sell my {data}?", "Is my {data} sold to other companies?", "Do you share my {data} for money?"],
    "cookies": ["What cookies does the website use?", "How do I turn off cookies?", "Do you track me with cookies?"],
    "access": ["How can I get a copy of my {data}?", "Can I see the {data} you hold about me?"],
    "transfer": ["Is my {data} sent abroad?", "Do you transfer my {data} to other countries?"],
}
UNCOVERED = {
    "repair": ["How do I get my watch repaired?", "Where can I send my watch for servicing?",
               "Who fixes a broken watch strap?"],
    "giftcards": ["Do you sell gift cards?", "Can I buy a gift card online?", "How do I redeem a gift voucher?"],
    "crypto": ["Do you accept bitcoin?", "Can I pay with cryptocurrency?", "Is crypto accepted for payment?"],
    "jobs": ["How do I apply for a job at your boutique?", "Where can I send my job application?"],
    "hours": ["What are your boutique opening hours?", "When is the store open on Sunday?"],
}  # fmt: skip
DATA_WORDS = ("data", "personal data", "personal information", "details", "information")
FILLER = ("", "", "", " please", " thanks", " Thank you!", " I need to know", " asap", " (asking for my wife)")


OPENERS = ("", "", "Hi, ", "Hello! ", "Quick question: ", "Dear team, ", "Good morning. ")
ABOUT = ("", "", "", " I bought a ring last year.", " It is about my watch.", " My account is in my husband's name.",
         " I live abroad.", " I placed an order online.")  # fmt: skip


def question(rng: random.Random, topics: dict[str, list[str]]) -> str:
    """One customer's wording: a template of a topic, with an opener, context, filler and maybe an order number."""
    template = rng.choice(rng.choice(list(topics.values())))
    text = rng.choice(OPENERS) + template.format(data=rng.choice(DATA_WORDS)) + rng.choice(ABOUT) + rng.choice(FILLER)
    return text if rng.random() > 0.3 else f"{text} (order {rng.randrange(10_000)})"


def clause_ids() -> dict[str, list[str]]:
    """The built index's clause ids by policy (made-up ones where no index is built)."""
    path = ROOT / "index" / "current" / "clauses.jsonl"
    found: dict[str, list[str]] = {doc: [] for doc in DOCS}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            found.setdefault(row["doc_id"], []).append(row["clause_id"])
    return {doc: ids or [f"{doc}:section-{k}:1" for k in range(40)] for doc, ids in found.items() if doc in DOCS}


def exchanges(n: int, days: int = 365, seed: int = 7) -> Iterator[tuple[object, ...]]:
    """(created_at, view, question, answer, clause_ids, abstained, confidence, doc_id) rows."""
    rng = random.Random(seed)
    cited = {doc: ids[:40] for doc, ids in clause_ids().items()}  # a policy's answers cite a few clauses often
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(n):
        at = (start + timedelta(seconds=int(i * days * 86_400 / n))).isoformat(timespec="seconds")
        doc = rng.choice(DOCS)
        if rng.random() < 0.2:
            q = question(rng, UNCOVERED)
            yield at, "customer", q, "The notices do not say.", "[]", True, round(rng.random() * 0.2, 3), doc
        else:
            q = question(rng, COVERED)
            clauses = json.dumps([rng.choice(cited[doc])])
            confidence = round(1 - 0.8 * rng.random() ** 4, 3)  # most answers sure, one in six under 0.5
            yield at, rng.choice(("customer", "agent")), q, "Answer [1].", clauses, False, confidence, doc


def ratings(n: int, seed: int = 8) -> Iterator[tuple[object, ...]]:
    """(created_at, view, question, answer, clause_ids, rating, comment): one rating per 30 exchanges."""
    for row in list(exchanges(n, seed=seed))[:: 30]:
        at, view, q, answer, clauses, abstained, confidence, _ = row
        yield at, view, q, answer, clauses, -1 if abstained or float(str(confidence)) < 0.4 else 1, ""


MESSAGE_COLUMNS = "created_at, view, question, answer, clause_ids, abstained, confidence, doc_id"
FEEDBACK_COLUMNS = "created_at, view, question, answer, clause_ids, rating, comment"


def seed_sqlite(path: Path, n: int) -> None:
    import sqlite3
    from contextlib import closing

    from app.feedback import FeedbackStore

    FeedbackStore(path).ensure_schema()  # the store's own tables and indexes
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executemany(f"INSERT INTO messages ({MESSAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", exchanges(n))
        conn.executemany(f"INSERT INTO feedback ({FEEDBACK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", ratings(n))


def seed_postgres(pool: Any, n: int) -> None:
    with pool.connection() as conn, conn.cursor() as cur:
        with cur.copy(f"COPY messages ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
            for row in exchanges(n):
                copy.write_row(row)
        with cur.copy(f"COPY feedback ({FEEDBACK_COLUMNS}) FROM STDIN") as copy:
            for row in ratings(n):
                copy.write_row(row)
        cur.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"])
    parser.add_argument("--since", default="", help="report from this day only (default: the whole year)")
    args = parser.parse_args()

    from app.embedding import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    started = time.perf_counter()
    embedder.embed_texts(["warm up"])
    print(f"encoder loaded in {time.perf_counter() - started:.1f} s ({embedder.spec})", flush=True)
    print("| database | exchanges | seed s | report s | of which without the encoder s | needing a look | distinct "
          "| grouped | groups |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for backend in args.backends:
        print(_run(backend, args.exchanges, embedder, args.since), flush=True)


def _run(backend: str, n: int, embedder: Any, since: str) -> str:
    from app.insights.queries import Scope
    from app.insights.report import build_report

    scope = Scope(since=date.fromisoformat(since) if since else None)
    with tempfile.TemporaryDirectory(prefix="pa-insights-") as work, _database(backend, Path(work)) as db:
        started = time.perf_counter()
        if isinstance(db, SqliteDatabase):
            seed_sqlite(db.path, n)
        else:
            assert isinstance(db, PostgresDatabase)
            seed_postgres(db.pool, n)
        seeded = time.perf_counter() - started
        report = build_report(db, scope, embedder.embed_texts)
        # The same report with a stand-in encoder (random unit vectors): the database's and the clustering's share.
        bare = build_report(db, scope, lambda texts: np.random.default_rng(0).standard_normal((len(texts), 384)))
        return (f"| {backend} | {report.exchanges:,} | {seeded:.1f} | {report.seconds:.2f} | {bare.seconds:.2f} "
                f"| {report.attention:,} | {report.distinct_questions:,} | {report.grouped_questions:,} "
                f"| {len(report.groups)} |")


@contextmanager
def _database(backend: str, work: Path) -> Iterator[Database]:
    """An empty database of the store's schema: a SQLite file, or a fresh PostgreSQL server."""
    if backend == "sqlite":
        yield SqliteDatabase(work / "feedback.sqlite3", SQLITE_SCHEMA)
        return
    from app.pgstate import connect
    from tests.cluster import postgres

    with postgres() as url:
        pool = connect(url)  # migrated: the store's tables, the corrections and the indexes
        try:
            yield PostgresDatabase(pool)
        finally:
            pool.close()


if __name__ == "__main__":
    main()
