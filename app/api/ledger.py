"""The answers given through the API, by id, so that `POST /v1/feedback` can rate one.

The chat keeps a conversation's answers in its browser session; an API caller has none, so the
answer it was given is kept here (redacted question, answer text, cited clauses) under a random
id. A rating names that id: it rates the answer actually given, never a text the caller supplies,
and each answer is rated at most once.

Where: like the rate-limit buckets, in this process's memory for a single server (bounded, the
oldest forgotten first; a restart forgets them, as it forgets the chat's sessions), and in the
shared database for replicas, so that an answer from one is rated through another. The durable
record of every answer is the message log (`FeedbackStore`); this is only the handle to rate it
by, so its insert does not wait for the disk (PostgreSQL's `synchronous_commit` off for it)."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from app.feedback import MAX_QUESTION_CHARS, stored
from app.sqldb import Database


@dataclass(frozen=True)
class GivenAnswer:
    """An answer given through the API, as a rating of it is stored."""

    answer_id: str
    view: str  # "customer" (no key) or "agent" (an API key)
    question: str
    answer: str
    clause_ids: tuple[str, ...]


class Ledger(Protocol):
    """`record` each answer, `claim` it once to rate it."""

    def record(self, view: str, question: str, answer: str, clause_ids: tuple[str, ...]) -> str:
        """Keep an answer (its question redacted again: the ledger never trusts its caller); its id."""
        ...

    def claim(self, answer_id: str) -> GivenAnswer | None:
        """The answer, marked as rated; None when there is no such answer or it was rated already."""
        ...

    def exists(self, answer_id: str) -> bool: ...


def _new_id() -> str:
    return "ans_" + secrets.token_urlsafe(16)


class MemoryLedger:
    """The answers of the last `keep` questions in this process (rated ones forgotten at once)."""

    def __init__(self, keep: int = 20_000) -> None:
        self.keep = keep
        self._answers: OrderedDict[str, GivenAnswer | None] = OrderedDict()  # None: rated
        self._lock = threading.Lock()

    def record(self, view: str, question: str, answer: str, clause_ids: tuple[str, ...]) -> str:
        given = GivenAnswer(_new_id(), view, stored("question", question, MAX_QUESTION_CHARS), answer, clause_ids)
        with self._lock:
            self._answers[given.answer_id] = given
            while len(self._answers) > self.keep:
                self._answers.popitem(last=False)
        return given.answer_id

    def claim(self, answer_id: str) -> GivenAnswer | None:
        with self._lock:
            given = self._answers.get(answer_id)
            if given is not None:
                self._answers[answer_id] = None
            return given

    def exists(self, answer_id: str) -> bool:
        with self._lock:
            return answer_id in self._answers


class AnswerLedger:
    """The answers in a database table (the replicas' PostgreSQL), dropped after `keep_days`."""

    def __init__(self, db: Database, keep_days: float = 7.0, prune_every: int = 1000) -> None:
        self.db = db
        self.keep = timedelta(days=keep_days)
        self.prune_every = prune_every
        self._count = itertools.count(1)

    def record(self, view: str, question: str, answer: str, clause_ids: tuple[str, ...]) -> str:
        answer_id = _new_id()
        now = datetime.now(UTC)
        self.db.run(
            "INSERT INTO api_answers (answer_id, created_at, view, question, answer, clause_ids)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (answer_id, now.isoformat(timespec="seconds"), view, stored("question", question, MAX_QUESTION_CHARS),
             answer, json.dumps(list(clause_ids))),
            durable=False,
        )  # fmt: skip
        if next(self._count) % self.prune_every == 0:
            self.db.run("DELETE FROM api_answers WHERE created_at < ?", ((now - self.keep).isoformat(),))
        return answer_id

    def claim(self, answer_id: str) -> GivenAnswer | None:
        """One statement decides, so two ratings sent at once cannot both win."""
        rows = self.db.run(
            "UPDATE api_answers SET rated = 1 WHERE answer_id = ? AND rated = 0"
            " RETURNING answer_id, view, question, answer, clause_ids",
            (answer_id,),
        )
        if not rows:
            return None
        found, view, question, answer, clause_ids = rows[0]
        return GivenAnswer(str(found), str(view), str(question), str(answer), tuple(json.loads(str(clause_ids))))

    def exists(self, answer_id: str) -> bool:
        return bool(self.db.run("SELECT 1 FROM api_answers WHERE answer_id = ?", (answer_id,)))
