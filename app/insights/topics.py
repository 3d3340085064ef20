"""Questions grouped by topic: their embeddings (the index's own encoder) clustered by
scikit-learn's agglomerative clustering, average linkage on cosine distance, cut at a fixed
distance. Why this and not HDBSCAN: the groups an agent needs are often small (three
customers asking about one missing topic), and HDBSCAN calls a group of three noise unless
`min_cluster_size` is that small, where it then splits paraphrases; a distance cut keeps any
two questions that say the same thing together, however few they are. The cut was chosen on
hand-written paraphrase groups of our own (tests/test_insights.py), never on evals/."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

# Cosine distance under which average linkage still merges: paraphrases of one question sit
# at 0.2-0.4 with the index's encoder, different topics of the same policy at 0.6 and more.
DISTANCE = 0.5

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass(frozen=True)
class Topic:
    """One group of questions: the indices of its members (into the input), most central first."""

    members: tuple[int, ...]

    @property
    def central(self) -> int:
        return self.members[0]


def group(vectors: np.ndarray, weights: Sequence[float], distance: float = DISTANCE) -> list[Topic]:
    """Questions grouped by topic, from their unit-length vectors (one row per question).
    Each group lists its members most central first: the question with the highest
    weight-averaged cosine similarity to the others (`weights`: how often each was asked), so a
    group is named by what most of its askers meant, not by an outlier."""
    n = len(vectors)
    if n == 0:
        return []
    labels = np.zeros(n, dtype=np.int64)
    if n > 1:
        from sklearn.cluster import AgglomerativeClustering

        model = AgglomerativeClustering(
            n_clusters=None, distance_threshold=distance, metric="cosine", linkage="average"
        )
        labels = model.fit_predict(np.asarray(vectors, dtype=np.float32))
    w = np.asarray(weights, dtype=np.float64)
    topics = []
    for label in np.unique(labels):
        idx = np.flatnonzero(labels == label)
        centrality = (vectors[idx] @ vectors[idx].T) @ w[idx]
        order = idx[np.lexsort((idx, -w[idx], -np.round(centrality, 6)))]
        topics.append(Topic(tuple(int(i) for i in order)))
    return topics


def embed_in_batches(embed: Embed, texts: Sequence[str], batch: int = 256) -> np.ndarray:
    """Unit-length vectors of `texts`, encoded `batch` at a time (memory stays flat)."""
    parts = [np.asarray(embed(texts[i : i + batch]), dtype=np.float32) for i in range(0, len(texts), batch)]
    if not parts:
        return np.zeros((0, 1), dtype=np.float32)
    vectors = np.vstack(parts)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


class EmbedCache:
    """The encoder behind a bounded LRU cache of question vectors, for the console: a refreshed
    report embeds only the questions that are new since the last one. (Agents only: the
    customers' answers keep no such cache, whose timing would tell what others asked.)"""

    def __init__(self, embed: Embed, size: int = 10_000) -> None:
        self.embed = embed
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        fresh = np.asarray(self.embed(missing), dtype=np.float32) if missing else None
        with self._lock:
            for text, vector in zip(missing, fresh if fresh is not None else [], strict=True):
                self._vectors[text] = vector
            rows = []
            for text in texts:
                vector = self._vectors.get(text)
                if vector is None:  # evicted meanwhile by a concurrent refresh: embed it again
                    vector = np.asarray(self.embed([text]), dtype=np.float32)[0]
                self._vectors[text] = vector
                self._vectors.move_to_end(text)
                rows.append(vector)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return np.vstack(rows) if rows else np.zeros((0, 1), dtype=np.float32)
