"""Everything derived from one index build, replaced whole when a new build goes live."""

from __future__ import annotations

from functools import cached_property

from app.catalog import Catalog
from app.contacts import ContactDirectory
from app.index import ClauseIndex
from app.lexical import tokenize
from app.records import Clause
from app.retrieve import HybridRetriever
from app.spelling import SpellCorrector


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
