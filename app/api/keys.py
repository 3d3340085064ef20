"""API keys for agents and server-to-server callers.

A key is shown once, when it is made (`pa_<id>_<secret>`), and kept only as the SHA-256 of the
whole token: a copy of the database lets nobody call the API. The public id in the token finds
the row; the hashes are then compared in constant time. Each key carries its own rate limit
(questions a minute) and is refused from the moment it is revoked, on every replica (the check
reads the database on each request: there is no cache to go stale)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from app.errors import InputError
from app.sqldb import Database

TOKEN = re.compile(r"pa_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
DEFAULT_KEY_RATE = 600.0  # questions a minute: a help desk's integration, not one customer
MAX_NAME_CHARS = 100
_UNKNOWN = hashlib.sha256(b"no such key").hexdigest()  # compared against when the id is unknown


@dataclass(frozen=True)
class ApiKey:
    """What is known about a key (never its secret)."""

    key_id: str
    name: str
    rate_per_minute: float
    created_at: str
    revoked_at: str = ""

    @property
    def active(self) -> bool:
        return not self.revoked_at


@dataclass(frozen=True)
class NewKey:
    """A key just made: its record and the token, which is shown this once and kept nowhere."""

    key: ApiKey
    token: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KeyStore:
    """The keys, in the feedback's database (SQLite or the replicas' PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, name: str, rate_per_minute: float = DEFAULT_KEY_RATE) -> NewKey:
        """A new key named `name` (who holds it: "zendesk", "crm-eu") with its own rate limit
        (questions a minute; 0: unlimited)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS:
            raise InputError(f"name: between 1 and {MAX_NAME_CHARS} characters")
        if not 0 <= rate_per_minute <= 1e9:
            raise InputError("rate: questions a minute, 0 (no limit) or more")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = f"pa_{key_id}_{secret}"
        key = ApiKey(key_id, name, float(rate_per_minute), _now())
        self.db.run(
            "INSERT INTO api_keys (key_id, name, secret_sha256, rate_per_minute, created_at) VALUES (?, ?, ?, ?, ?)",
            (key.key_id, key.name, _digest(token), key.rate_per_minute, key.created_at),
        )
        return NewKey(key, token)

    def list(self) -> list[ApiKey]:
        """Every key, revoked ones too, oldest first."""
        rows = self.db.run("SELECT key_id, name, rate_per_minute, created_at, revoked_at FROM api_keys"
                           " ORDER BY created_at, key_id")  # fmt: skip
        return [ApiKey(str(i), str(n), float(r), str(c), str(v or "")) for i, n, r, c, v in rows]

    def revoke(self, key_id: str) -> ApiKey:
        """Refuse the key from now on (its row stays, for the record); an `InputError` when
        there is no such key."""
        key_id = key_id.strip()
        self.db.run("UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at = ''", (_now(), key_id))
        found = [k for k in self.list() if k.key_id == key_id]
        if not found:
            raise InputError(f"no API key with the id {key_id!r} (see `privacy-assistant keys list`)")
        return found[0]

    def verify(self, token: str) -> ApiKey | None:
        """The active key this token belongs to, else None (malformed, unknown, wrong or revoked)."""
        m = TOKEN.fullmatch(token)
        rows = self.db.run(
            "SELECT key_id, name, rate_per_minute, created_at, revoked_at, secret_sha256 FROM api_keys"
            " WHERE key_id = ?",
            (m.group(1) if m else "",),
        )
        stored = str(rows[0][5]) if rows else _UNKNOWN
        matches = hmac.compare_digest(stored.encode(), _digest(token).encode())
        if not (m and rows and matches):
            return None
        key_id, name, rate, created, revoked, _ = rows[0]
        key = ApiKey(str(key_id), str(name), float(rate), str(created), str(revoked or ""))
        return key if key.active else None
