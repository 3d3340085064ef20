"""Everything derived from one index build, replaced whole when a new build goes live; and
`LiveIndex`, which decides which build a process serves."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from app.catalog import Catalog
from app.contacts import ContactDirectory
from app.errors import IndexNotReady
from app.index import ClauseIndex, index_version
from app.index.store import build_id, build_signature, builds_newest_first, current_build, load_build, verify_build
from app.records import Clause
from app.retrieve import HybridRetriever
from app.spelling import SpellCorrector
from app.text.lexical import tokenize

log = logging.getLogger(__name__)

RECHECK_S = 2.0  # how often a server stats its live build's files for damage done in place


class IndexSnapshot:
    """One loaded build: its clauses, retriever, catalogue and contact channels, and the
    per-sentence tokens computed on first use."""

    def __init__(self, index: ClauseIndex, version: str = "") -> None:
        self.index = index
        self.version = version
        self.retriever = HybridRetriever(index)
        self.catalog: Catalog = self.retriever.catalog
        self.contacts = ContactDirectory(index.clauses, self.catalog)
        self._sentence_tokens: dict[int, set[str]] = {}
        # Symmetric-delete neighbourhood of the vocabulary: a word one typo away from a
        # policy word shares a one-deletion variant with it (cheap fuzzy lookup).
        self.near_vocab = {v for word in self.retriever.lexical.vocab for v in deletions(word)}

    @cached_property
    def speller(self) -> SpellCorrector:
        """Spelling correction against this build's words (built on first use)."""
        return SpellCorrector.from_texts(c.text for c in self.index.clauses)

    @cached_property
    def protected_words(self) -> frozenset[str]:
        """Words spelling correction leaves alone: the catalogue's brand and region names."""
        names = {*self.catalog.brand_names, *self.catalog.region_names}
        for meta in self.catalog.values():
            names.update(meta.aliases)
        return frozenset(names)

    def sentence_tokens(self, clause: Clause, row: int, j: int) -> set[str]:
        """Tokens of sentence ``j`` of the clause at ``row`` (computed on first use)."""
        key = int(self.index.sentence_offsets[row]) + j
        if (found := self._sentence_tokens.get(key)) is None:
            found = self._sentence_tokens[key] = set(tokenize(clause.sentence_text(j)))
        return found


def deletions(word: str) -> set[str]:
    """The word and every variant of it with one character deleted."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


@dataclass(frozen=True)
class IndexHealth:
    """What `/healthz` may say of the index: nothing private (no path, no process id)."""

    status: str  # "ok": the live build is served; "degraded": it failed, an older good one is
    build: str  # the served build's public id (app.index.store.build_id)
    clauses: int


class LiveIndex:
    """The build a process serves: the live one (``current``), reloaded when it changes.

    A build that fails verification is never served. When the live build is replaced by a
    damaged one, or damaged in place, the build already in memory keeps answering; a process
    that starts with a damaged live build serves the newest good build on disk. Either way
    the state is "degraded" until a good build is live again. A failed build is tried again
    only when the ``current`` link or its files change, so a damaged build costs one
    verification, not one per request."""

    def __init__(
        self,
        index_dir: Path,
        expected: dict[str, Any] | None = None,
        recheck_s: float = RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.index_dir = index_dir
        self.expected = expected
        self.recheck_s = recheck_s
        self.clock = clock
        self._snapshot: IndexSnapshot | None = None
        self._seen: tuple[str, tuple[Any, ...]] | None = None  # (link, files' stat) last looked at
        self._checked_at = float("-inf")
        self._degraded = False
        self._lock = threading.Lock()

    def snapshot(self) -> IndexSnapshot:
        """The build to answer from: loaded on first use and again whenever the live one changes."""
        snapshot, seen = self._snapshot, self._seen
        version = index_version(self.index_dir)
        if snapshot is not None and seen is not None and seen[0] == version and not self._files_changed(seen):
            return snapshot
        with self._lock:
            self._refresh(index_version(self.index_dir))
            if self._snapshot is None:  # _refresh raises unless something is loaded
                raise IndexNotReady(f"{self.index_dir}: no index loaded")
            return self._snapshot

    def health(self) -> IndexHealth:
        """The served build's public id, and whether it is the live one."""
        snapshot = self.snapshot()
        return IndexHealth(
            "degraded" if self._degraded else "ok", build_id(snapshot.index.path), len(snapshot.index.clauses)
        )

    def _files_changed(self, seen: tuple[str, tuple[Any, ...]]) -> bool:
        """Whether the live build's files changed since they were last looked at (checked at
        most every ``recheck_s`` seconds: a few ``stat`` calls)."""
        now = self.clock()
        if now - self._checked_at < self.recheck_s:
            return False
        self._checked_at = now
        return build_signature(self.index_dir / seen[0]) != seen[1]

    def _refresh(self, version: str) -> None:
        """Look at the live build again: serve it if it verifies, else keep what is served."""
        signature = build_signature(self.index_dir / version) if version else ()
        if self._seen == (version, signature) and self._snapshot is not None:
            return  # another thread has just looked
        self._seen, self._checked_at = (version, signature), self.clock()
        same = self._snapshot is not None and self._snapshot.version == version
        try:
            folder = (self.index_dir / version).resolve() if version else current_build(self.index_dir)
            if same:  # the files of the build in memory changed: only check them
                verify_build(folder, self.expected)
                fresh = self._snapshot
            else:
                fresh = IndexSnapshot(load_build(folder, self.expected, self.index_dir), version)
        except IndexNotReady as exc:
            if not version and self._snapshot is None:
                raise
            self._fall_back(version, exc)
            return
        if self._degraded:
            log.warning("index %s verifies: no longer degraded", build_id(version))
        elif not same and self._snapshot is not None:
            log.info("index changed: now serving %s", build_id(version))
        self._snapshot, self._degraded = fresh, False

    def _fall_back(self, version: str, exc: IndexNotReady) -> None:
        """The live build failed: keep the one in memory, or load the newest good one on disk;
        with neither, the live build's error (tried again on the next request, as before)."""
        if self._snapshot is not None:
            self._degraded = True
            log.error("live index %s failed verification; still serving %s: %s",
                      build_id(version), build_id(self._snapshot.index.path), exc)  # fmt: skip
            return
        failed = (self.index_dir / version).resolve()
        for folder in builds_newest_first(self.index_dir):
            if folder.resolve() == failed:
                continue
            try:
                index = load_build(folder, self.expected, self.index_dir)
            except IndexNotReady:
                continue
            log.error("live index %s failed verification; serving the last good build %s: %s",
                      build_id(version), build_id(folder), exc)  # fmt: skip
            self._snapshot = IndexSnapshot(index, str(folder.relative_to(self.index_dir)))
            self._degraded = True
            return
        raise exc
