"""The report's reads, each one aggregate statement run by the database over an indexed period
(messages and feedback are indexed by `created_at`): a year of traffic comes back as a few
hundred rows of counts, never as a year of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from app.sqldb import Database, Row

REASONS = ("referred", "disliked", "low confidence")


@dataclass(frozen=True)
class Scope:
    """What a report covers: a period (`since` and `until` included, in UTC dates; None: open),
    one policy (`doc_id`; "": all), and the confidence under which an answer counts as weak
    (the chooser's confidence is its estimate that the cited sentence answers: under an even
    chance the answer is worth a look)."""

    since: date | None = None
    until: date | None = None
    doc_id: str = ""
    low_confidence: float = 0.5

    def where(self, table: str) -> tuple[str, list[object]]:
        """The SQL condition (and its parameters) selecting this scope's rows of `table`."""
        parts: list[str] = ["1 = 1"]
        params: list[object] = []
        if self.since is not None:
            parts.append("created_at >= ?")
            params.append(self.since.isoformat())
        if self.until is not None:  # created_at is ISO text: the next day's midnight bounds it
            parts.append("created_at < ?")
            params.append((self.until + timedelta(days=1)).isoformat())
        if self.doc_id and table == "messages":
            parts.append("doc_id = ?")
            params.append(self.doc_id)
        elif self.doc_id:  # a rating records the clauses it cited: "<doc_id>:<section>:<n>"
            parts.append("clause_ids LIKE ?")
            params.append(f'%"{self.doc_id}:%')
        return " AND ".join(parts), params


@dataclass(frozen=True)
class Asked:
    """One question as the database counts it: how often it was asked for one reason on one day."""

    question: str
    day: str
    reason: str
    count: int
    last_id: int


def daily_volume(db: Database, scope: Scope) -> list[Row]:
    """(day, exchanges, referred) for every day of the scope with traffic, in order."""
    where, params = scope.where("messages")
    sql = (
        "SELECT substr(created_at, 1, 10) AS day, count(*), sum(CASE WHEN abstained THEN 1 ELSE 0 END)"
        f" FROM messages WHERE {where} GROUP BY substr(created_at, 1, 10) ORDER BY day"
    )
    return db.run(sql, params)


def attention(db: Database, scope: Scope) -> list[Asked]:
    """The questions that need a look, counted per question, day and reason: referred or
    weakly answered (the message log) and disliked answers (the ratings; a weak answer that was
    also disliked is counted under both reasons, as the two records cannot be told apart)."""
    where, params = scope.where("messages")
    weak = "CASE WHEN abstained THEN 'referred' ELSE 'low confidence' END"
    messages = (
        f"SELECT question, substr(created_at, 1, 10), {weak}, count(*), max(id) FROM messages"
        f" WHERE {where} AND (abstained OR confidence < ?)"
        f" GROUP BY question, substr(created_at, 1, 10), {weak}"
    )
    rated_where, rated_params = scope.where("feedback")
    # A thumbs down on a referral is the same exchange as the referral (counted above), not a second one.
    disliked = (
        "SELECT question, substr(created_at, 1, 10), 'disliked', count(*), max(id) FROM feedback"
        f" WHERE {rated_where} AND rating < 0 AND clause_ids <> '[]' GROUP BY question, substr(created_at, 1, 10)"
    )
    rows = db.run(messages, [*params, scope.low_confidence]) + db.run(disliked, rated_params)
    return [Asked(str(q), str(d), str(r), int(n), int(i)) for q, d, r, n, i in rows]


def cited_clauses(db: Database, scope: Scope, limit: int) -> list[Row]:
    """(clause id, times cited) of the clauses most cited in answers, most first."""
    where, params = scope.where("messages")
    sql = (
        f"SELECT j.value, count(*) FROM messages, {db.json_elements('clause_ids')}"
        f" WHERE {where} GROUP BY j.value ORDER BY count(*) DESC, j.value LIMIT ?"
    )
    return db.run(sql, [*params, limit])


def rated_clauses(db: Database, scope: Scope) -> list[Row]:
    """(clause id, thumbs up, thumbs down) of every clause cited by a rated answer."""
    where, params = scope.where("feedback")
    sql = (
        "SELECT j.value, sum(CASE WHEN rating > 0 THEN 1 ELSE 0 END), sum(CASE WHEN rating < 0 THEN 1 ELSE 0 END)"
        f" FROM feedback, {db.json_elements('clause_ids')} WHERE {where} GROUP BY j.value"
    )
    return db.run(sql, params)


def ratings(db: Database, scope: Scope) -> tuple[int, int]:
    """(thumbs up, thumbs down) in the scope."""
    where, params = scope.where("feedback")
    sql = f"SELECT sum(CASE WHEN rating > 0 THEN 1 ELSE 0 END), sum(CASE WHEN rating < 0 THEN 1 ELSE 0 END)" \
          f" FROM feedback WHERE {where}"  # fmt: skip
    up, down = (db.run(sql, params) or [(0, 0)])[0]
    return int(up or 0), int(down or 0)


def to_review(db: Database, scope: Scope, limit: int) -> list[Row]:
    """The latest exchanges an agent may correct, newest first: (ref, created_at, view, reason,
    question), `ref` "m<id>" for a logged message, "f<id>" for a rating."""
    where, params = scope.where("messages")
    weak = "CASE WHEN abstained THEN 'referred' ELSE 'low confidence' END"
    messages = db.run(
        f"SELECT 'm' || id, created_at, view, {weak}, question FROM messages"
        f" WHERE {where} AND (abstained OR confidence < ?) ORDER BY created_at DESC, id DESC LIMIT ?",
        [*params, scope.low_confidence, limit],
    )
    rated_where, rated_params = scope.where("feedback")
    disliked = db.run(
        f"SELECT 'f' || id, created_at, view, 'disliked', question FROM feedback WHERE {rated_where} AND rating < 0"
        " AND clause_ids <> '[]' ORDER BY created_at DESC, id DESC LIMIT ?",
        [*rated_params, limit],
    )
    return sorted(messages + disliked, key=lambda r: (str(r[1]), str(r[0])), reverse=True)[:limit]
