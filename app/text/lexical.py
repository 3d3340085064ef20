"""Tokens for BM25: Chinese segmented with jieba, English stemmed without stop words."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from app.text.language import CJK, CJK_CHARS

log = logging.getLogger(__name__)

_RUNS = re.compile(f"[{CJK_CHARS}]+|[A-Za-z0-9][A-Za-z0-9'’-]*")
EN_STOP = frozenset(
    """a about above after again against all am an and any are aren't as at be because been before being
    below between both but by can can't cannot could couldn't did didn't do does doesn't doing don't down
    during each few for from further had hadn't has hasn't have haven't having he her here hers herself him
    himself his how i if in into is isn't it it's its itself let's me more most mustn't my myself no nor not
    of off on once only or other ought our ours ourselves out over own same shan't she should shouldn't so
    some such than that that's the their theirs them themselves then there there's these they this those
    through to too under until up very was wasn't we were weren't what what's when where which while who
    whom why with won't would wouldn't you your yours yourself yourselves u ur pls please hi hello hey thanks
    im i'm ive i've id i'd will shall may might must also just""".split()
)
ZH_STOP = frozenset(
    "的 了 是 我 您 你 们 我们 吗 呢 吧 啊 和 与 及 或 在 把 被 对 于 从 会 能 要 就 都 也 还 这 那 个 中 上 下 "
    "有 无 为 以 其 之 等 请 怎么 什么 如何 是否 哪些 可以".split()
)


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def chinese_words(text: str) -> list[str]:
    """``text`` cut into jieba's words, every character kept (for rewriting, not for search)."""
    return list(_jieba().lcut(text))


def tokenize(text: str) -> list[str]:
    """Lower-cased content tokens: English stems, jieba words for Chinese runs."""
    tokens: list[str] = []
    for run in _RUNS.findall(text):
        if CJK.match(run):
            tokens.extend(w for w in _jieba().lcut_for_search(run) if w not in ZH_STOP)
        else:
            word = run.lower().replace("’", "'").strip("'-")
            if word and word not in EN_STOP:
                tokens.append(_stemmer().stemWord(word.removesuffix("'s")))
    return tokens


class LexicalIndex:
    """BM25 over clause texts (bm25s), plus IDF weights for scoring single sentences."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)
        seen: dict[str, list[str]] = {}  # policy versions repeat most of their text
        corpus = [seen[t] if t in seen else seen.setdefault(t, tokenize(t) or ["∅"]) for t in texts]
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        self._bm25.index(corpus, show_progress=False)
        self.vocab: dict[str, int] = self._bm25.vocab_dict
        df = Counter(tok for doc in corpus for tok in set(doc))
        n = len(corpus)
        self.idf = {tok: math.log(1 + (n - f + 0.5) / (f + 0.5)) for tok, f in df.items()}
        self.size = n
        self.max_idf = max(self.idf.values(), default=1.0)

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """BM25 score of every clause (zeros when no query token is in the corpus)."""
        known = [t for t in query_tokens if t in self.vocab]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(known), dtype=np.float32)

    def coverage(
        self,
        query_terms: Sequence[str],
        text_tokens: set[str],
        equivalents: Callable[[str], set[str]] | None = None,
    ) -> float:
        """Share of the question's IDF weight found in a text (0..1); a term counts as
        found when it or one of its ``equivalents`` is there."""
        terms = set(query_terms)
        if not terms:
            return 0.0
        unseen = self.max_idf
        found = total = 0.0
        for term in terms:
            weight = self.idf.get(term, unseen)
            total += weight
            if term in text_tokens or (equivalents and not equivalents(term).isdisjoint(text_tokens)):
                found += weight
        return found / total
