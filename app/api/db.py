"""Where the API keeps its state (app/sqldb.py): the SQLite file of the feedback (one process) or
the shared PostgreSQL database (replicas). PostgreSQL's tables come from the migrations
(app/migrations/0002_api_keys.sql); SQLite's, below, are created on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.sqldb import Database, open_database

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


def open_api_database(feedback_db: Path, pool: Any = None) -> Database:
    """The API's tables in the feedback's database: PostgreSQL when the replicas share a pool
    (migrated), else the SQLite file (created there on first use)."""
    return open_database(feedback_db, pool, SQLITE_SCHEMA)
