"""Eval sets in the contract's JSON Lines format, validated line by line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.errors import InputError
from app.evaluation.metrics import Source
from app.jsonl import read_objects

DEFAULT_SETS = (Path("evals/dev.jsonl"), Path("evals/test.jsonl"))


@dataclass(frozen=True)
class EvalItem:
    id: str
    question: str
    lang: str
    persona: str
    answerable: bool
    filters: dict[str, str]
    sources: tuple[Source, ...]
    needs_all: bool
    answer_facts: tuple[str, ...]
    kind: str
    split: str

    @property
    def doc(self) -> str:
        """The document an item is about (its first source), for breakdowns."""
        return self.sources[0].doc_id if self.sources else "(unanswerable)"


def load_eval_set(path: Path) -> list[EvalItem]:
    """Read an eval set; any malformed line is an InputError naming the line and field."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    for where, row in read_objects(path):
        for key, kind in (("id", str), ("question", str)):
            if not isinstance(row.get(key), kind):
                raise InputError(f"{where}: field {key!r} (a string) is required")
        if row["id"] in seen:
            raise InputError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        for key in ("answerable", "needs_all"):
            if key in row and not isinstance(row[key], bool):
                raise InputError(f"{where}: field {key!r} must be true or false")
        sources = row.get("sources", [])
        if sources is None:
            sources = []
        if not isinstance(sources, list) or not all(
            isinstance(s, dict) and isinstance(s.get("doc_id"), str) and isinstance(s.get("quote"), str)
            for s in sources
        ):
            raise InputError(f"{where}: field 'sources' must be a list of {{doc_id, quote}} objects")
        filters = row.get("filters") if row.get("filters") is not None else {}
        if not isinstance(filters, dict):
            raise InputError(f"{where}: field 'filters' must be an object")
        facts = row.get("answer_facts") if row.get("answer_facts") is not None else []
        if not isinstance(facts, list) or not all(isinstance(f, str) for f in facts):
            raise InputError(f"{where}: field 'answer_facts' must be a list of strings")
        items.append(
            EvalItem(
                id=row["id"],
                question=row["question"],
                lang=str(row.get("lang", "en")),
                persona=str(row.get("persona", "")),
                answerable=bool(row.get("answerable", bool(sources))),
                filters=filters,
                sources=tuple(Source(s["doc_id"], s["quote"]) for s in sources),
                needs_all=bool(row.get("needs_all", False)),
                answer_facts=tuple(facts),
                kind=str(row.get("kind", "")),
                split=path.stem,
            )
        )
    if not items:
        raise InputError(f"{path}: eval set is empty")
    return items
