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
        docstore.json, index_store.json, default__vector_store.json, ...
                                     llama-index's VectorStoreIndex over a FaissVectorStore

A build is written beside the live one and made current by replacing the ``current``
link (``rename`` is atomic), so a reader sees the old index or the new one, never half
of one; a killed ingest leaves the last good index serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.documents import load_documents
from app.embedding import Embedder
from app.errors import IndexError_, InputError
from app.records import Clause, Document, DocumentMeta, Span
from app.splitter import SplitterConfig, split_document
from app.timing import Stages

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: clause vectors derived from sentence and heading vectors
CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"
SENTENCE_INDEX = "sentences.faiss"  # written only when the sentence index is IVF
DEFAULT_ANN_THRESHOLD = 100_000
_DATA_FILES = ("documents.jsonl", "clauses.jsonl", "vectors.npz", "default__vector_store.json")


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


def ann_threshold_from_env(environ: Mapping[str, str] | None = None) -> int:
    """``PRIVACY_ASSISTANT_ANN_THRESHOLD``: vector count from which a FAISS index is IVF."""
    raw = (os.environ if environ is None else environ).get("PRIVACY_ASSISTANT_ANN_THRESHOLD", "")
    if not raw:
        return DEFAULT_ANN_THRESHOLD
    if not raw.isdigit() or int(raw) < 1:
        raise InputError(f"PRIVACY_ASSISTANT_ANN_THRESHOLD must be a positive whole number, got {raw!r}")
    return int(raw)


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


