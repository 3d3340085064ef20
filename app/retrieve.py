"""Hybrid retrieval over clauses: FAISS (dense) and BM25 (lexical), fused by rank.

Filters are applied inside each search (a FAISS ID selector, a BM25 mask), so a filter
never loses results to clauses that were then thrown away. Above the index's ANN size the
FAISS indexes are IVF; a filter that leaves few rows is then searched exhaustively over
exactly those rows, so filtered results stay exact at any size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from app.errors import InputError
from app.index import ClauseIndex
from app.lexical import LexicalIndex
from app.records import Clause
from app.timing import Stages


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


class VectorSearch:
    """Top rows by inner product among allowed rows, through a FAISS index.

    A flat index is exact; an IVF index is searched with ``nprobe`` lists and an ID
    selector, except when the allowed rows are few (``exact_below``): those are scored
    exhaustively (``faiss.knn`` on exactly the allowed vectors), where IVF could miss
    them in lists it does not probe."""

    def __init__(self, vectors: np.ndarray, faiss_index: Any, nprobe: int = 32, exact_below: int = 20_000) -> None:
        import faiss

        self.vectors = vectors
        self.index = faiss_index
        self.approximate = isinstance(faiss_index, faiss.IndexIVF)
        self.nprobe = nprobe  # passed with each search, not set on the shared index
        self.exact_below = exact_below

    def top(
        self, query: np.ndarray, allowed: np.ndarray | None, k: int, exact: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows and scores of the best ``k`` allowed rows (``allowed`` None: all), best first."""
        import faiss

        q = query.reshape(1, -1).astype(np.float32)
        n_allowed = len(self.vectors) if allowed is None else int(np.count_nonzero(allowed))
        k = min(k, n_allowed)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.approximate and (exact or n_allowed <= self.exact_below):
            rows = np.arange(len(self.vectors)) if allowed is None else np.flatnonzero(allowed)
            scores, ids = faiss.knn(q, np.ascontiguousarray(self.vectors[rows]), k, metric=faiss.METRIC_INNER_PRODUCT)
            return rows[ids[0]], scores[0]
        params: Any = faiss.SearchParametersIVF(nprobe=self.nprobe) if self.approximate else None  # type: ignore[call-arg]
        bits = None
        if allowed is not None and n_allowed < len(self.vectors):
            bits = np.packbits(allowed, bitorder="little")  # must outlive the search
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
            if self.approximate:
                params.sel = selector
            else:
                params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
        scores, ids = self.index.search(q, k, params=params)
        del bits
        keep = ids[0] >= 0
        if self.approximate and int(keep.sum()) < k:  # the probed lists held too few allowed rows
            return self.top(query, allowed, k, exact=True)
        return ids[0][keep].astype(np.int64), scores[0][keep]


