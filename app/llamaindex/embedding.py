"""An embedder as llama-index's embed model. It imports nothing of the app: app/embedding.py
builds one over its own model (``llama_embedding``) without an import cycle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr


class Embeds(Protocol):
    """What ``ClauseEmbedding.from_embedder`` needs (app.embedding.Embedder has it)."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class ClauseEmbedding(BaseEmbedding):
    """An embedder as llama-index's embed model (for llama-index's own indexes, such as the
    dense baseline): unit vectors from the functions given, no second copy of the model."""

    _embed_texts: Callable[[list[str]], np.ndarray] = PrivateAttr()
    _embed_query: Callable[[str], np.ndarray] = PrivateAttr()

    def __init__(
        self,
        embed_texts: Callable[[list[str]], np.ndarray],
        embed_query: Callable[[str], np.ndarray],
        model_name: str = "",
        embed_batch_size: int = 64,
    ) -> None:
        super().__init__(model_name=model_name, embed_batch_size=embed_batch_size)
        self._embed_texts = embed_texts
        self._embed_query = embed_query

    @classmethod
    def from_embedder(cls, embedder: Embeds, model_name: str = "") -> ClauseEmbedding:
        """The embedder's own texts and query paths (its query cache and precision included)."""
        return cls(lambda texts: embedder.embed_texts(texts), embedder.embed_query, model_name)

    @classmethod
    def class_name(cls) -> str:
        return "ClauseEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return _floats(self._embed_query(query))

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return _floats(self._embed_texts([text])[0])

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return [_floats(row) for row in self._embed_texts(list(texts))]


def _floats(vector: np.ndarray) -> list[float]:
    return [float(x) for x in np.asarray(vector, dtype=np.float32).tolist()]
