"""The clause index on disk: build (incrementally, atomically), describe, load, verify.

Layout of an index folder::

    index/
      current -> builds/<stamp>      symlink, swapped atomically once a build is complete
      builds/<stamp>/
        manifest.json                model, dimension, chunking, document and file hashes
        documents.jsonl              metadata and normalised text of each document
        clauses.jsonl                clause records, in FAISS row order
        vectors.npz                  sentence and heading vectors (reused by the next ingest), and
                                     the clause vectors derived from them
        default__vector_store.json   the FAISS index of the clause vectors (FAISS row i = clause i;
                                     the name is the one llama-index's FaissVectorStore gave it)
        sentences.faiss              the FAISS index of the sentence vectors, only when it is IVF

A build is written beside the live one and made current by replacing the ``current``
link (``rename`` is atomic), so a reader sees the old index or the new one, never half
of one; a killed ingest leaves the last good index serving. llama-index reaches the index
through app/llamaindex.py (a retriever over the hybrid search), not through files of its own.
"""

from app.index.build import IngestSummary, build_index, clause_vectors_from, texts_to_embed
from app.index.clause_index import FORMAT_VERSION, ClauseIndex, describe_faiss, manifest_of, new_faiss_index
from app.index.store import CURRENT, MANIFEST, current_build, index_version, load_index

__all__ = [
    "CURRENT",
    "FORMAT_VERSION",
    "MANIFEST",
    "ClauseIndex",
    "IngestSummary",
    "build_index",
    "clause_vectors_from",
    "current_build",
    "describe_faiss",
    "index_version",
    "load_index",
    "manifest_of",
    "new_faiss_index",
    "texts_to_embed",
]
