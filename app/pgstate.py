"""State the replicas share, in PostgreSQL (when `database_url` is set; SQLite and this
process's memory otherwise): the feedback and message log, failed agent sign-ins, and the
customers' rate-limit buckets. The schema is the versioned migrations in app/migrations/,
applied once at start-up under an advisory lock (replicas may start together)."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.errors import AssistantError
from app.feedback import FeedbackStore

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_LOCK = 7_261_001  # the advisory lock taken while migrating (any constant of this project's own)


class DatabaseError(AssistantError):
    """The shared database cannot be reached or migrated."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, SQL) of every migration file ("0001_shared_state.sql"), in order."""
    out = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        if m := re.fullmatch(r"(\d{4})_(\w+)\.sql", path.name):
            out.append((int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    return out


def connect(url: str, max_size: int = 8, timeout_s: float = 15.0) -> Any:
    """A connection pool to ``url``, its schema migrated; a clear error when unreachable."""
    import psycopg
    from psycopg_pool import ConnectionPool

    pool = ConnectionPool(url, min_size=1, max_size=max_size, kwargs={"autocommit": True}, open=False)
    try:
        psycopg.connect(url, connect_timeout=max(1, int(timeout_s))).close()  # fails fast, saying why
        pool.open(wait=True, timeout=timeout_s)
        migrate(pool)
    except (psycopg.Error, TimeoutError, OSError) as exc:
        pool.close()
        raise DatabaseError(f"database_url: cannot use the database ({_first_line(exc)})") from None
    return pool


def migrate(pool: Any) -> list[int]:
    """Apply the migrations not applied yet, each in its own transaction; the versions applied."""
    applied = []
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, name, sql in migrations():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
                applied.append(version)
                log.info("database migrated to %04d_%s", version, name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK,))
    return applied


def ping(pool: Any) -> bool:
    """Whether the database answers (the health check)."""
    try:
        with pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # any failure means "not reachable" to a health check
        return False


class PostgresFeedbackStore(FeedbackStore):
    """The feedback and message log in PostgreSQL: each row is committed before the call
    returns, so an answer a customer received is on record even if its replica dies next."""

    def __init__(self, pool: Any) -> None:  # no SQLite file: only the two SQL methods differ
        self.pool = pool

    def _insert(self, table: str, row: dict[str, object]) -> int:
        columns = ", ".join(row)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join('%s' for _ in row)}) RETURNING id"
        with self.pool.connection() as conn:
            found = conn.execute(sql, tuple(row.values())).fetchone()
        return int(found[0])

    def _select(self, sql: str) -> list[tuple[object, ...]]:
        with self.pool.connection() as conn:
            return list(conn.execute(sql).fetchall())


class PostgresFailureLog:
    """Failed agent sign-ins shared by the replicas: five failures through one lock the
    name for that client on all of them."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    def recent(self, key: tuple[str, str], since: float) -> list[float]:
        with self.pool.connection() as conn:
            rows = conn.execute(
                "SELECT at FROM login_failures WHERE client = %s AND user_name = %s AND at > %s ORDER BY at",
                (*key, since),
            ).fetchall()
        return [float(r[0]) for r in rows]

    def record(self, key: tuple[str, str], at: float, keep: int) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("INSERT INTO login_failures (client, user_name, at) VALUES (%s, %s, %s)", (*key, at))
            # Bounded: only the last `keep` per name matter, and nothing older than a day.
            conn.execute(
                "DELETE FROM login_failures WHERE client = %s AND user_name = %s AND at < ("
                " SELECT min(at) FROM (SELECT at FROM login_failures WHERE client = %s AND user_name = %s"
                " ORDER BY at DESC LIMIT %s) AS last)",
                (*key, *key, keep),
            )
            conn.execute("DELETE FROM login_failures WHERE at < %s", (at - 86_400,))


class PostgresBuckets:
    """Token buckets shared by the replicas: one atomic upsert per question. Every
    `prune_every` takes, buckets idle long enough to be full again are deleted, so the table
    stays as small as the number of recently active clients."""

    def __init__(self, pool: Any, prune_every: int = 1000) -> None:
        self.pool = pool
        self.prune_every = prune_every
        self._takes = itertools.count(1)

    def take(self, key: str, now: float, per_second: float, burst: float) -> bool:
        refilled = "LEAST(%(burst)s, rate_buckets.tokens + (%(now)s - rate_buckets.at) * %(rate)s)"
        sql = (
            "INSERT INTO rate_buckets (key, tokens, at, allowed) VALUES (%(key)s, %(burst)s - 1, %(now)s, true)"
            f" ON CONFLICT (key) DO UPDATE SET allowed = {refilled} >= 1,"
            f" tokens = CASE WHEN {refilled} >= 1 THEN {refilled} - 1 ELSE {refilled} END, at = %(now)s"
            " RETURNING allowed"
        )
        with self.pool.connection() as conn:
            found = conn.execute(sql, {"key": key, "now": now, "rate": per_second, "burst": burst}).fetchone()
            if next(self._takes) % self.prune_every == 0:
                conn.execute("DELETE FROM rate_buckets WHERE at < %s", (now - burst / per_second,))
        return bool(found[0])


@dataclass
class SharedState:
    """What `build_server` needs from the shared database."""

    pool: Any
    store: PostgresFeedbackStore
    failures: PostgresFailureLog
    buckets: PostgresBuckets

    def healthy(self) -> bool:
        return ping(self.pool)


def shared_state(url: str) -> SharedState:
    pool = connect(url)
    return SharedState(pool, PostgresFeedbackStore(pool), PostgresFailureLog(pool), PostgresBuckets(pool))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
