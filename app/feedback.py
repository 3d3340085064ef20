"""Feedback on answers (thumbs up / down, a comment), kept in SQLite for review.

What a user typed is length-checked and redacted before it is written: the store never
holds a card number, an e-mail address or a phone number, whatever the user pasted; and
its bidi and control characters are kept escaped ("[U+202E]"), so an agent's table or an
export never shows reversed or hidden text. The answer text comes from the policies and is
kept as it is.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.answer import Answer
from app.errors import InputError
from app.redact import redact_text

log = logging.getLogger(__name__)

VIEWS = ("customer", "agent")
MAX_COMMENT_CHARS = 2000
MAX_QUESTION_CHARS = 10_000  # a backstop: the web app's own limit is lower (settings: max_question_chars)

# Bidi controls (they reorder what an agent reads) and C0/C1 controls but tab and line ends.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """The text with its bidi and control characters written out ("[U+202E]"): shown as they
    are, they would reverse or hide what an agent reads."""
    return _CONTROLS.sub(lambda m: f"[U+{ord(m.group(0)):04X}]", text)


def stored(field: str, text: str, limit: int) -> str:
    """A user's field as the store keeps it: checked against its limit (an `InputError` naming
    the field; the value is never read further), redacted, then made inert."""
    if len(text) > limit:
        raise InputError(f"{field} is over the {limit:,}-character limit")
    return inert(redact_text(text))


# What both tables hold: the exchange, redacted (a rating or the plain log adds its own columns).
_EXCHANGE = """id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL, view TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, clause_ids TEXT NOT NULL"""
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS feedback (
    {_EXCHANGE},
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)),
    comment TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS messages ({_EXCHANGE}, abstained INTEGER NOT NULL, confidence REAL,
    doc_id TEXT NOT NULL DEFAULT '');
"""
# Added after the first release: an older file gets them at its first connection.
_ADDED_COLUMNS = (("messages", "confidence", "REAL"), ("messages", "doc_id", "TEXT NOT NULL DEFAULT ''"))
# The insights read by period (app/insights/): a year of traffic must not be scanned for a week.
_INDEXES = """
CREATE INDEX IF NOT EXISTS messages_by_time ON messages (created_at);
CREATE INDEX IF NOT EXISTS feedback_by_time ON feedback (created_at);
"""

COLUMNS = ("id", "created_at", "view", "question", "answer", "clause_ids", "rating", "comment")