class HybridRetriever:
    """Dense (clauses and their sentences) + BM25 retrieval fused with reciprocal rank fusion."""

    def __init__(self, index: ClauseIndex, rrf_k: int = 60, depth: int = 50, nprobe: int = 32) -> None:
        self.index = index
        self.rrf_k = rrf_k
        self.depth = depth
        self.lexical = LexicalIndex([c.embed_text() for c in index.clauses])
        self.clauses = VectorSearch(index.clause_vectors, index.faiss_index, nprobe)
        self.sentences = VectorSearch(index.sentence_vectors, index.sentence_index, nprobe)
        counts = np.diff(index.sentence_offsets)
        self._counts = counts
        self._sentence_clause = np.repeat(np.arange(len(index.clauses)), counts)
        # Metadata as small integer codes per clause row: masks are array lookups.
        meta = {d: doc.meta for d, doc in index.documents.items()}
        self._doc_codes = {d: i for i, d in enumerate(sorted({c.doc_id for c in index.clauses}))}
        self._doc = np.array([self._doc_codes[c.doc_id] for c in index.clauses], dtype=np.int32)
        docs = sorted(self._doc_codes, key=self._doc_codes.__getitem__)
        self._doc_brand = np.array([meta[d].brand.lower() for d in docs])
        self._doc_region = [meta[d].region.lower() for d in docs]
        self._lang_codes = {lang: i for i, lang in enumerate(sorted({c.lang for c in index.clauses}))}
        self._lang = np.array([self._lang_codes[c.lang] for c in index.clauses], dtype=np.int8)
        self._masks: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()

    def has_lang(self, allowed: np.ndarray, lang: str) -> bool:
        """Whether any allowed clause is written in ``lang``."""
        code = self._lang_codes.get(lang)
        return code is not None and bool((allowed & (self._lang == code)).any())

    def mask(self, filters: Filters, doc_ids: AbstractSet[str] | None = None, lang: str | None = None) -> np.ndarray:
        """Rows allowed by the filters, an optional document set and a language (read-only;
        the last few hundred masks are kept, since most questions share one)."""
        key = (filters, None if doc_ids is None else frozenset(doc_ids), lang)
        if (hit := self._masks.get(key)) is not None:
            self._masks.move_to_end(key)
            return hit
        docs = np.ones(len(self._doc_codes), dtype=bool)
        if filters.doc_id:
            docs &= np.arange(len(docs)) == self._doc_codes.get(filters.doc_id, -1)
        if filters.brand:
            docs &= self._doc_brand == filters.brand.lower()
        if filters.region:
            docs &= np.array([filters.region.lower() in r for r in self._doc_region], dtype=bool)
        if doc_ids is not None:
            chosen = np.zeros(len(docs), dtype=bool)
            chosen[[self._doc_codes[d] for d in doc_ids if d in self._doc_codes]] = True
            docs &= chosen
        keep = docs[self._doc]
        if filters.lang:
            keep &= self._lang == self._lang_codes.get(filters.lang, -1)
        if lang is not None and lang in self._lang_codes:
            same = keep & (self._lang == self._lang_codes[lang])
            if same.any():
                keep = same  # a language the allowed text has: answer from it
        keep.setflags(write=False)
        self._masks[key] = keep
        if len(self._masks) > 256:
            self._masks.popitem(last=False)
        return keep

    def search(
        self,
        query_vector: np.ndarray,
        query_tokens: list[str],
        allowed: np.ndarray,
        k: int,
        weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
        stages: Stages | None = None,
    ) -> list[Hit]:
        """Top ``k`` clauses among ``allowed`` rows, best first. ``weights`` scale the three
        rankings (clause dense, sentence dense, BM25) in the fusion; a ranking of weight 0
        is not computed."""
        n_allowed = int(np.count_nonzero(allowed))
        if n_allowed == 0:
            return []
        depth = min(max(self.depth, k), n_allowed)
        stages = stages or Stages()
        empty = np.zeros(0, dtype=np.int64)
        dense_rows = self.clauses.top(query_vector, allowed, depth)[0] if weights[0] else empty
        stages.lap("FAISS clauses")
        sent_rows = self.sentence_ranking(query_vector, allowed, depth) if weights[1] else empty
        stages.lap("FAISS sentences")
        bm25 = self.lexical.scores(query_tokens)
        lex_rows = _top_rows(np.where(allowed, bm25, 0.0), depth) if weights[2] else empty
        stages.lap("BM25")
        rankings = (dense_rows, sent_rows, lex_rows)
        fused: dict[int, float] = {}
        for weight, ranking in zip(weights, rankings, strict=True):
            for rank, row in enumerate(ranking.tolist()):
                fused[row] = fused.get(row, 0.0) + weight / (self.rrf_k + rank + 1)
        best = sum(weights) / (self.rrf_k + 1)
        order = sorted(fused, key=lambda r: (-fused[r], r))[:k]
        clause_cos = self.index.clause_vectors[order] @ query_vector if order else np.zeros(0)
        hits = [
            Hit(
                row=r,
                clause=self.index.clauses[r],
                score=fused[r] / best,
                dense=max(float(clause_cos[i]), self.best_sentence_score(query_vector, r)),
                lexical=float(bm25[r]),
            )
            for i, r in enumerate(order)
        ]
        stages.lap("fusion")
        return hits

    def sentence_ranking(self, query_vector: np.ndarray, allowed: np.ndarray, depth: int) -> np.ndarray:
        """Allowed clauses ranked by their sentence closest to the question (a long clause
        that holds one answering sentence should not lose to a short vague one): the
        clauses of the best sentences, in order, until ``depth`` distinct ones."""
        sentence_allowed = np.repeat(allowed, self._counts)
        available = int(np.count_nonzero(sentence_allowed))
        want = min(available, 4 * depth)
        while True:
            rows, _ = self.sentences.top(query_vector, sentence_allowed, want)
            clauses = self._sentence_clause[rows]
            _, first = np.unique(clauses, return_index=True)
            ranked = clauses[np.sort(first)]
            if len(ranked) >= depth or want >= available:
                return ranked[:depth]
            want = min(available, want * 4)

    def best_sentence_score(self, query_vector: np.ndarray, row: int) -> float:
        """The cosine of a clause's sentence closest to the question."""
        rows = self.index.sentence_rows(row)
        if not len(rows):
            return 0.0
        return float(np.max(self.index.sentence_vectors[rows.start : rows.stop] @ query_vector))


def _top_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` highest positive scores, best first (ties by row)."""
    k = min(k, len(scores))
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    kth = -np.partition(-scores, k - 1)[k - 1]  # O(n): no sort of every row
    above = np.flatnonzero(scores > kth)
    ties = np.flatnonzero(scores == kth)[: k - len(above)]
    part = np.concatenate([above, ties])
    part = part[scores[part] > 0]
    return part[np.lexsort((part, -scores[part]))].astype(np.int64)