@contextmanager
def _lock(index_dir: Path) -> Iterator[None]:
    """One ingest at a time per index folder."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{index_dir}: another ingest is running on this index") from None
        yield


def build_index(
    documents_dir: Path,
    index_dir: Path,
    embedder: Embedder,
    splitter: SplitterConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    ann_threshold: int | None = None,
) -> IngestSummary:
    """Ingest ``documents_dir`` into ``index_dir``, re-embedding only changed text. From
    ``ann_threshold`` vectors on (default: ``PRIVACY_ASSISTANT_ANN_THRESHOLD``, else
    100,000), a FAISS index is IVF rather than flat."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    stages = Stages(phases)
    splitter = splitter or SplitterConfig()
    ann_threshold = ann_threshold or ann_threshold_from_env()
    loaded = load_documents(documents_dir)  # validates every file before anything is written
    stages.lap("read and normalise")
    with _lock(index_dir):
        previous = _read_previous(index_dir)
        doc_hashes = {doc.doc_id: doc.sha256 for doc, _ in loaded}
        meta_hashes = {doc.doc_id: _meta_hash(doc.meta) for doc, _ in loaded}
        settings = manifest_of(embedder.identity, splitter)
        same_settings = previous is not None and all(previous[0].get(k) == v for k, v in settings.items())
        old_hashes: dict[str, str] = previous[0]["documents"] if previous and same_settings else {}
        old_meta: dict[str, str] = previous[0].get("metadata", {}) if previous and same_settings else {}
        same_ann = previous is not None and previous[0].get("ann_threshold") == ann_threshold
        if same_settings and same_ann and old_hashes == doc_hashes and old_meta == meta_hashes and previous:
            return IngestSummary(
                documents=previous[0]["clause_counts"],
                embedded=0,
                reused=0,
                removed=[],
                changed=[],
                seconds=time.perf_counter() - started,
                up_to_date=True,
                path=str(index_dir / CURRENT),
            )
        cache = previous[1] if previous and same_settings else {}
        stages.lap("previous build")
        clauses_by_doc = {doc.doc_id: split_document(doc.doc_id, norm, splitter) for doc, norm in loaded}
        clauses = [c for doc, _ in loaded for c in clauses_by_doc[doc.doc_id]]
        sentences, headings = texts_to_embed(clauses)
        texts = sentences + headings
        stages.lap("split")
        vectors, embedded = _vectors_for(texts, cache, embedder, progress)
        stages.lap("embed")
        sentence_vectors = vectors[: len(sentences)]
        heading_vectors = dict(zip(headings, vectors[len(sentences) :], strict=True))
        clause_vectors = clause_vectors_from(clauses, sentence_vectors, heading_vectors)
        n = len(clauses)
        counts = {doc.doc_id: len(clauses_by_doc[doc.doc_id]) for doc, _ in loaded}
        manifest = {
            **settings,
            "documents": doc_hashes,
            "metadata": meta_hashes,
            "clause_counts": counts,
            "clauses": n,
            "sentences": len(sentences),
            "ann_threshold": ann_threshold,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        stages.lap("clause vectors")
        build = _write_build(
            index_dir, [d for d, _ in loaded], clauses, clause_vectors, vectors, texts, manifest, stages
        )
        _swap_current(index_dir, build)
        stages.lap("swap")
        return IngestSummary(
            documents=counts,
            embedded=embedded,
            reused=len(texts) - embedded,
            removed=sorted(set(old_hashes) - set(doc_hashes)),
            changed=sorted(
                d for d, h in doc_hashes.items() if old_hashes.get(d) != h or old_meta.get(d) != meta_hashes[d]
            ),
            seconds=time.perf_counter() - started,
            up_to_date=False,
            path=str(index_dir / CURRENT),
            phases_ms=phases,
        )


def texts_to_embed(clauses: list[Clause]) -> tuple[list[str], list[str]]:
    """What an index embeds: every sentence, clause by clause, and each distinct heading."""
    sentences = [c.text[s.start - c.start : s.end - c.start] for c in clauses for s in c.sentences]
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


def _write_build(
    index_dir: Path,
    documents: list[Document],
    clauses: list[Clause],
    clause_vectors: np.ndarray,
    text_vectors: np.ndarray,
    texts: list[str],
    manifest: dict[str, Any],
    stages: Stages,
) -> Path:
    """Write a complete build into a fresh folder; return it once everything is on disk."""
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}-{os.getpid()}"
    tmp = builds / f".tmp-{stamp}"
    tmp.mkdir()
    try:
        with open(tmp / "documents.jsonl", "w", encoding="utf-8") as out:
            for doc in documents:
                row = {"meta": asdict(doc.meta), "text": doc.text, "sha256": doc.sha256, "path": doc.path}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        with open(tmp / "clauses.jsonl", "w", encoding="utf-8") as out:
            for c in clauses:
                out.write(json.dumps(asdict(c), ensure_ascii=False) + "\n")
        np.savez(
            tmp / "vectors.npz",
            clauses=clause_vectors,
            sentences=text_vectors[: manifest["sentences"]],
            headings=text_vectors[manifest["sentences"] :],
            keys=np.array([_text_key(t) for t in texts]),  # of the sentences, then the headings
        )
        stages.lap("write records and vectors")
        clause_index = new_faiss_index(clause_vectors, manifest["ann_threshold"])
        _persist_llama_index(tmp, clauses, clause_vectors, clause_index)
        stages.lap("FAISS clauses + llama-index")
        sentence_vectors = text_vectors[: manifest["sentences"]]
        sentence_index = new_faiss_index(sentence_vectors, manifest["ann_threshold"])
        manifest["faiss"] = {"clauses": describe_faiss(clause_index), "sentences": describe_faiss(sentence_index)}
        if manifest["faiss"]["sentences"] != "Flat":
            import faiss

            sentence_index.add(sentence_vectors)
            faiss.write_index(sentence_index, str(tmp / SENTENCE_INDEX))
        stages.lap("FAISS sentences")
        names = [*_DATA_FILES, *([SENTENCE_INDEX] if (tmp / SENTENCE_INDEX).exists() else [])]
        manifest["files"] = {name: _file_sha256(tmp / name) for name in names}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
        _fsync_tree(tmp)
        stages.lap("hash and fsync")
        final = builds / stamp
        os.rename(tmp, final)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _persist_llama_index(folder: Path, clauses: list[Clause], vectors: np.ndarray, faiss_index: Any) -> None:
    """Persist what llama-index's ``VectorStoreIndex`` over a ``FaissVectorStore`` persists
    (``load_index_from_storage`` opens it), built in bulk: the vectors go into FAISS in
    one call (row i is node id ``str(i)``, as ``FaissVectorStore.add`` numbers them), and
    the nodes, without their vectors, into the docstore and the index struct — what
    ``VectorStoreIndex(nodes)`` does one node at a time, ten times slower at scale."""
    from llama_index.core import StorageContext
    from llama_index.core.data_structs import IndexDict
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.faiss import FaissVectorStore

    faiss_index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    context = StorageContext.from_defaults(vector_store=FaissVectorStore(faiss_index=faiss_index))
    struct = IndexDict()
    nodes = [
        TextNode(
            id_=c.clause_id,
            text=c.text,
            metadata={"doc_id": c.doc_id, "section": c.section_title, "lang": c.lang, "start": c.start, "end": c.end},
            excluded_embed_metadata_keys=["doc_id", "lang", "start", "end"],
        )
        for c in clauses
    ]
    for row, node in enumerate(nodes):
        struct.add_node(node, text_id=str(row))
    context.docstore.add_documents(nodes, allow_update=True)
    context.index_store.add_index_struct(struct)
    context.persist(persist_dir=str(folder))


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_tree(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _swap_current(index_dir: Path, build: Path) -> None:
    """Point ``current`` at ``build`` atomically, then drop builds no longer needed."""
    link = index_dir / CURRENT
    previous = link.resolve() if link.exists() else None
    tmp_link = index_dir / f".current-{os.getpid()}"
    if tmp_link.is_symlink() or tmp_link.exists():
        tmp_link.unlink()
    os.symlink(os.path.relpath(build, index_dir), tmp_link)
    os.replace(tmp_link, link)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    # Keep the new build and the one it replaced (a server may still be reading it); drop
    # older builds and the leftovers of killed ingests. Chosen by identity, never by name.
    keep = {build.resolve(), previous}
    for old in (index_dir / BUILDS).iterdir():
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _read_previous(index_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    """The current build's manifest and vector cache, or None when there is none usable.

    A damaged build (a file that no longer matches its hash) is not reused: the next
    ingest rebuilds, which is how `ingest` repairs a corrupted index."""
    try:
        folder = current_build(index_dir)
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        for name, digest in manifest.get("files", {}).items():
            if _file_sha256(folder / name) != digest:
                raise ValueError(f"{name} does not match its hash")
        with np.load(folder / "vectors.npz") as data:
            rows = np.vstack([data["sentences"], data["headings"]])
            cache = dict(zip(data["keys"].tolist(), rows, strict=True))
        return manifest, cache
    except (IndexError_, OSError, ValueError, KeyError) as exc:
        log.info("no reusable previous index in %s (%s); building from scratch", index_dir, exc)
        return None


def current_build(index_dir: Path) -> Path:
    """The folder of the live build."""
    link = index_dir / CURRENT
    if not link.exists():
        raise IndexError_(f"{index_dir}: no index found; run `privacy-assistant ingest` first")
    return link.resolve()


def index_version(index_dir: Path) -> str:
    """An identifier of the live build, cheap to poll (a server reloads when it changes)."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return ""


def load_index(index_dir: Path, expected: dict[str, Any] | None = None) -> ClauseIndex:
    """Load and verify the live build; refuse one built with other settings or damaged."""
    folder = current_build(index_dir)
    hint = "re-run `privacy-assistant ingest`"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexError_(f"{folder / MANIFEST}: unreadable manifest ({exc}); {hint}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexError_(f"{index_dir}: index format {manifest.get('format')} is not {FORMAT_VERSION}; {hint}")
    if expected is not None:
        for key, value in expected.items():
            if manifest.get(key) != value:
                raise IndexError_(f"{index_dir}: index was built with a different {key} ({manifest.get(key)}); {hint}")
    files = manifest.get("files")
    # The check is not the data's to switch off: every data file must be listed and match.
    listed = files if isinstance(files, dict) else {}
    for name in _DATA_FILES:
        if name not in listed:
            raise IndexError_(f"{folder / MANIFEST}: no checksum for {name}; {hint}")
    if (folder / SENTENCE_INDEX).exists() and SENTENCE_INDEX not in listed:
        raise IndexError_(f"{folder / MANIFEST}: no checksum for {SENTENCE_INDEX}; {hint}")
    for name, digest in listed.items():
        try:
            ok = "/" not in str(name) and _file_sha256(folder / str(name)) == digest
        except OSError:
            ok = False
        if not ok:
            raise IndexError_(f"{folder / str(name)}: missing or corrupted index file; {hint}")
    try:
        import faiss

        documents = {}
        for line in (folder / "documents.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            meta = DocumentMeta(
                **{
                    **row["meta"],
                    "languages": tuple(row["meta"]["languages"]),
                    "aliases": tuple(row["meta"].get("aliases", ())),
                    "region_names": tuple(row["meta"].get("region_names", ())),
                }
            )
            documents[meta.doc_id] = Document(meta=meta, text=row["text"], sha256=row["sha256"], path=row["path"])
        clauses = [
            _clause_from_json(json.loads(line))
            for line in (folder / "clauses.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        with np.load(folder / "vectors.npz") as data:
            clause_vectors = data["clauses"]
            sentence_vectors = data["sentences"]
        faiss_index = faiss.read_index(str(folder / "default__vector_store.json"))
        sentence_index = faiss.read_index(str(folder / SENTENCE_INDEX)) if (folder / SENTENCE_INDEX).exists() else None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexError_(f"{folder}: index cannot be read ({exc}); {hint}") from None
    if faiss_index.ntotal != len(clauses) or len(clause_vectors) != len(clauses):
        raise IndexError_(f"{folder}: index files disagree on the clause count; {hint}")
    if sentence_index is not None and sentence_index.ntotal != len(sentence_vectors):
        raise IndexError_(f"{folder}: index files disagree on the sentence count; {hint}")
    offsets = np.cumsum([0] + [len(c.sentences) for c in clauses])
    return ClauseIndex(
        manifest, documents, clauses, clause_vectors, sentence_vectors, offsets, faiss_index, folder, sentence_index
    )


def _clause_from_json(row: dict[str, Any]) -> Clause:
    return Clause(
        doc_id=row["doc_id"],
        clause_id=row["clause_id"],
        section=tuple(row["section"]),
        text=row["text"],
        lang=row["lang"],
        start=row["start"],
        end=row["end"],
        sentences=tuple(Span(s["start"], s["end"]) for s in row["sentences"]),
    )
