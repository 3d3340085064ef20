"""Choosing the sentences that answer, among those of the retrieved clauses, and how sure to
be of them.

`choose` is the one step `ask` takes: every sentence of the top clauses becomes a candidate
with its features (`candidates`), a `Chooser` scores and picks them and says how likely the
lead one answers. The production chooser is `LearnedChooser`, the fitted selector that ships
beside the encoder (app/selection.py, `privacy-assistant train selector`); the hand-weighted
rules and the plain cosine it replaced live with the ablation (app/evaluation/choosers.py).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np

from app.answer import Evidence
from app.errors import InputError
from app.query import QueryPlan
from app.retrieve import Hit
from app.selection import SENTENCE_FEATURES, Selector, answer_features
from app.stages import Chosen, Lookup

SELECTOR_FILE = "selector.json"


class Chooser(Protocol):
    """How candidate sentences are scored and picked, and how sure to be of the lead one."""

    @property
    def learned(self) -> bool:
        """Its confidence is the probability the decision model was fitted on."""
        ...

    def scored(self, lookup: Lookup, hits: Sequence[Hit], avoid: re.Pattern[str] | None = None) -> list[Evidence]:
        """The candidate sentences of ``hits``, scored, best first (none matching ``avoid``)."""
        ...

    def select(self, scored: list[Evidence], lang: str) -> list[Evidence]:
        """The sentences that answer, from ``scored`` (best first)."""
        ...

    def confidence(self, lookup: Lookup, evidence: list[Evidence], scored: list[Evidence]) -> float:
        """How likely the lead sentence answers."""
        ...

    def weak_below(self, lang: str) -> float | None:
        """The confidence under which the evidence is too weak to answer (None: never)."""
        ...


def choose(
    chooser: Chooser, lookup: Lookup, clauses: int, max_compare_docs: int, avoid: re.Pattern[str] | None = None
) -> Chosen:
    """The sentences that answer the looked-up question, from its top ``clauses`` clauses; a
    comparison of several policies quotes each of them (up to ``max_compare_docs``)."""
    query, found = lookup.query, lookup.retrieval
    scored = chooser.scored(lookup, found.hits[:clauses], avoid)
    if query.compare and not lookup.filters.doc_id and 1 < len(found.docs) <= max_compare_docs:
        evidence = compare(chooser, lookup, found.docs, clauses, avoid)
    else:
        evidence = one_policy(chooser.select(scored, query.lang), query)
    return Chosen(evidence, scored, chooser.confidence(lookup, evidence, scored))


def compare(
    chooser: Chooser, lookup: Lookup, docs: AbstractSet[str], k: int, avoid: re.Pattern[str] | None = None
) -> list[Evidence]:
    """What the chooser picks in each compared document, in date order."""
    catalog = lookup.snapshot.catalog
    evidence: list[Evidence] = []
    for doc_id in sorted(docs, key=lambda d: catalog[d].effective_date):
        hits = lookup.snapshot.retriever.retrieve_within(lookup.retrieval, doc_id, lookup.query.lang, k)
        evidence += chooser.select(chooser.scored(lookup, hits, avoid), lookup.query.lang)
    return evidence


def candidates(lookup: Lookup, hits: Sequence[Hit]) -> list[Evidence]:
    """Every sentence of the given clauses with its features (``SENTENCE_FEATURES``, what the
    learned selector reads); its score is the encoder's cosine until a chooser scores it."""
    snapshot, query, vector = lookup.snapshot, lookup.query, lookup.retrieval.vector
    out: list[Evidence] = []
    rows: list[list[float]] = []
    lexical = snapshot.retriever.lexical
    for hit in hits:
        sentence_rows = snapshot.index.sentence_rows(hit.row)
        if not len(sentence_rows):
            continue
        dense = snapshot.index.sentence_vectors[sentence_rows.start : sentence_rows.stop] @ vector
        clause_cos = float(snapshot.index.clause_vectors[hit.row] @ vector)
        for j, span in enumerate(hit.clause.sentences):
            text = hit.clause.sentence_text(j)
            shaped = query.shape is not None and bool(query.shape.search(text))
            plain = lexical.coverage(query.terms, snapshot.sentence_tokens(hit.clause, hit.row, j))
            short = float(not substantive(text, query.lang))
            out.append(Evidence(hit.clause, span.start, span.end, float(dense[j])))
            rows.append([float(dense[j]), 0.0, hit.score, clause_cos, plain, short, float(shaped), float(j == 0)])
    features = np.asarray(rows, dtype=np.float64).reshape(-1, len(SENTENCE_FEATURES))
    if len(features):
        features[:, 1] = features[:, 0] - features[:, 0].max()  # the cosine's gap to the best one
    return [replace(e, features=tuple(f.tolist())) for e, f in zip(out, features, strict=True)]


