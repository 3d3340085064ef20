"""Everything derived from one index build, replaced whole when a new build goes live."""

from __future__ import annotations

from app.catalog import Catalog
from app.contacts import ContactDirectory
from app.index import ClauseIndex
from app.lexical import tokenize
from app.records import Clause
from app.retrieve import HybridRetriever


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

    def sentence_tokens(self, clause: Clause, row: int, j: int) -> set[str]:
        """Tokens of sentence ``j`` of the clause at ``row`` (computed on first use)."""
        key = int(self.index.sentence_offsets[row]) + j
        if (found := self._sentence_tokens.get(key)) is None:
            found = self._sentence_tokens[key] = set(tokenize(clause.sentence_text(j)))
        return found


def deletions(word: str) -> set[str]:
    """The word and every variant of it with one character deleted."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}
