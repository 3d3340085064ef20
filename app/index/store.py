"""The on-disk format of an index: write a build, swap it in atomically, read and verify it."""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import IndexNotReady, InputError
from app.index.clause_index import FORMAT_VERSION, ClauseIndex, describe_faiss, new_faiss_index
from app.records import Clause, Document, DocumentMeta, Span
from app.timing import Stages

log = logging.getLogger(__name__)

CURRENT = "current"
BUILDS = "builds"
MANIFEST = "manifest.json"
SENTENCE_INDEX = "sentences.faiss"  # written only when the sentence index is IVF
_HINT = "re-run `privacy-assistant ingest`"
# The clause FAISS index keeps the name llama-index's FaissVectorStore gave it when builds
# were persisted through it, so that builds on disk from before still load (it is binary).
CLAUSE_INDEX = "default__vector_store.json"
_DATA_FILES = ("documents.jsonl", "clauses.jsonl", "vectors.npz", CLAUSE_INDEX)


@contextmanager
def lock(index_dir: Path) -> Iterator[None]:
    """One ingest at a time per index folder."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(f"{index_dir}: another ingest is running on this index") from None
        yield


def write_build(
    index_dir: Path,
    documents: list[Document],
    clauses: list[Clause],
    clause_vectors: np.ndarray,
    text_vectors: np.ndarray,
    text_keys: list[str],
    manifest: dict[str, Any],
    stages: Stages,
) -> Path:
    """Write a complete build into a fresh folder; return it once everything is on disk.
    ``text_keys`` name the rows of ``text_vectors`` (the next ingest reuses them by key)."""
    builds = index_dir / BUILDS
    builds.mkdir(parents=True, exist_ok=True)
    # The stamp is the build's public id (`/healthz` shows it): time only, no process id.
    stamp = f"{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
    tmp = builds / f".tmp-{stamp}-{os.getpid()}"
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
            keys=np.array(text_keys),  # of the sentences, then the headings
        )
        stages.lap("write records and vectors")
        import faiss

        clause_index = new_faiss_index(clause_vectors, manifest["ann_threshold"])
        clause_index.add(np.ascontiguousarray(clause_vectors, dtype=np.float32))  # row i is clause i
        faiss.write_index(clause_index, str(tmp / CLAUSE_INDEX))
        stages.lap("FAISS clauses")
        sentence_vectors = text_vectors[: manifest["sentences"]]
        sentence_index = new_faiss_index(sentence_vectors, manifest["ann_threshold"])
        manifest["faiss"] = {"clauses": describe_faiss(clause_index), "sentences": describe_faiss(sentence_index)}
        if manifest["faiss"]["sentences"] != "Flat":
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


def swap_current(index_dir: Path, build: Path) -> None:
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


def read_previous(index_dir: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
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
    except (IndexNotReady, OSError, ValueError, KeyError) as exc:
        log.info("no reusable previous index in %s (%s); building from scratch", index_dir, exc)
        return None


def current_build(index_dir: Path) -> Path:
    """The folder of the live build."""
    link = index_dir / CURRENT
    if not link.exists():
        raise IndexNotReady(f"{index_dir}: no index found; run `privacy-assistant ingest` first")
    return link.resolve()


def index_version(index_dir: Path) -> str:
    """An identifier of the live build, cheap to poll (a server reloads when it changes)."""
    try:
        return os.readlink(index_dir / CURRENT)
    except OSError:
        return ""


def build_id(folder: Path | str) -> str:
    """A build's public name: its stamp (time of the build), without the process id that
    builds written before the stamp dropped it carry as a third part."""
    return "-".join(Path(folder).name.split("-")[:2])


def builds_newest_first(index_dir: Path) -> list[Path]:
    """The complete builds on disk, newest first (a stamp sorts by time); leftovers of a
    killed ingest (``.tmp-*``) are not builds."""
    try:
        found = [p for p in (index_dir / BUILDS).iterdir() if not p.name.startswith(".") and p.is_dir()]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def build_signature(folder: Path) -> tuple[tuple[str, int, int, int], ...]:
    """What ``stat`` says of a build's files: it changes when a file is rewritten, replaced or
    truncated, so a server notices damage to its live build without re-hashing it each time."""
    out = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            st = path.stat()
        except OSError:
            continue
        out.append((path.name, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(out)


def verify_build(folder: Path, expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of the build in ``folder`` once every file matches its hash and the
    settings match ``expected``; IndexNotReady otherwise."""
    return _verified_manifest(folder.parent, folder, expected)


def load_index(index_dir: Path, expected: dict[str, Any] | None = None) -> ClauseIndex:
    """Load and verify the live build; refuse one built with other settings or damaged."""
    return load_build(current_build(index_dir), expected, index_dir)


def load_build(folder: Path, expected: dict[str, Any] | None = None, index_dir: Path | None = None) -> ClauseIndex:
    """Load and verify the build in ``folder`` (the live one or an older one kept on disk)."""
    manifest = _verified_manifest(index_dir or folder.parent.parent, folder, expected)
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
        faiss_index = faiss.read_index(str(folder / CLAUSE_INDEX))
        sentence_index = faiss.read_index(str(folder / SENTENCE_INDEX)) if (folder / SENTENCE_INDEX).exists() else None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexNotReady(f"{folder}: index cannot be read ({exc}); {_HINT}") from None
    if faiss_index.ntotal != len(clauses) or len(clause_vectors) != len(clauses):
        raise IndexNotReady(f"{folder}: index files disagree on the clause count; {_HINT}")
    if sentence_index is not None and sentence_index.ntotal != len(sentence_vectors):
        raise IndexNotReady(f"{folder}: index files disagree on the sentence count; {_HINT}")
    offsets = np.cumsum([0] + [len(c.sentences) for c in clauses])
    return ClauseIndex(
        manifest, documents, clauses, clause_vectors, sentence_vectors, offsets, faiss_index, folder, sentence_index
    )


def _verified_manifest(index_dir: Path, folder: Path, expected: dict[str, Any] | None) -> dict[str, Any]:
    """The build's manifest, once its format, settings and every file's hash check out."""
    try:
        manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexNotReady(f"{folder / MANIFEST}: unreadable manifest ({exc}); {_HINT}") from None
    if manifest.get("format") != FORMAT_VERSION:
        raise IndexNotReady(f"{index_dir}: index format {manifest.get('format')} is not {FORMAT_VERSION}; {_HINT}")
    for key, value in (expected or {}).items():
        if manifest.get(key) != value:
            raise IndexNotReady(f"{index_dir}: index was built with a different {key} ({manifest.get(key)}); {_HINT}")
    files = manifest.get("files")
    # The check is not the data's to switch off: every data file must be listed and match.
    listed = files if isinstance(files, dict) else {}
    for name in _DATA_FILES:
        if name not in listed:
            raise IndexNotReady(f"{folder / MANIFEST}: no checksum for {name}; {_HINT}")
    if (folder / SENTENCE_INDEX).exists() and SENTENCE_INDEX not in listed:
        raise IndexNotReady(f"{folder / MANIFEST}: no checksum for {SENTENCE_INDEX}; {_HINT}")
    for name, digest in listed.items():
        try:
            ok = "/" not in str(name) and _file_sha256(folder / str(name)) == digest
        except OSError:
            ok = False
        if not ok:
            raise IndexNotReady(f"{folder / str(name)}: missing or corrupted index file; {_HINT}")
    return manifest


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