@dataclass(frozen=True)
class FeedbackRow:
    """One stored piece of feedback (question and comment already redacted)."""

    id: int
    created_at: str
    view: str
    question: str
    answer: str
    clause_ids: tuple[str, ...]
    rating: int
    comment: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """Append-only store of feedback and of the (redacted) conversation log: SQLite, the
    default, here; PostgreSQL for replicas sharing state (app/pgstate.py) overrides the
    two methods that speak SQL (`_insert`, `_select`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._ready = False

    def _insert(self, table: str, row: dict[str, object]) -> int:
        """Insert one row; its id."""
        sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"
        with closing(self._connect()) as conn, conn:
            return int(conn.execute(sql, tuple(row.values())).lastrowid or 0)

    def _select(self, sql: str) -> list[tuple[object, ...]]:
        """Rows of a query (none when nothing was ever stored)."""
        if not self.path.exists():
            return []
        with closing(self._connect()) as conn:
            return list(conn.execute(sql).fetchall())

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=10)
        if not self._ready:
            with self._lock:
                conn.executescript(_SCHEMA)
                for table, column, kind in _ADDED_COLUMNS:
                    if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                conn.executescript(_INDEXES)
                self._ready = True
        return conn

    def ensure_schema(self) -> None:
        """Create (or bring up to date) the tables now, before another reader queries them."""
        self._connect().close()

    def add(
        self,
        *,
        view: str,
        question: str,
        answer: str,
        clause_ids: Sequence[str],
        rating: int,
        comment: str = "",
    ) -> FeedbackRow:
        """Store one rating (+1 or -1). Question and comment are length-checked and redacted first."""
        if view not in VIEWS:
            raise InputError(f"feedback view must be one of {', '.join(VIEWS)}, not {view!r}")
        if rating not in (-1, 1):
            raise InputError(f"feedback rating must be +1 or -1, not {rating!r}")
        row: dict[str, object] = {
            "created_at": _now(), "view": view, "question": stored("question", question, MAX_QUESTION_CHARS),
            "answer": answer, "clause_ids": json.dumps(list(clause_ids)), "rating": rating,
            "comment": stored("comment", comment.strip(), MAX_COMMENT_CHARS),
        }  # fmt: skip
        new_id = self._insert("feedback", row)
        log.info("feedback %+d on %s answer to %r", rating, view, str(row["question"])[:200])
        return FeedbackRow(new_id, str(row["created_at"]), view, str(row["question"]), answer, tuple(clause_ids),
                           rating, str(row["comment"]))  # fmt: skip

    def log_message(
        self, *, view: str, question: str, answer: str, clause_ids: Sequence[str], abstained: bool,
        confidence: float | None = None, doc_id: str = "",
    ) -> None:
        """Keep a question and its answer for review; the question is length-checked and redacted first.
        `confidence` and `doc_id` (the policy it drew on) let the insights find weak answers by policy."""
        row: dict[str, object] = {
            "created_at": _now(), "view": view, "question": stored("question", question, MAX_QUESTION_CHARS),
            "answer": answer, "clause_ids": json.dumps(list(clause_ids)), "abstained": bool(abstained),
            "confidence": confidence, "doc_id": doc_id,
        }  # fmt: skip
        self._insert("messages", row)

    def record_exchange(self, view: str, question: str, answer: Answer) -> None:
        """Keep a question and the answer it got (text, cited clauses, abstention)."""
        self.log_message(
            view=view,
            question=question,
            answer=answer.answer,
            clause_ids=[c.clause_id for c in answer.citations],
            abstained=answer.abstained,
            confidence=answer.confidence,
            # The policy it drew on: the cited one, else the best match (the chosen policy, when one was).
            doc_id=next(iter([c.doc_id for c in answer.citations] + [r.doc_id for r in answer.retrieved]), ""),
        )

    def rows(self) -> list[FeedbackRow]:
        """All feedback, oldest first."""
        return [_row(r) for r in self._select(f"SELECT {', '.join(COLUMNS)} FROM feedback ORDER BY id")]

    def messages(self) -> Iterator[dict[str, object]]:
        """The conversation log, oldest first."""
        columns = "created_at, view, question, answer, clause_ids, abstained"
        rows = self._select(f"SELECT {columns} FROM messages ORDER BY id")
        for created_at, view, question, answer, clause_ids, abstained in rows:
            yield {"created_at": created_at, "view": view, "question": question, "answer": answer,
                   "clause_ids": json.loads(str(clause_ids)), "abstained": bool(abstained)}

    def export_csv(self, target: Path | None = None) -> str:
        """All feedback as CSV (clause ids joined by spaces); written to `target` if given."""
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(COLUMNS)
        for r in self.rows():
            writer.writerow([r.id, r.created_at, r.view, _cell(r.question), _cell(r.answer), " ".join(r.clause_ids),
                             r.rating, _cell(r.comment)])
        text = buf.getvalue()
        if target is not None:
            target.write_text(text, encoding="utf-8")
        return text

    def export_jsonl(self, target: Path | None = None) -> str:
        """All feedback as JSON Lines; written to `target` if given."""
        text = "".join(json.dumps(asdict(r), ensure_ascii=False) + "\n" for r in self.rows())
        if target is not None:
            target.write_text(text, encoding="utf-8")
        return text


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run: one starting with = + - @, a tab or a carriage
    return (what a customer typed, "=HYPERLINK(…)") is prefixed with an apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(r: tuple[object, ...]) -> FeedbackRow:
    id_, created_at, view, question, answer, clause_ids, rating, comment = r
    # Rows stored before controls were escaped are made inert as they are read.
    return FeedbackRow(int(str(id_)), str(created_at), str(view), inert(str(question)), str(answer),
                       tuple(json.loads(str(clause_ids))), int(str(rating)), inert(str(comment)))
