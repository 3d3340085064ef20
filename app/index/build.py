"""Ingest: documents → clauses → vectors → a new build, re-embedding only changed text."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.documents import load_documents
from app.embedding import Embedder
from app.errors import IndexNotReady, InputError
from app.index.clause_index import manifest_of
from app.index.store import CURRENT, lock, read_previous, swap_current, verify_build, write_build
from app.records import Clause, DocumentMeta
from app.settings import Settings
from app.splitter import SplitterConfig, split_document
from app.timing import Stages


@dataclass(frozen=True)
class IngestSummary:
    """What an ingest did, printed by the CLI."""

    documents: dict[str, int]  # doc_id -> clause count
    embedded: int  # texts embedded in this run
    reused: int  # texts whose vectors came from the previous build
    removed: list[str]
    changed: list[str]
    seconds: float
    up_to_date: bool
    path: str
    phases_ms: dict[str, float] = field(default_factory=dict)  # wall time by phase, for the benchmarks


def build_index(
    documents_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    splitter: SplitterConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    ann_threshold: int = Settings.default_of("ann_threshold"),
) -> IngestSummary:
    """Ingest ``documents_dir`` into ``index_dir``, re-embedding only changed text. From
    ``ann_threshold`` vectors on (default: the ``ann_threshold`` setting's, 100,000), a FAISS
    index is IVF rather than flat."""
    started, phases = time.perf_counter(), dict[str, float]()
    stages, splitter = Stages(phases), splitter or SplitterConfig()
    loaded = load_documents(documents_dir)  # validates every file before anything is written
    stages.lap("read and normalise")
    with lock(index_dir):
        previous = read_previous(index_dir)
        settings = manifest_of(embedder.identity, splitter)
        manifest: dict[str, Any] = settings | {"ann_threshold": ann_threshold}
        manifest["documents"] = {doc.doc_id: doc.sha256 for doc, _ in loaded}
        manifest["metadata"] = {doc.doc_id: _meta_hash(doc.meta) for doc, _ in loaded}
        same_settings = previous is not None and all(previous[0].get(k) == v for k, v in settings.items())
        old = previous[0] if previous is not None and same_settings else {}
        if all(old.get(k) == manifest[k] for k in ("documents", "metadata", "ann_threshold")):
            return _up_to_date(old, index_dir, started)
        stages.lap("previous build")
        clauses_by_doc = {doc.doc_id: split_document(doc.doc_id, norm, splitter) for doc, norm in loaded}
        clauses = [c for doc, _ in loaded for c in clauses_by_doc[doc.doc_id]]
        sentences, headings = texts_to_embed(clauses)
        texts = sentences + headings
        stages.lap("split")
        vectors, embedded = _vectors_for(texts, previous[1] if previous and same_settings else {}, embedder, progress)
        stages.lap("embed")
        heading_vectors = dict(zip(headings, vectors[len(sentences) :], strict=True))
        clause_vectors = clause_vectors_from(clauses, vectors[: len(sentences)], heading_vectors)
        manifest |= {
            "clause_counts": {doc_id: len(found) for doc_id, found in clauses_by_doc.items()},
            "clauses": len(clauses),
            "sentences": len(sentences),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        stages.lap("clause vectors")
        keys = [_text_key(t) for t in texts]
        build = write_build(index_dir, [d for d, _ in loaded], clauses, clause_vectors, vectors, keys, manifest, stages)
        _publish(index_dir, build)
        stages.lap("swap")
        return IngestSummary(
            documents=manifest["clause_counts"],
            embedded=embedded,
            reused=len(texts) - embedded,
            removed=sorted(set(old.get("documents", {})) - set(manifest["documents"])),
            changed=_changed(old, manifest),
            seconds=time.perf_counter() - started,
            up_to_date=False,
            path=str(index_dir / CURRENT),
            phases_ms=phases,
        )


def _publish(index_dir: Path, build: Path) -> None:
    """Make ``build`` current only once it reads back as written: a build that fails its own
    manifest (a disk that lost a write, a file changed under the ingest) is removed, never
    served; the live build stays."""
    try:
        verify_build(build)
    except IndexNotReady as exc:
        shutil.rmtree(build, ignore_errors=True)
        raise IndexNotReady(f"the new build failed verification and was not published ({exc})") from None
    swap_current(index_dir, build)


def _up_to_date(manifest: dict[str, Any], index_dir: Path, started: float) -> IngestSummary:
    return IngestSummary(
        documents=manifest["clause_counts"], embedded=0, reused=0, removed=[], changed=[],
        seconds=time.perf_counter() - started, up_to_date=True, path=str(index_dir / CURRENT),
    )  # fmt: skip


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Documents whose text or catalogue entry differ from the previous build's."""
    before, meta_before = old.get("documents", {}), old.get("metadata", {})
    return sorted(
        d for d, h in new["documents"].items() if before.get(d) != h or meta_before.get(d) != new["metadata"][d]
    )


def texts_to_embed(clauses: list[Clause]) -> tuple[list[str], list[str]]:
    """What an index embeds: every sentence, clause by clause, and each distinct heading."""
    sentences = [text for c in clauses for text in c.sentence_texts()]
    return sentences, sorted({c.section_title for c in clauses if c.section})


def clause_vectors_from(
    clauses: list[Clause], sentence_vectors: np.ndarray, headings: dict[str, np.ndarray]
) -> np.ndarray:
    """A clause's vector from the vectors of its sentences and its section heading.

    The model mean-pools its token vectors, so a clause's vector is close to the
    length-weighted mean of its parts' vectors; deriving it saves embedding every text
    twice (the clause, then its sentences), about half the cost of an ingest. The
    heading counts like a sentence: it gives a short clause its context."""
    counts = np.array([len(c.sentences) for c in clauses], dtype=np.int64)
    lengths = np.array([s.end - s.start for c in clauses for s in c.sentences], dtype=np.float32)
    out = np.zeros((len(clauses), sentence_vectors.shape[1]), dtype=np.float32)
    has = counts > 0
    if has.any():  # sentences lie clause after clause: one segmented sum
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[has]
        out[has] = np.add.reduceat(sentence_vectors * lengths[:, None], starts, axis=0)
    titled = [i for i, c in enumerate(clauses) if c.section]
    if titled:
        titles = [clauses[i].section_title for i in titled]
        weights = np.array([len(t) for t in titles], dtype=np.float32)[:, None]
        out[titled] += weights * np.stack([headings[t] for t in titles])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


def _meta_hash(meta: DocumentMeta) -> str:
    """Catalogue edits (a title, superseded_by) must reach the index too."""
    return hashlib.sha256(json.dumps(asdict(meta), sort_keys=True).encode()).hexdigest()[:16]


def _text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def _vectors_for(
    texts: list[str],
    cache: dict[str, np.ndarray],
    embedder: Embedder,
    progress: Callable[[int, int], None] | None,
) -> tuple[np.ndarray, int]:
    """Vectors for ``texts``: from the previous build where the text is unchanged."""
    keys = [_text_key(t) for t in texts]
    # Length-sorted batches pad little: several times faster than document order.
    todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in cache}
    missing = sorted(todo.items(), key=lambda kv: len(kv[1]))
    done = 0

    def tick(k: int) -> None:
        nonlocal done
        done += k
        if progress:
            progress(done, len(missing))

    if missing:
        fresh = embedder.embed_texts([t for _, t in missing], progress=tick)
        cache = {**cache, **{k: fresh[i] for i, (k, _) in enumerate(missing)}}
    if not texts:
        raise InputError("no clauses to index: the documents hold no text")
    return np.vstack([cache[k] for k in keys]).astype(np.float32), len(missing)