@dataclass(frozen=True)
class LearnedChooser:
    """The fitted selector: P(this sentence holds the answer) per candidate, close seconds
    cited beside the lead, and P(answerable) from the lead's features."""

    selector: Selector
    max_citations: int = 2

    @classmethod
    def beside(cls, folder: Path | None, path: Path | None = None) -> LearnedChooser:
        """The selector fitted for the encoder in ``folder`` (or the file ``path``)."""
        path = path or (folder / SELECTOR_FILE if folder is not None else None)
        if path is None or not path.is_file():
            raise InputError(
                f"no fitted selector for this encoder ({path or 'a model without a folder'}): "
                "run `privacy-assistant train selector`"
            )
        return cls(Selector.load(path))

    @property
    def learned(self) -> bool:
        return True

    def scored(self, lookup: Lookup, hits: Sequence[Hit], avoid: re.Pattern[str] | None = None) -> list[Evidence]:
        evidence = candidates(lookup, hits)
        if evidence:
            x = np.array([e.features for e in evidence], dtype=np.float64)
            probs = self.selector.sentence_model(lookup.query.lang).probability(x)
            evidence = [replace(e, score=float(p)) for e, p in zip(evidence, probs, strict=True)]
        return best_first(evidence, avoid)

    def select(self, scored: list[Evidence], lang: str) -> list[Evidence]:
        """The lead, and seconds whose probability nearly matches it (the fitted ``support`` share)."""
        return with_seconds(scored, self.selector.support, self.max_citations)

    def confidence(self, lookup: Lookup, evidence: list[Evidence], scored: list[Evidence]) -> float:
        if not evidence:
            return 0.0
        lead = evidence[0]
        runner_up = next((e.score for e in scored[1:] if e.text != lead.text), 0.0)
        hits = lookup.retrieval.hits
        clause = next((h.score for h in hits if h.clause.clause_id == lead.clause.clause_id), 0.0)
        x = answer_features(lead.score, lead.features[0], lead.features[4], runner_up, clause)
        return float(self.selector.answer_model(lookup.query.lang).probability(x)[0])

    def weak_below(self, lang: str) -> float | None:
        return 0.5  # a probability: weaker than even odds


def best_first(evidence: list[Evidence], avoid: re.Pattern[str] | None) -> list[Evidence]:
    """Scored evidence, best first, without the sentences matching ``avoid``."""
    return [e for e in sorted(evidence, key=lambda e: -e.score) if avoid is None or not avoid.search(e.text)]


def with_seconds(scored: list[Evidence], ratio: float, most: int) -> list[Evidence]:
    """The best sentence, and close seconds (a score at least ``ratio`` of the lead's) that
    add to it, up to ``most`` in all."""
    if not scored:
        return []
    chosen = [scored[0]]
    for ev in scored[1:]:
        if len(chosen) >= most or ev.score < ratio * scored[0].score:
            break
        if all(ev.text != c.text for c in chosen):
            chosen.append(ev)
    return chosen


def substantive(sentence: str, lang: str) -> bool:
    """Long enough to say something, or a contact line (an address, a number, an e-mail)."""
    return len(sentence) >= (8 if lang == "zh" else 25) or bool(re.search(r"\d{3}|@", sentence))


def one_policy(evidence: list[Evidence], query: QueryPlan) -> list[Evidence]:
    """The evidence from the policy the best sentence comes from, unless the question named
    several policies: one reply speaks for one policy (and says which)."""
    if not evidence or (query.doc_ids is not None and len(query.doc_ids) > 1):
        return evidence
    return [ev for ev in evidence if ev.clause.doc_id == evidence[0].clause.doc_id]
