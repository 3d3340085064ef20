"""The feedback store: redacted before storage, exported as CSV and JSON Lines."""

from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
from pathlib import Path

import pytest

from app.errors import InputError
from app.feedback import FeedbackStore
from app.settings import Settings


@pytest.fixture
def store(tmp_path: Path) -> FeedbackStore:
    return FeedbackStore(tmp_path / "sub" / "feedback.sqlite3")


def _raw(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT view, question, answer, clause_ids, rating, comment FROM feedback").fetchall()


def test_add_stores_a_redacted_row(store: FeedbackStore) -> None:
    row = store.add(
        view="customer",
        question="My card 4111 1111 1111 1111 was charged, mail me at jo@example.com",
        answer="We keep it for ten years [1]",
        clause_ids=["doc:retention:1"],
        rating=-1,
        comment="call me on +1 212 555 0187",
    )
    assert row.id == 1
    assert _raw(store.path) == [
        (
            "customer",
            "My card [card number] was charged, mail me at [e-mail]",
            "We keep it for ten years [1]",
            '["doc:retention:1"]',
            -1,
            "call me on [phone]",
        )
    ]
    assert "4111" not in store.path.read_bytes().decode("utf-8", "replace")


def test_rows_and_exports(store: FeedbackStore, tmp_path: Path) -> None:
    store.add(view="agent", question="How long?", answer="Ten years [1]", clause_ids=["a:1", "b:2"], rating=1)
    store.add(view="customer", question="你们卖我的数据吗?", answer="不 [1]", clause_ids=[], rating=-1, comment="没用")
    rows = store.rows()
    assert [(r.id, r.view, r.rating, r.clause_ids) for r in rows] == [
        (1, "agent", 1, ("a:1", "b:2")),
        (2, "customer", -1, ()),
    ]
    table = list(csv.DictReader(io.StringIO(store.export_csv(tmp_path / "out.csv"))))
    assert [t["clause_ids"] for t in table] == ["a:1 b:2", ""]
    assert table[1]["comment"] == "没用"
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").startswith("id,created_at,view,question")
    lines = [json.loads(x) for x in store.export_jsonl().splitlines()]
    assert lines[0]["clause_ids"] == ["a:1", "b:2"] and lines[1]["question"] == "你们卖我的数据吗?"


def test_conversation_log_is_redacted(store: FeedbackStore) -> None:
    store.log_message(
        view="customer", question="SSN 123-45-6789, how long?", answer="x", clause_ids=["c"], abstained=False
    )
    assert next(iter(store.messages()))["question"] == "SSN [id number], how long?"


def test_empty_store_exports_a_header(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "none.sqlite3")
    assert store.rows() == []
    assert store.export_csv().strip() == "id,created_at,view,question,answer,clause_ids,rating,comment"
    assert store.export_jsonl() == ""


@pytest.mark.parametrize(("view", "rating"), [("public", 1), ("agent", 0), ("agent", 5)])
def test_bad_values_are_refused(store: FeedbackStore, view: str, rating: int) -> None:
    with pytest.raises(InputError):
        store.add(view=view, question="q", answer="a", clause_ids=[], rating=rating)


def test_logging_never_sees_the_raw_text(store: FeedbackStore, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="app"):
        store.add(
            view="agent",
            question="card 4111111111111111",
            answer="a",
            clause_ids=[],
            rating=1,
            comment="me@example.org",
        )
    assert "4111" not in caplog.text and "example.org" not in caplog.text


def test_path_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PRIVACY_ASSISTANT_CONFIG", raising=False)
    monkeypatch.setenv("PRIVACY_ASSISTANT_FEEDBACK_DB", str(tmp_path / "x.sqlite3"))
    assert FeedbackStore(Settings.load().feedback_db).path == tmp_path / "x.sqlite3"  # the CLI passes it in
    monkeypatch.delenv("PRIVACY_ASSISTANT_FEEDBACK_DB")
    assert Settings.load().feedback_db == Path("feedback.sqlite3")


@pytest.mark.parametrize(
    "typed", ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
)
def test_csv_export_neutralises_formulas(tmp_path, typed) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    store.add(view="customer", question=typed, answer=typed, clause_ids=[], rating=1, comment=typed)
    stored = store.rows()[0]
    row = list(csv.reader(io.StringIO(store.export_csv())))[1]
    for cell, value in ((row[3], stored.question), (row[4], stored.answer), (row[7], stored.comment)):
        assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
        assert cell == ("'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value)
    assert row[3] == "'" + typed  # the question as typed, made inert
