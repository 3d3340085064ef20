"""Hybrid retrieval over clauses: FAISS (dense) and BM25 (lexical), fused by rank.

Filters are applied inside each search (a FAISS ID selector, a BM25 mask), so a filter
never loses results to clauses that were then thrown away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from app.errors import InputError
from app.index import ClauseIndex
from app.lexical import LexicalIndex
from app.records import Clause


@dataclass(frozen=True)
class Filters:
    """Metadata filters; every given field must match."""

    doc_id: str | None = None
    brand: str | None = None
    region: str | None = None
    lang: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object] | None) -> Filters:
        """Validate a contract ``filters`` object; unknown fields are named in the error."""
        data = data or {}
        known = {f.name for f in fields(cls)}
        for key, value in data.items():
            if key not in known:
                raise InputError(f"filters: unknown field {key!r} (known: {', '.join(sorted(known))})")
            if value is not None and not isinstance(value, str):
                raise InputError(f"filters: field {key!r} must be a string")
        return cls(**{k: v for k, v in data.items() if v not in (None, "")})  # type: ignore[arg-type]

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Hit:
    """One retrieved clause with its scores."""

    row: int
    clause: Clause
    score: float  # fused, 0..1
    dense: float  # cosine similarity
    lexical: float  # BM25


class HybridRetriever:
    """Dense + BM25 retrieval fused with reciprocal rank fusion."""

    def __init__(self, index: ClauseIndex, rrf_k: int = 60, depth: int = 50) -> None:
        self.index = index
        self.rrf_k = rrf_k
        self.depth = depth
        self.lexical = LexicalIndex([c.embed_text() for c in index.clauses])
        meta = {d: doc.meta for d, doc in index.documents.items()}
        self._doc = np.array([c.doc_id for c in index.clauses])
        self._lang = np.array([c.lang for c in index.clauses])
        self._brand = np.array([meta[c.doc_id].brand.lower() for c in index.clauses])
        self._region = np.array([meta[c.doc_id].region.lower() for c in index.clauses])

    def mask(self, filters: Filters, doc_ids: set[str] | None = None, lang: str | None = None) -> np.ndarray:
        """Rows allowed by the filters, an optional document set and a language."""
        keep = np.ones(len(self.index.clauses), dtype=bool)
        if filters.doc_id:
            keep &= self._doc == filters.doc_id
        if filters.brand:
            keep &= self._brand == filters.brand.lower()
        if filters.region:
            keep &= np.char.find(self._region.astype(str), filters.region.lower()) >= 0
        if filters.lang:
            keep &= self._lang == filters.lang
        if doc_ids is not None:
            keep &= np.isin(self._doc, list(doc_ids))
        if lang is not None and (keep & (self._lang == lang)).any():
            keep &= self._lang == lang  # a language the allowed text has: answer from it
        return keep

    def search(
        self,
        query_vector: np.ndarray,
        query_tokens: list[str],
        allowed: np.ndarray,
        k: int,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
    ) -> list[Hit]:
        """Top ``k`` clauses among ``allowed`` rows, best first. ``weights`` scale the three
        rankings (clause dense, sentence dense, BM25) in the fusion."""
        rows = np.flatnonzero(allowed)
        if len(rows) == 0:
            return []
        depth = min(max(self.depth, k), len(rows))
        dense_rows, _ = self._dense(query_vector, rows, depth)
        sentence_best = self.best_sentence_scores(query_vector)
        sent_rows = rows[np.argsort(-sentence_best[rows], kind="stable")[:depth]]
        bm25 = self.lexical.scores(query_tokens)
        lex_rows = rows[np.argsort(-bm25[rows], kind="stable")[:depth]]
        lex_rows = lex_rows[bm25[lex_rows] > 0]
        rankings = (dense_rows, sent_rows, lex_rows)
        fused: dict[int, float] = {}
        for weight, ranking in zip(weights, rankings, strict=True):
            for rank, row in enumerate(ranking.tolist()):
                fused[row] = fused.get(row, 0.0) + weight / (self.rrf_k + rank + 1)
        best = sum(weights) / (self.rrf_k + 1)
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        clause_cos = self.index.clause_vectors[order] @ query_vector if order else np.zeros(0)
        return [
            Hit(
                row=r,
                clause=self.index.clauses[r],
                score=fused[r] / best,
                dense=max(float(clause_cos[i]), float(sentence_best[r])),
                lexical=float(bm25[r]),
            )
            for i, r in enumerate(order)
        ]

    def best_sentence_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Per clause, the cosine of its sentence closest to the question: a long clause
        that holds one answering sentence should not lose to a short vague one."""
        scores = self.index.sentence_vectors @ query_vector
        return np.maximum.reduceat(scores, self.index.sentence_offsets[:-1])

    def _dense(self, query_vector: np.ndarray, rows: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray]:
        import faiss

        query = query_vector.reshape(1, -1).astype(np.float32)
        if len(rows) == len(self.index.clauses):
            scores, ids = self.index.faiss_index.search(query, depth)
        else:
            selector = faiss.IDSelectorBatch(rows.astype(np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            scores, ids = self.index.faiss_index.search(query, depth, params=params)
        keep = ids[0] >= 0
        return ids[0][keep].astype(np.int64), scores[0][keep]
