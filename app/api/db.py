"""Where the API keeps its state: the SQLite file of the feedback (one process) or the shared
PostgreSQL database (replicas), behind one small interface so that the key store and the
answer log hold one copy of their SQL. PostgreSQL's tables come from the migrations
(app/migrations/0002_api_keys.sql); SQLite's are created here on first use, like the feedback's."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]

# The tables of the PostgreSQL migration, in SQLite's dialect (a single server keeps the answers
# to rate in memory, app/api/ledger.py: `api_answers` is here for a ledger on SQLite, as in tests).
SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_sha256 TEXT NOT NULL,
    rate_per_minute REAL NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS api_answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    view TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    clause_ids TEXT NOT NULL,
    rated INTEGER NOT NULL DEFAULT 0
);
"""


class Database(Protocol):
    """One SQL statement at a time, with "?" placeholders, committed when it returns."""

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        """Execute one statement; the rows it returns (none for most writes). `durable=False`: a
        write that may be lost in a crash, so its commit need not wait for the disk."""
        ...


class SqliteDatabase:
    """The feedback's SQLite file (a connection per statement: calls come from many threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False
        self._lock = threading.Lock()

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        if not self._ready:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                    conn.executescript(SQLITE_SCHEMA)
                self._ready = True
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            return list(conn.execute(sql, tuple(params)).fetchall())


class PostgresDatabase:
    """The replicas' shared database, through their connection pool (migrated at start-up)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        with self.pool.connection() as conn:
            if durable:  # autocommit: one round trip
                return _rows(conn.execute(sql.replace("?", "%s"), tuple(params)))
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit TO OFF")
                return _rows(conn.execute(sql.replace("?", "%s"), tuple(params)))


def _rows(cursor: Any) -> list[Row]:
    return list(cursor.fetchall()) if cursor.description is not None else []


def open_database(feedback_db: Path, pool: Any = None) -> Database:
    """PostgreSQL when the replicas share a pool, else the feedback's SQLite file."""
    return PostgresDatabase(pool) if pool is not None else SqliteDatabase(feedback_db)
