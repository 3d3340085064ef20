"""The feedback store's database as the insights read it (app/sqldb.py): every report query is
written once, with ``?`` placeholders, and runs where the rows are, as aggregates, instead of
pulling a year of exchanges into Python."""

from __future__ import annotations

from app.feedback import FeedbackStore
from app.insights.corrections import SQLITE_SCHEMA
from app.sqldb import Database, PostgresDatabase, SqliteDatabase


def database_of(store: FeedbackStore) -> Database:
    """The database a feedback store writes to (PostgreSQL when it shares the replicas' pool),
    with the corrections' table on SQLite."""
    pool = getattr(store, "pool", None)
    if pool is not None:
        return PostgresDatabase(pool)
    store.ensure_schema()
    return SqliteDatabase(store.path, SQLITE_SCHEMA)
