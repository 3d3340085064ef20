"""The assistant's retrieval, splitter and embedder as llama-index components.

For people who build on llama-index: ``PrivacyRetriever`` is a ``BaseRetriever`` over the
project's hybrid search (FAISS + BM25, fused by rank, filters applied inside the search,
app/retrieve.py), so a ``RetrieverQueryEngine``, a node postprocessor or an agent tool gets
the same clauses ``ask`` cites, as ``NodeWithScore`` whose ``TextNode`` carries the clause's
citation fields. ``ClauseNodeParser`` is the clause splitter (app/splitter.py) as a
``NodeParser``; ``ClauseEmbedding`` an embedder (app/embedding.py) as an embed model.

Every node's id is its clause id and its offsets are into the document's normalised text,
as in the answer contract (``citations``, ``retrieved``): the same text gives the same ids.
Nothing on the way from a question to its answer imports this package (llama-index takes a
second to import).

- nodes.py      a clause as a ``TextNode`` (its metadata), ``ClauseNodeParser``, and
                ``policy_documents`` (a documents folder as llama-index ``Document``s)
- retriever.py  ``PrivacyRetriever``, and the filters it accepts (``as_filters``)
- embedding.py  ``ClauseEmbedding``: imports nothing of the app (app/embedding.py uses it)
"""

from app.llamaindex.embedding import ClauseEmbedding
from app.llamaindex.nodes import ClauseNodeParser, clause_metadata, clause_node, document_metadata, policy_documents
from app.llamaindex.retriever import PrivacyRetriever, as_filters

__all__ = [
    "ClauseEmbedding",
    "ClauseNodeParser",
    "PrivacyRetriever",
    "as_filters",
    "clause_metadata",
    "clause_node",
    "document_metadata",
    "policy_documents",
]
