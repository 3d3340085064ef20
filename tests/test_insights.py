"""The insights report and the agents' corrections, on SQLite and on a real PostgreSQL server
(skipped only where its binaries are missing): exact counts with a deterministic topic embedder,
the real encoder's grouping of paraphrases of our own, the exports free of personal data, and
the `insights` command."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.cli import main
from app.errors import InputError
from app.evaluation.dataset import load_eval_set
from app.feedback import FeedbackStore
from app.insights.corrections import CorrectionStore, export_eval
from app.insights.db import database_of
from app.insights.export import clauses_csv, groups_csv, report_json, summary, volume_png, write_folder
from app.insights.queries import Scope
from app.insights.report import build_report
from app.insights.topics import DISTANCE, EmbedCache, group
from app.sqldb import Database, PostgresDatabase, SqliteDatabase
from tests.cluster import postgres, postgres_bin

DOC, OTHER = "policy-a", "policy-b"
# Our own topics (none from evals/): a word that marks each, for the deterministic embedder.
TOPICS = ("repair", "gift", "crypto", "keep", "sell")


def topic_embed(texts: Sequence[str]) -> np.ndarray:
    """One axis per topic word (the first found), a last axis for anything else: exact groups."""
    out = np.zeros((len(texts), len(TOPICS) + 1), dtype=np.float32)
    for i, text in enumerate(texts):
        found = [j for j, word in enumerate(TOPICS) if word in text.lower()]
        out[i, found[0] if found else len(TOPICS)] = 1.0
    return out


def _message(day: str, question: str, *, abstained: bool = False, confidence: float = 0.9, doc: str = DOC,
             clauses: Sequence[str] = ()) -> tuple[object, ...]:  # fmt: skip
    cited = list(clauses) or ([] if abstained else [f"{doc}:retention:1"])
    return (f"{day}T10:00:00+00:00", "customer", question, "answer", json.dumps(cited), abstained, confidence, doc)


def _rating(day: str, question: str, rating: int, clauses: Sequence[str]) -> tuple[object, ...]:
    return (f"{day}T11:00:00+00:00", "customer", question, "answer", json.dumps(list(clauses)), rating, "")


def seed(db: Database, messages: Sequence[tuple[object, ...]], ratings: Sequence[tuple[object, ...]] = ()) -> None:
    for row in messages:
        db.run("INSERT INTO messages (created_at, view, question, answer, clause_ids, abstained, confidence, doc_id)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)  # fmt: skip
    for row in ratings:
        db.run("INSERT INTO feedback (created_at, view, question, answer, clause_ids, rating, comment)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)", row)  # fmt: skip


@pytest.fixture(scope="module")
def pg_pool() -> Iterator[Any]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed (make cluster-deps)")
    from app.pgstate import connect

    with postgres() as url:
        pool = connect(url)
        yield pool
        pool.close()


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """An empty store's database: a SQLite file, or the module's PostgreSQL server, emptied."""
    if request.param == "sqlite":
        return database_of(FeedbackStore(tmp_path / "feedback.sqlite3"))
    pool = request.getfixturevalue("pg_pool")
    with pool.connection() as conn:
        conn.execute("TRUNCATE messages, feedback, corrections RESTART IDENTITY")
    return PostgresDatabase(pool)


MESSAGES = [
    _message("2026-03-02", "How do I get my watch repaired?", abstained=True, confidence=0.1),
    _message("2026-03-03", "Where can I have my watch repaired?", abstained=True, confidence=0.05),
    _message("2026-03-10", "Who can repair a broken strap?", abstained=True, confidence=0.1),
    _message("2026-03-10", "Can I pay in crypto?", confidence=0.3, doc=OTHER, clauses=[f"{OTHER}:payment:2"]),
    _message("2026-03-04", "How long do you keep my data?", clauses=[f"{DOC}:retention:1"]),
    _message("2026-03-05", "How long do you keep my data?", clauses=[f"{DOC}:retention:1"]),
    _message("2026-03-05", "Do you sell my data?", doc=OTHER, clauses=[f"{OTHER}:sharing:3"]),
    _message("2026-04-20", "How do I get my watch repaired?", abstained=True, confidence=0.1),  # after the period
]
RATINGS = [
    _rating("2026-03-05", "Do you sell gift cards?", -1, [f"{OTHER}:sharing:3"]),
    _rating("2026-03-06", "Can I buy a gift card?", -1, [f"{OTHER}:sharing:3"]),
    _rating("2026-03-06", "How long do you keep my data?", 1, [f"{DOC}:retention:1"]),
    _rating("2026-03-07", "How long do you keep my data?", 1, [f"{DOC}:retention:1"]),
    _rating("2026-03-02", "How do I get my watch repaired?", -1, []),  # a referral disliked: one exchange, not two
]
MARCH = Scope(date(2026, 3, 1), date(2026, 3, 31))


def test_the_report_groups_what_needs_a_look_with_counts_shares_and_weeks(db: Database) -> None:
    seed(db, MESSAGES, RATINGS)
    report = build_report(db, MARCH, topic_embed)
    assert (report.exchanges, report.referred, report.low_confidence) == (7, 3, 1)
    assert (report.thumbs_up, report.thumbs_down, report.attention) == (2, 3, 6)
    repair, gift, crypto = report.groups
    assert repair.name == "How do I get my watch repaired?"  # the most asked wording names it
    assert (repair.count, repair.referred, repair.disliked, repair.questions) == (3, 3, 0, 3)
    assert repair.share == pytest.approx(0.5)
    assert repair.weekly[:3] == (("2026-02-23", 0), ("2026-03-02", 2), ("2026-03-09", 1))
    assert len(repair.weekly) == 6  # every week of March, from the Monday before the 1st
    assert set(repair.examples) == {"Where can I have my watch repaired?", "Who can repair a broken strap?"}
    assert (gift.count, gift.disliked, crypto.count, crypto.low_confidence) == (2, 2, 1, 1)
    assert [(c.clause_id, c.cited, c.up) for c in report.most_cited] == [
        (f"{DOC}:retention:1", 2, 2), (f"{OTHER}:payment:2", 1, 0), (f"{OTHER}:sharing:3", 1, 0)]  # fmt: skip
    assert [(c.clause_id, c.down, c.down_ratio) for c in report.worst_rated] == [(f"{OTHER}:sharing:3", 2, 1.0)]
    assert [(v.day, v.exchanges, v.referred) for v in report.volume][:2] == [("2026-03-02", 1, 1), ("2026-03-03", 1, 1)]
    assert not report.sampled and report.grouped_questions == report.distinct_questions == 6


def test_a_policy_and_a_period_narrow_the_report(db: Database) -> None:
    seed(db, MESSAGES, RATINGS)
    other = build_report(db, Scope(date(2026, 3, 1), date(2026, 3, 31), OTHER), topic_embed)
    assert (other.exchanges, [g.name for g in other.groups]) == (2, ["Can I buy a gift card?", "Can I pay in crypto?"])
    april = build_report(db, Scope(since=date(2026, 4, 1)), topic_embed)
    assert (april.exchanges, april.groups[0].count, april.thumbs_down) == (1, 1, 0)
    assert build_report(db, Scope(until=date(2026, 1, 1)), topic_embed).groups == ()


def test_over_the_cap_a_stratified_sample_is_grouped_and_counts_are_estimates(db: Database) -> None:
    many = [_message("2026-03-02", f"repair question number {chr(97 + i // 26)}{chr(97 + i % 26)}",
                     abstained=True) for i in range(60)]  # fmt: skip
    many += [_message("2026-03-02", "Do you sell gift cards?", abstained=True)] * 5
    seed(db, many)
    embedded: list[str] = []
    report = build_report(db, Scope(), lambda texts: embedded.extend(texts) or topic_embed(texts), cap=20)
    assert report.sampled and (report.distinct_questions, report.grouped_questions, len(embedded)) == (61, 20, 20)
    assert "Do you sell gift cards?" in embedded  # the most asked are always grouped
    assert sum(g.count for g in report.groups) == pytest.approx(65, abs=1)


def test_the_real_encoder_groups_paraphrases_of_our_own_topics(embedder: Any) -> None:
    """The distance cut (topics.DISTANCE), checked on hand-written paraphrases (not evals/)."""
    topics = {
        "repair": ["How do I get my watch repaired?", "Where can I send my watch for servicing?",
                   "Can you fix a broken watch strap?"],
        "gift": ["Do you sell gift cards?", "Can I buy a gift card online?", "How do I redeem a gift voucher?"],
        "crypto": ["Do you accept bitcoin?", "Can I pay with cryptocurrency?", "Is crypto accepted for payment?"],
        "retention": ["How long do you keep my data?", "How long is my personal information retained?"],
        "selling": ["Do you sell my data?", "Is my personal information sold to third parties?"],
        "cookies": ["What cookies do you use?", "How can I turn off cookies on your website?"],
        "hours": ["What are your boutique opening hours?", "When is the store open on Sunday?"],
    }  # fmt: skip
    texts = [t for ts in topics.values() for t in ts]
    labels = [name for name, ts in topics.items() for _ in ts]
    found = group(embedder.embed_texts(texts), [1] * len(texts), DISTANCE)
    assert sorted([labels[i] for i in t.members] for t in found) == sorted([n] * len(ts) for n, ts in topics.items())


def test_corrections_are_stored_once_per_exchange_and_export_as_eval_lines(db: Database, tmp_path: Path) -> None:
    seed(db, MESSAGES, RATINGS)
    store = CorrectionStore(db)
    assert store.all() == []
    store.correct("m1", doc_id=DOC, clause_id=f"{DOC}:retention:1", sentence="We keep it for ten years.")
    first = store.correct("f1", not_covered=True)
    again = store.correct("m1", doc_id=DOC, clause_id=f"{DOC}:retention:2", sentence="Repairs are not covered.")
    assert [c.ref for c in store.all()] == ["m1", "f1"] and store.all()[0].clause_id == f"{DOC}:retention:2"
    assert (first.question, first.not_covered, again.view) == ("Do you sell gift cards?", True, "customer")
    for bad in ({"ref": "x9"}, {"ref": "m999", "not_covered": True}, {"ref": "m1", "doc_id": DOC}):
        with pytest.raises(InputError):
            store.correct(**bad)  # type: ignore[arg-type]
    target = tmp_path / "corrections.jsonl"
    assert export_eval(store.all(), target) == 2
    items = {i.id: i for i in load_eval_set(target)}
    assert items["corr-m1"].answerable and items["corr-m1"].sources[0].quote == "Repairs are not covered."
    assert not items["corr-f1"].answerable and items["corr-f1"].sources == ()
    assert json.loads(target.read_text().splitlines()[0])["kind"] == "correction"


def test_nothing_in_clear_reaches_a_report_or_an_export(db: Database, tmp_path: Path) -> None:
    """The store redacts what it writes; a row written around it (an old release, a hand) is
    redacted again when shown or exported."""
    if isinstance(db, SqliteDatabase):
        FeedbackStore(db.path).log_message(view="customer", question="repair my watch, card 4111 1111 1111 1111",
                                           answer="a", clause_ids=[], abstained=True, confidence=0.1)  # fmt: skip
    seed(db, [_message("2026-03-02", "repair for jane.doe@example.com, call +44 20 7946 0958", abstained=True)])
    store = CorrectionStore(db)
    store.correct("m1", not_covered=True)
    report = build_report(db, Scope(), topic_embed)
    export_eval(store.all(), tmp_path / "eval.jsonl")
    written = write_folder(report, tmp_path / "out")
    shown = [report_json(report), groups_csv(report), summary(report), (tmp_path / "eval.jsonl").read_text()]
    shown += [p.read_text() for p in written if p.suffix != ".png"]
    for text in shown:
        assert "jane.doe" not in text and "4111" not in text and "7946" not in text
    assert "[e-mail]" in report_json(report) and "[phone]" in report_json(report)


def test_the_exports_are_csv_json_and_a_png(db: Database) -> None:
    seed(db, MESSAGES, RATINGS)
    report = build_report(db, MARCH, topic_embed)
    data = json.loads(report_json(report))
    assert data["groups"][0]["count"] == 3 and data["referral_rate"] == pytest.approx(3 / 7, abs=1e-4)
    assert groups_csv(report).splitlines()[1].startswith("How do I get my watch repaired?,3,0.5000,3,0,0,3,")
    assert clauses_csv(report).splitlines()[-1].startswith(f"worst rated,{OTHER}:sharing:3,")
    assert volume_png(report)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "How do I get my watch repaired?" in summary(report)


def test_an_older_sqlite_file_gains_the_columns_and_indexes(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT NULL,"
                     " view TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, clause_ids TEXT NOT NULL,"
                     " abstained INTEGER NOT NULL)")  # fmt: skip
        conn.execute("INSERT INTO messages VALUES (1, '2026-01-01T00:00:00+00:00', 'customer', 'q', 'a', '[]', 1)")
    report = build_report(database_of(FeedbackStore(path)), Scope(), topic_embed)
    assert report.referred == 1 and report.groups[0].name == "q"
    with sqlite3.connect(path) as conn:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"messages_by_time", "feedback_by_time"} <= indexes


def test_the_insights_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    path = tmp_path / "feedback.sqlite3"
    seed(database_of(FeedbackStore(path)), MESSAGES, RATINGS)
    monkeypatch.setenv("PRIVACY_ASSISTANT_FEEDBACK_DB", str(path))
    monkeypatch.delenv("PRIVACY_ASSISTANT_DATABASE_URL", raising=False)
    assert main(["insights", "--export-eval", str(tmp_path / "e.jsonl")]) == 2  # nothing corrected yet
    assert "no corrections" in capsys.readouterr().err
    CorrectionStore(database_of(FeedbackStore(path))).correct("m1", not_covered=True)
    assert main(["insights", "--export-eval", str(tmp_path / "e.jsonl")]) == 0
    assert len(load_eval_set(tmp_path / "e.jsonl")) == 1
    assert main(["insights", "--since", "2026-03-09", "--until", "2026-03-01"]) == 2
    assert "is after" in capsys.readouterr().err
    assert main(["insights", "--since", "2026-03-01", "--until", "2026-03-31", "--json", "--out",
                 str(tmp_path / "out")]) == 0  # fmt: skip
    data = json.loads(capsys.readouterr().out)
    assert data["exchanges"] == 7 and data["groups"][0]["count"] == 3  # the real encoder groups the repairs
    assert (tmp_path / "out" / "volume.png").is_file() and (tmp_path / "out" / "groups.csv").is_file()


def test_the_consoles_cache_embeds_each_question_once() -> None:
    seen: list[str] = []
    cache = EmbedCache(lambda texts: seen.extend(texts) or topic_embed(texts), size=3)
    first = cache(["gift a", "repair b", "gift a"])
    assert seen == ["gift a", "repair b"] and np.array_equal(first[0], first[2])
    cache(["repair b", "crypto c", "keep d"])  # over the size: the least recently used goes
    assert seen[2:] == ["crypto c", "keep d"]
    cache(["gift a"])
    assert seen[-1] == "gift a" and len(seen) == 5
