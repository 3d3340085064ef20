"""Reference pipelines scored by the same code as the assistant.

- ``dense``: FAISS over the same clauses; the top clause, whole, is the citation.
- ``bm25``: BM25 over the same clauses; the top clause, whole, is the citation.
- ``llamaindex-default``: llama-index's ``VectorStoreIndex`` with its default splitter
  over the same normalised documents and the same embedding model; top-k retriever;
  the top chunk, whole, is the citation.

None of them abstains: they show what retrieval alone gives, and how large their units are.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.answer import Answer, Citation, Retrieved
from app.evaluation.dataset import EvalItem
from app.evaluation.scoring import Pipeline
from app.records import Filters

if TYPE_CHECKING:
    from app.assistant import Assistant
    from app.embedding import SentenceTransformerEmbedder

BASELINES = ("dense", "bm25", "llamaindex-default")


def _answer(item: EvalItem, units: list[tuple[str, str, str, str, float]], started: float) -> Answer:
    """units: (doc_id, clause_id, section, text, score), best first."""
    retrieved = tuple(Retrieved(*u) for u in units)
    citations: tuple[Citation, ...] = ()
    text = ""
    if units:
        doc_id, clause_id, section, body, score = units[0]
        citations = (Citation(1, doc_id, clause_id, section, body, -1, -1, score),)
        text = f"{body} [1]"
    return Answer(item.id, item.question, text, False, citations, retrieved, (time.perf_counter() - started) * 1000)


def make_baseline(name: str, assistant: Assistant, embedder: SentenceTransformerEmbedder) -> Pipeline:
    """A pipeline (EvalItem -> Answer) for a named baseline, over the assistant's index
    (``embedder``: the assistant's own, which llama-index is given as its embedding model)."""
    import numpy as np

    from app.text.lexical import tokenize

    state = assistant.snapshot()
    retriever = state.retriever
    clauses = state.index.clauses

    def clause_units(rows: list[int], scores: list[float]) -> list[tuple[str, str, str, str, float]]:
        return [
            (clauses[r].doc_id, clauses[r].clause_id, clauses[r].section_title, clauses[r].text, float(s))
            for r, s in zip(rows, scores, strict=True)
        ]

    if name == "dense":

        def dense(item: EvalItem) -> Answer:
            started = time.perf_counter()
            allowed = retriever.filter_mask(Filters.from_dict(item.filters))
            vector = assistant.embedder.embed_query(item.question)
            rows, scores = retriever.clauses.top(vector, allowed, 10)
            return _answer(item, clause_units(rows.tolist(), scores.tolist()), started)

        return dense

    if name == "bm25":

        def bm25(item: EvalItem) -> Answer:
            started = time.perf_counter()
            allowed = retriever.filter_mask(Filters.from_dict(item.filters))
            scores = retriever.lexical.scores(tokenize(item.question))
            scores = np.where(allowed, scores, -1.0)
            rows = [int(r) for r in np.argsort(-scores, kind="stable")[:10] if scores[r] > 0]
            return _answer(item, clause_units(rows, [float(scores[r]) for r in rows]), started)

        return bm25

    if name == "llamaindex-default":
        return _llamaindex_default(assistant, embedder)
    raise ValueError(name)


def _llamaindex_default(assistant: Assistant, embedder: SentenceTransformerEmbedder) -> Pipeline:
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.vector_stores import ExactMatchFilter, MetadataFilters

    state = assistant.snapshot()
    docs = [Document(text=d.text, metadata={"doc_id": d.doc_id}, id_=d.doc_id) for d in state.index.documents.values()]
    index = VectorStoreIndex.from_documents(docs, embed_model=embedder.llama_embedding)

    def answer(item: EvalItem) -> Answer:
        started = time.perf_counter()
        doc_filter = (item.filters or {}).get("doc_id")
        filters = MetadataFilters(filters=[ExactMatchFilter(key="doc_id", value=doc_filter)]) if doc_filter else None
        nodes = index.as_retriever(similarity_top_k=10, filters=filters).retrieve(item.question)
        units = [
            (n.node.metadata["doc_id"], n.node.node_id, "", n.node.get_content(), float(n.score or 0)) for n in nodes
        ]
        return _answer(item, units, started)

    return answer
