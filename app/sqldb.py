"""One SQL statement at a time over the feedback's database: its SQLite file (one server) or
the replicas' shared PostgreSQL (through their pool). The API's key store and answer ledger,
the insights' report queries and the agents' corrections each write their SQL once, with "?"
placeholders, and run it on either. PostgreSQL's tables come from app/migrations/; on SQLite a
user passes its tables' ``schema``, created on first use."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, Protocol

Row = tuple[Any, ...]


class Database(Protocol):
    """One SQL statement at a time, with "?" placeholders, committed when it returns."""

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        """Execute one statement; the rows it returns (none for most writes). `durable=False`: a
        write that may be lost in a crash, so its commit need not wait for the disk."""
        ...

    def json_elements(self, column: str) -> str:
        """A FROM item naming each element of a JSON array column ``value`` (as ``j``)."""
        ...


class SqliteDatabase:
    """A SQLite file (a connection per statement: calls come from many threads)."""

    def __init__(self, path: Path, schema: str = "") -> None:
        self.path = path
        self.schema = schema
        self._ready = False
        self._lock = threading.Lock()

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        if not self._ready:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.schema:
                    with closing(sqlite3.connect(self.path, timeout=10)) as conn:
                        conn.executescript(self.schema)
                self._ready = True
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def json_elements(self, column: str) -> str:
        return f"json_each({column}) AS j"


class PostgresDatabase:
    """The replicas' shared database, through their connection pool (migrated at start-up)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def run(self, sql: str, params: Sequence[object] = (), durable: bool = True) -> list[Row]:
        with self.pool.connection() as conn:
            if durable:  # autocommit: one round trip
                return _rows(conn.execute(_placeholders(sql), tuple(params)))
            with conn.transaction():
                conn.execute("SET LOCAL synchronous_commit TO OFF")
                return _rows(conn.execute(_placeholders(sql), tuple(params)))

    def json_elements(self, column: str) -> str:
        return f"json_array_elements_text({column}::json) AS j(value)"


def _placeholders(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (our SQL has no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")


def _rows(cursor: Any) -> list[Row]:
    return [tuple(r) for r in cursor.fetchall()] if cursor.description is not None else []


def open_database(feedback_db: Path, pool: Any = None, schema: str = "") -> Database:
    """PostgreSQL when the replicas share a pool, else the feedback's SQLite file (``schema``:
    the tables to create there on first use)."""
    return PostgresDatabase(pool) if pool is not None else SqliteDatabase(feedback_db, schema)
