"""llama-index on our pipeline: the splitter as a node parser, the hybrid retriever under a
llama-index query engine (MockLLM, no network) citing our clauses, filters passed through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_index.core import VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.query_engine import RetrieverQueryEngine
from llama_index.core.schema import Document, MetadataMode, NodeRelationship, TextNode
from llama_index.core.vector_stores import ExactMatchFilter, FilterCondition, FilterOperator, MetadataFilter
from llama_index.core.vector_stores import MetadataFilters as LlamaFilters

from app.documents import load_documents
from app.errors import InputError
from app.llamaindex import ClauseEmbedding, ClauseNodeParser, PrivacyRetriever, as_filters, policy_documents
from app.records import Filters
from app.splitter import SplitterConfig, split_document
from tests.conftest import DOCUMENTS, SEED_IDS, FakeEmbedder

HW = "harry-winston-privacy-policy-2015"
RETENTION = "How long do you keep my personal information?"


def _raw(path: str) -> str:
    return Path(path).read_bytes().decode("utf-8-sig")  # as ingest reads a file


def test_node_parser_gives_the_splitters_clauses() -> None:
    """One node per clause, with the clause's id, text, section and offsets into the
    normalised text ingest stores (not the raw file text llama-index would search)."""
    nodes = ClauseNodeParser().get_nodes_from_documents(policy_documents(DOCUMENTS))
    by_doc: dict[str, list[TextNode]] = {}
    for node in nodes:
        assert isinstance(node, TextNode)
        by_doc.setdefault(node.metadata["doc_id"], []).append(node)
    assert sorted(by_doc) == sorted(SEED_IDS)
    for doc, norm in load_documents(DOCUMENTS):
        clauses = split_document(doc.doc_id, norm)
        got = by_doc[doc.doc_id]
        assert [n.node_id for n in got] == [c.clause_id for c in clauses]
        for node, clause in zip(got, clauses, strict=True):
            assert node.text == clause.text == doc.text[node.start_char_idx : node.end_char_idx]
            assert (node.metadata["start"], node.metadata["end"]) == (clause.start, clause.end)
            assert node.metadata["section"] == clause.section_title
            assert node.metadata["sentences"] == [[s.start, s.end] for s in clause.sentences]
            assert node.metadata["title"] == doc.meta.title  # the catalogue's metadata reaches its nodes
            assert node.metadata["effective_date"] == doc.meta.effective_date
            assert node.source_node is not None and node.source_node.node_id == doc.doc_id
        assert NodeRelationship.NEXT in got[0].relationships and NodeRelationship.PREVIOUS in got[-1].relationships


def test_node_parser_passes_its_splitter_config() -> None:
    raw = _raw(str(DOCUMENTS / f"{HW}.txt"))
    default = ClauseNodeParser().get_nodes_from_documents([Document(text=raw, metadata={"doc_id": HW})])
    small = ClauseNodeParser(config=SplitterConfig(max_chars=200)).get_nodes_from_documents(
        [Document(text=raw, metadata={"doc_id": HW})]
    )
    assert len(small) > len(default)
    with pytest.raises(ValueError, match="max_chars"):
        ClauseNodeParser(config=SplitterConfig(max_chars=10))


def test_parsed_nodes_serve_a_llama_index_vector_index() -> None:
    """The parser's nodes and an embedder as ClauseEmbedding in llama-index's own index:
    what it retrieves is addressed by our clause ids."""
    nodes = ClauseNodeParser().get_nodes_from_documents(policy_documents(DOCUMENTS))
    index = VectorStoreIndex(nodes, embed_model=ClauseEmbedding.from_embedder(FakeEmbedder()))
    found = index.as_retriever(similarity_top_k=5).retrieve("retaining your personal information")
    assert len(found) == 5
    assert {n.node.node_id for n in found} <= {n.node_id for n in nodes}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, Filters()),
        ({"doc_id": HW}, Filters(doc_id=HW)),
        (Filters(region="x"), Filters(region="x")),
        (LlamaFilters(filters=[ExactMatchFilter(key="doc_id", value=HW)]), Filters(doc_id=HW)),
        (
            LlamaFilters(filters=[MetadataFilter(key="brand", value="b"), MetadataFilter(key="lang", value="en")]),
            Filters(brand="b", lang="en"),
        ),
    ],
)
def test_filters_from_a_contract_object_or_llama_index(given, expected) -> None:
    assert as_filters(given) == expected


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"section": "x"}, "unknown field 'section'"),
        (LlamaFilters(filters=[MetadataFilter(key="section", value="x")]), "unknown field 'section'"),
        (LlamaFilters(filters=[MetadataFilter(key="start", value=3, operator=FilterOperator.GT)]), "only equality"),
        (
            LlamaFilters(
                filters=[MetadataFilter(key="doc_id", value="a"), MetadataFilter(key="doc_id", value="b")],
                condition=FilterCondition.OR,
            ),
            "only AND",
        ),
    ],
)
def test_filters_the_search_cannot_apply_are_refused(given, message) -> None:
    with pytest.raises(InputError, match=message):
        as_filters(given)


@pytest.fixture(scope="module")
def assistant(embedder, seed_index):
    from app.assistant import Assistant

    return Assistant(embedder, seed_index)


@pytest.mark.slow
def test_query_engine_over_our_retriever_cites_our_clauses(assistant) -> None:
    """A llama-index query engine (MockLLM: no model, no network) over the hybrid retriever:
    its source nodes are the clauses ``ask`` retrieves, in order, with their citation fields."""
    engine = RetrieverQueryEngine.from_args(PrivacyRetriever(assistant), llm=MockLLM())
    response = engine.query(RETENTION)
    asked = assistant.ask(RETENTION)
    sources = response.source_nodes
    assert [n.node.node_id for n in sources] == [r.clause_id for r in asked.retrieved]
    assert [round(n.score or 0.0, 4) for n in sources] == [r.score for r in asked.retrieved]
    assert [n.node.metadata["doc_id"] for n in sources] == [r.doc_id for r in asked.retrieved]
    assert any("ten years after" in n.node.get_content() for n in sources)
    documents = assistant.snapshot().index.documents
    for n in sources:
        meta = n.node.metadata
        document = documents[meta["doc_id"]]
        assert document.text[meta["start"] : meta["end"]] == n.node.get_content()
        assert all(meta["start"] <= s < e <= meta["end"] for s, e in meta["sentences"])
        assert meta["title"] == document.meta.title and meta["effective_date"] == document.meta.effective_date
        assert meta["url"] == (document.meta.public_url or document.meta.source_url)
        for_llm = n.node.get_content(metadata_mode=MetadataMode.LLM)
        assert meta["section"] in for_llm and "sentences:" not in for_llm  # offsets are not prompt text
    assert response.response  # the MockLLM echoes its prompt: the engine ran end to end


@pytest.mark.slow
@pytest.mark.parametrize("field", ["doc_id", "brand"])
def test_retriever_filters_pass_through(assistant, field) -> None:
    meta = assistant.snapshot().index.documents[HW].meta
    value = getattr(meta, field)
    allowed = {d for d, doc in assistant.snapshot().index.documents.items() if getattr(doc.meta, field) == value}
    for filters in ({field: value}, LlamaFilters(filters=[ExactMatchFilter(key=field, value=value)])):
        nodes = PrivacyRetriever(assistant, filters=filters, top_k=5).retrieve(RETENTION)
        assert 0 < len(nodes) <= 5
        assert {n.node.metadata["doc_id"] for n in nodes} <= allowed


@pytest.mark.slow
def test_unknown_document_filter_is_an_input_error(assistant) -> None:
    with pytest.raises(InputError, match="unknown document"):
        PrivacyRetriever(assistant, filters={"doc_id": "no-such-policy"}).retrieve(RETENTION)


@pytest.mark.slow
def test_llama_embedding_is_the_float32_model(embedder) -> None:
    """llama-index's view of the model: the same float32 unit vectors, no cache."""
    llama = embedder.llama_embedding
    query = np.array(llama.get_query_embedding(RETENTION))
    texts = np.array(llama.get_text_embedding_batch(["We keep it for ten years.", "Cookies."]))
    assert np.allclose(query, embedder.encode([RETENTION], autocast=False)[0], atol=1e-6)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-4)
    assert float(query @ embedder.embed_query(RETENTION)) > 0.999  # bf16 or not, the same direction
