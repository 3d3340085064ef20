"""Agents teach the assistant: on a referred, weak or disliked exchange an agent names the
clause and sentence that answer it, or says the notices do not cover it. Each correction is
stored beside the exchanges (SQLite, or PostgreSQL for replicas: migration 0003) and is used
only through a command a person runs: `privacy-assistant insights --export-eval FILE` writes
them as eval-set lines in the contract's format, nothing reads them silently."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.errors import InputError
from app.feedback import inert
from app.redact import redact_text
from app.sqldb import Database
from app.text.language import language_of

log = logging.getLogger(__name__)

SOURCES = {"m": ("message", "messages"), "f": ("feedback", "feedback")}  # ref prefix -> (source, table)
MAX_SENTENCE_CHARS = 5000
COLUMNS = "id, created_at, source, exchange_id, view, question, doc_id, clause_id, sentence, not_covered"
SQLITE_SCHEMA = """CREATE TABLE IF NOT EXISTS corrections (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('message', 'feedback')), exchange_id INTEGER NOT NULL,
    view TEXT NOT NULL, question TEXT NOT NULL, doc_id TEXT NOT NULL DEFAULT '', clause_id TEXT NOT NULL DEFAULT '',
    sentence TEXT NOT NULL DEFAULT '', not_covered INTEGER NOT NULL, UNIQUE (source, exchange_id)
)"""


@dataclass(frozen=True)
class Correction:
    """What an agent said answers one stored exchange (its question already redacted)."""

    id: int
    created_at: str
    source: str  # "message" (the log) or "feedback" (a rated answer)
    exchange_id: int
    view: str
    question: str
    doc_id: str
    clause_id: str
    sentence: str  # verbatim from the policy ("" when not covered)
    not_covered: bool

    @property
    def ref(self) -> str:
        return f"{self.source[0]}{self.exchange_id}"

    def eval_line(self) -> dict[str, Any]:
        """The correction as an eval item (the contract's format): the sentence is the source
        to find; "not covered" makes an unanswerable item the assistant should refer."""
        sources = [] if self.not_covered else [{"doc_id": self.doc_id, "quote": self.sentence}]
        return {
            "id": f"corr-{self.ref}", "question": self.question, "lang": language_of(self.question),
            "persona": self.view, "answerable": not self.not_covered, "filters": {}, "sources": sources,
            "needs_all": False, "answer_facts": [], "kind": "correction",
        }  # fmt: skip


class CorrectionStore:
    """Corrections in the feedback store's database, one per exchange (a second one replaces it)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def question_of(self, ref: str) -> tuple[str, str, int, str, str]:
        """(source, table, exchange id, view, question) of an exchange named "m12" or "f3"."""
        m = re.fullmatch(r"([mf])(\d{1,18})", ref.strip())
        if m is None:
            raise InputError(f"exchange {ref!r}: expected m<id> (a logged message) or f<id> (a rating)")
        source, table = SOURCES[m.group(1)]
        found = self.db.run(f"SELECT view, question FROM {table} WHERE id = ?", [int(m.group(2))])
        if not found:
            raise InputError(f"exchange {ref}: no such {source}")
        return source, table, int(m.group(2)), str(found[0][0]), str(found[0][1])

    def correct(self, ref: str, *, doc_id: str = "", clause_id: str = "", sentence: str = "",
                not_covered: bool = False) -> Correction:  # fmt: skip
        """Store what answers exchange `ref`: a clause and its sentence, or `not_covered`."""
        if not_covered == bool(clause_id and sentence and doc_id):
            raise InputError("a correction names a policy, a clause and its sentence, or says the notices do not "
                             "cover the question (one of the two)")  # fmt: skip
        if len(sentence) > MAX_SENTENCE_CHARS:
            raise InputError(f"sentence is over the {MAX_SENTENCE_CHARS:,}-character limit")
        source, _, exchange_id, view, question = self.question_of(ref)
        row: dict[str, object] = {
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"), "source": source,
            "exchange_id": exchange_id, "view": view, "question": inert(redact_text(question)),
            "doc_id": "" if not_covered else doc_id, "clause_id": "" if not_covered else clause_id,
            "sentence": "" if not_covered else sentence, "not_covered": not_covered,
        }  # fmt: skip
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("source", "exchange_id"))
        new_id = int(self.db.run(
            f"INSERT INTO corrections ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})"
            f" ON CONFLICT (source, exchange_id) DO UPDATE SET {updates} RETURNING id",
            list(row.values()),
        )[0][0])
        log.info("correction #%d of %s: %s", new_id, ref, "not covered" if not_covered else clause_id)
        return Correction(new_id, str(row["created_at"]), source, exchange_id, view, str(row["question"]),
                          str(row["doc_id"]), str(row["clause_id"]), str(row["sentence"]), not_covered)

    def all(self) -> list[Correction]:
        """Every correction, oldest first."""
        rows = self.db.run(f"SELECT {COLUMNS} FROM corrections ORDER BY id")
        return [Correction(int(i), str(at), str(s), int(x), str(v), str(q), str(d), str(c), str(t), bool(n))
                for i, at, s, x, v, q, d, c, t, n in rows]  # fmt: skip


def export_eval(corrections: Sequence[Correction], target: Path) -> int:
    """Write the corrections as eval-set lines (JSON Lines) to `target`; how many were written."""
    if not corrections:
        raise InputError("no corrections stored yet: correct an answer in the agent console's Insights tab first")
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(c.eval_line(), ensure_ascii=False) + "\n" for c in corrections)
    target.write_text(text, encoding="utf-8")
    return len(corrections)
