"""Hybrid retrieval over clauses: FAISS (dense) and BM25 (lexical), fused by rank.

Filters are applied inside each search (a FAISS ID selector, a BM25 mask), so a filter
never loses results to clauses that were then thrown away. Above the index's ANN size the
FAISS indexes are IVF; a filter that leaves few rows is then searched exhaustively over
exactly those rows, so filtered results stay exact at any size.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.catalog import Catalog
from app.index import ClauseIndex
from app.query import QueryPlan, in_english
from app.records import Clause, Filters
from app.text.lexical import LexicalIndex
from app.timing import Stages


@dataclass(frozen=True)
class Request:
    """What to retrieve: a cleaned question, its plan, the caller's filters."""

    text: str
    plan: QueryPlan
    filters: Filters
    k: int
    fusion: Callable[[str], tuple[float, float, float]]  # language -> (clause dense, sentence dense, BM25) weights
    glossary: bool = True  # expand the BM25 query with the privacy glossary


@dataclass(frozen=True)
class Hit:
    """One retrieved clause with its scores."""

    row: int
    clause: Clause
    score: float  # fused, 0..1
    dense: float  # cosine similarity
    lexical: float  # BM25


@dataclass(frozen=True)
class Retrieval:
    """What a retrieval found, and how it searched (a comparison searches again the same way)."""

    hits: list[Hit]
    vector: np.ndarray
    docs: frozenset[str]  # the documents in scope
    tokens: list[str]  # the BM25 query
    weights: tuple[float, float, float]
    lang_filter: str | None = None
    searched: str = ""  # the text embedded: the question, or its English words for an English-only scope


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
        self.catalog = Catalog({d: doc.meta for d, doc in index.documents.items()})
        # Documents and languages as small integer codes per clause row: masks are array lookups.
        self._doc_codes = {d: i for i, d in enumerate(sorted({c.doc_id for c in index.clauses}))}
        self._doc = np.array([self._doc_codes[c.doc_id] for c in index.clauses], dtype=np.int32)
        self._lang_codes = {lang: i for i, lang in enumerate(sorted({c.lang for c in index.clauses}))}
        self._lang = np.array([self._lang_codes[c.lang] for c in index.clauses], dtype=np.int8)
        self._masks: OrderedDict[tuple[object, ...], np.ndarray] = OrderedDict()

    def has_lang(self, allowed: np.ndarray, lang: str) -> bool:
        """Whether any allowed clause is written in ``lang``."""
        code = self._lang_codes.get(lang)
        return code is not None and bool((allowed & (self._lang == code)).any())

    def retrieve(self, request: Request, embed: Callable[[str], np.ndarray], stages: Stages | None = None) -> Retrieval:
        """The request's top clauses: its scope (the catalogue's rule for filters and named
        policies), the clauses of that scope in the question's language where they exist,
        and the question embedded and searched. A question in a language the scope's text is
        not written in is searched with the English words for its own (the encoder reads English)."""
        stages = stages or Stages()
        query, filters = request.plan, request.filters
        docs = self.catalog.scope(filters, None if filters.doc_id else query.doc_ids, query.lang)
        allowed = self.mask(docs, filters.lang, prefer=query.lang)
        stages.lap("filters")
        tokens = query.tokens if request.glossary else query.terms
        searched, weights = request.text, request.fusion(query.lang)
        if (
            query.lang != "en"
            and not self.has_lang(allowed, query.lang)
            and (english := [t for t in in_english(tokens) if t.isascii()])
        ):
            tokens, searched, weights = english, " ".join(english), request.fusion("en")
        vector = embed(searched)
        stages.lap("query embedding")
        hits = self.search(vector, tokens, allowed, request.k, weights, stages)
        return Retrieval(hits, vector, docs, tokens, weights, filters.lang, searched)

    def retrieve_within(self, retrieval: Retrieval, doc_id: str, lang: str, k: int) -> list[Hit]:
        """The same search again, inside one document of its scope (a comparison's side)."""
        allowed = self.mask(frozenset({doc_id}), retrieval.lang_filter, prefer=lang)
        return self.search(retrieval.vector, retrieval.tokens, allowed, k, retrieval.weights)

    def filter_mask(self, filters: Filters) -> np.ndarray:
        """Rows a contract ``filters`` object allows among every version (the baselines' rule)."""
        among = {filters.doc_id} if filters.doc_id else set(self.catalog)
        return self.mask(self.catalog.matching(filters, among), filters.lang)

    def mask(self, docs: AbstractSet[str], lang: str | None = None, prefer: str | None = None) -> np.ndarray:
        """Rows of ``docs``, only those in ``lang`` when given, and only those in ``prefer``
        when the documents have text in it (read-only; the last few hundred masks are kept,
        since most questions share one)."""
        key = (frozenset(docs), lang, prefer)
        if (hit := self._masks.get(key)) is not None:
            self._masks.move_to_end(key)
            return hit
        chosen = np.zeros(len(self._doc_codes), dtype=bool)
        chosen[[self._doc_codes[d] for d in docs if d in self._doc_codes]] = True
        keep = chosen[self._doc]
        if lang:
            keep &= self._lang == self._lang_codes.get(lang, -1)
        if prefer is not None and prefer in self._lang_codes:
            same = keep & (self._lang == self._lang_codes[prefer])
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
