"""A loaded clause index and the FAISS indexes it is searched through."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.records import Clause, Document
from app.splitter import SplitterConfig

FORMAT_VERSION = 2  # 2: clause vectors derived from sentence and heading vectors


@dataclass
class ClauseIndex:
    """A loaded index: documents, clauses and their vectors, and the FAISS index."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    clauses: list[Clause]
    clause_vectors: np.ndarray
    sentence_vectors: np.ndarray  # one row per sentence, clause by clause
    sentence_offsets: np.ndarray  # clause i owns rows sentence_offsets[i]:sentence_offsets[i+1]
    faiss_index: Any
    path: Path
    sentence_index: Any = None  # FAISS over the sentence vectors (flat ones are built at load)
    by_id: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {c.clause_id: i for i, c in enumerate(self.clauses)}
        if self.sentence_index is None:
            self.sentence_index = new_faiss_index(self.sentence_vectors, ann_threshold=len(self.sentence_vectors) + 1)
            self.sentence_index.add(self.sentence_vectors)

    def sentence_rows(self, clause_row: int) -> range:
        return range(int(self.sentence_offsets[clause_row]), int(self.sentence_offsets[clause_row + 1]))


def new_faiss_index(vectors: np.ndarray, ann_threshold: int) -> Any:
    """An empty FAISS index for ``vectors`` (inner product on unit vectors = cosine): flat,
    or from ``ann_threshold`` rows on, IVF with about 2·√n lists, trained on a sample."""
    import faiss

    n, dim = vectors.shape
    if n < ann_threshold:
        return faiss.IndexFlatIP(dim)
    nlist = int(min(65_536, max(64, 2 * math.sqrt(n))))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    sample = np.random.default_rng(0).choice(n, size=min(n, 40 * nlist), replace=False)
    index.train(np.ascontiguousarray(vectors[np.sort(sample)]))
    return index


def describe_faiss(index: Any) -> str:
    """ "Flat" or "IVF<lists>", for the manifest and the benchmarks."""
    import faiss

    return f"IVF{index.nlist}" if isinstance(index, faiss.IndexIVF) else "Flat"


def manifest_of(embedder_identity: dict[str, Any], splitter: SplitterConfig) -> dict[str, Any]:
    """The parts of a manifest that decide whether an index can be reused as it is."""
    return {"format": FORMAT_VERSION, "model": embedder_identity, "splitter": asdict(splitter)}
