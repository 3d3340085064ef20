"""Search above the ANN size: IVF indexes, and filters that stay exact."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.index import build_index, clause_vectors_from, load_index, new_faiss_index
from app.records import Clause, Filters, Span
from app.retrieve import HybridRetriever, VectorSearch, _top_rows


def _unit(rows: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _exact(vectors: np.ndarray, query: np.ndarray, allowed: np.ndarray, k: int) -> list[int]:
    rows = np.flatnonzero(allowed)
    return rows[np.argsort(-(vectors[rows] @ query), kind="stable")[:k]].tolist()


def test_ivf_from_the_threshold_on():
    vectors = _unit(5000)
    assert type(new_faiss_index(vectors, ann_threshold=5001)).__name__ == "IndexFlatIP"
    ivf = new_faiss_index(vectors, ann_threshold=5000)
    assert type(ivf).__name__ == "IndexIVFFlat" and ivf.is_trained and ivf.ntotal == 0


def test_filtered_ivf_search_is_exact():
    """A filter that leaves few rows is searched over exactly those rows: no row outside it,
    and the same top rows as brute force, though IVF alone would miss some."""
    vectors = _unit(5000)
    index = new_faiss_index(vectors, ann_threshold=1)
    index.add(vectors)
    search = VectorSearch(vectors, index, nprobe=1, exact_below=1000)
    rng = np.random.default_rng(1)
    for _ in range(20):
        allowed = np.zeros(len(vectors), dtype=bool)
        allowed[rng.choice(len(vectors), 300, replace=False)] = True
        query = _unit(1, seed=int(rng.integers(1 << 30)))[0]
        rows, scores = search.top(query, allowed, 10)
        assert allowed[rows].all()
        assert rows.tolist() == _exact(vectors, query, allowed, 10)
        assert np.all(np.diff(scores) <= 1e-6)


def test_broad_filter_on_ivf_keeps_only_allowed_rows():
    vectors = _unit(5000)
    index = new_faiss_index(vectors, ann_threshold=1)
    index.add(vectors)
    search = VectorSearch(vectors, index, nprobe=8, exact_below=100)
    allowed = np.arange(len(vectors)) % 2 == 0
    query = vectors[10]
    rows, _ = search.top(query, allowed, 20)
    assert len(rows) == 20 and allowed[rows].all()
    assert rows[0] == 10  # the vector itself, found through the probed lists


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=-3, max_value=3, allow_nan=False).map(lambda x: round(x, 1)), max_size=60),
    st.integers(min_value=0, max_value=70),
)
def test_top_rows_matches_a_stable_sort(values, k):
    scores = np.asarray(values, dtype=np.float32)
    expected = [int(r) for r in np.argsort(-scores, kind="stable")[:k] if scores[r] > 0]
    assert _top_rows(scores, k).tolist() == expected


def test_clause_vector_is_the_length_weighted_mean_of_its_parts():
    clause = Clause("d", "d:s:1", ("Title",), "Aaaa. Bb.", "en", 0, 9, (Span(0, 5), Span(6, 9)))
    sentences = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    heading = {"Title": np.array([0.0, 0.0, 1.0], dtype=np.float32)}
    [vector] = clause_vectors_from([clause], sentences, heading)
    expected = np.array([5.0, 3.0, 5.0]) / np.linalg.norm([5.0, 3.0, 5.0])
    assert np.allclose(vector, expected)


@pytest.fixture
def ivf_index(tmp_path, fake_embedder):
    from tests.conftest import DOCUMENTS

    build_index(DOCUMENTS, tmp_path / "index", fake_embedder, ann_threshold=50)
    return load_index(tmp_path / "index")


def test_seed_index_as_ivf_answers_filters_exactly(ivf_index, fake_embedder):
    assert ivf_index.manifest["faiss"] == {
        "clauses": f"IVF{ivf_index.faiss_index.nlist}",
        "sentences": (f"IVF{ivf_index.sentence_index.nlist}"),
    }
    retriever = HybridRetriever(ivf_index)
    query = fake_embedder.embed_query("how long do you keep my personal information")
    for doc_id in ("harry-winston-privacy-policy-2015", "cartier-conditions-of-sale"):
        allowed = retriever.filter_mask(Filters(doc_id=doc_id))
        hits = retriever.search(query, ["keep", "person", "inform"], allowed, 10)
        assert hits and all(h.clause.doc_id == doc_id for h in hits)
    allowed = retriever.filter_mask(Filters(brand="Cartier"))
    hits = retriever.search(query, ["keep"], allowed, 10)
    assert hits and all(h.clause.doc_id.startswith("cartier") for h in hits)


def test_changing_the_ann_threshold_rebuilds_without_re_embedding(tmp_path, fake_embedder):
    from tests.conftest import DOCUMENTS, FakeEmbedder

    build_index(DOCUMENTS, tmp_path / "index", fake_embedder, ann_threshold=10**9)
    assert load_index(tmp_path / "index").manifest["faiss"] == {"clauses": "Flat", "sentences": "Flat"}
    again = FakeEmbedder()
    summary = build_index(DOCUMENTS, tmp_path / "index", again, ann_threshold=100)
    assert not summary.up_to_date and summary.embedded == 0 and again.calls == []
    assert load_index(tmp_path / "index").manifest["faiss"]["sentences"].startswith("IVF")
