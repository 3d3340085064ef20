"""The feedback store's database as the insights read it: one small adapter over SQLite and
PostgreSQL, so that every report query is written once (with ``?`` placeholders) and runs
where the rows are, as aggregates, instead of pulling a year of exchanges into Python."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.feedback import FeedbackStore

Row = tuple[Any, ...]


@dataclass(frozen=True)
class Database:
    """Where the exchanges are: a SQLite file (``path``) or a PostgreSQL pool (``pool``)."""

    dialect: str  # "sqlite" or "postgres"
    path: Path | None = None
    pool: Any = None

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """The rows of one query (none when a SQLite file was never written)."""
        if self.dialect == "postgres":
            with self.pool.connection() as conn:
                return [tuple(r) for r in conn.execute(_pg(sql), tuple(params)).fetchall()]
        assert self.path is not None
        if not self.path.exists():
            return []
        with closing(self.connect()) as conn:
            return list(conn.execute(sql, tuple(params)).fetchall())

    def write(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one statement in its own transaction; the first column of what it returns
        (``RETURNING id``), else 0."""
        if self.dialect == "postgres":
            with self.pool.connection() as conn:
                cursor = conn.execute(_pg(sql), tuple(params))
                found = cursor.fetchone() if cursor.description else None
            return int(found[0]) if found else 0
        with closing(self.connect()) as conn, conn:
            found = conn.execute(sql, tuple(params)).fetchone()
            return int(found[0]) if found else 0

    def connect(self) -> sqlite3.Connection:
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return sqlite3.connect(self.path, timeout=10)

    def json_elements(self, column: str) -> str:
        """A FROM item naming each element of a JSON array column ``value`` (clause ids)."""
        if self.dialect == "postgres":
            return f"json_array_elements_text({column}::json) AS j(value)"
        return f"json_each({column}) AS j"


def database_of(store: FeedbackStore) -> Database:
    """The database a feedback store writes to (PostgreSQL when it shares the replicas' pool)."""
    pool = getattr(store, "pool", None)
    if pool is not None:
        return Database("postgres", pool=pool)
    store.ensure_schema()
    return Database("sqlite", path=store.path)


def _pg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (the report's SQL has no literal ``?`` or ``%``)."""
    return sql.replace("?", "%s")
