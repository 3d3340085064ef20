"""Shared fixtures: the real packaged model, one real seed index per session, a fake embedder."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "documents"
SEED_IDS = (
    "cartier-china-privacy-policy-2023",
    "cartier-conditions-of-sale",
    "cartier-privacy-policy-2024",
    "cartier-us-privacy-policy-2010",
    "harry-winston-privacy-policy-2015",
)


class FakeEmbedder:
    """Deterministic stand-in: tokens hashed into a 384-dim unit vector. Counts what it embeds."""

    dimension = 384

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    @property
    def identity(self) -> dict[str, Any]:
        return {"spec": "fake", "name": "fake", "dimension": self.dimension}

    @property
    def embedded(self) -> list[str]:
        return [t for call in self.calls for t in call]

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(self.dimension, dtype=np.float32)
        for token in re.findall(r"\w+", text.lower()) or [text]:
            h = int.from_bytes(hashlib.sha1(token.encode("utf-8")).digest()[:4], "little")
            v[h % self.dimension] += 1.0
        norm = float(np.linalg.norm(v))
        return v / norm if norm else v

    def embed_texts(self, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = list(texts)
        self.calls.append(texts)
        if progress:
            progress(len(texts))
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.vstack([self._vector(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture(scope="session")
def embedder():
    os.environ["HF_HUB_OFFLINE"] = "1"
    from app.embedding import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, embedder) -> Path:
    """A real index of the seed documents, built once per session (cold build ~60 s)."""
    from app.index import build_index

    index_dir = tmp_path_factory.mktemp("seed-index") / "index"
    build_index(DOCUMENTS, index_dir, embedder)
    return index_dir


POLICYQA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "policyqa" / "dev.json"


@pytest.fixture(scope="session")
def tiny_reader(tmp_path_factory) -> Path:
    """A reader made by the real `train reader` command on a few questions (seconds): for the
    pipeline and the lead's UI path, not its quality (no reader ships; see README)."""
    from app.cli import main

    if not POLICYQA.is_file():
        pytest.skip("../shared/datasets/policyqa is not beside this clone")
    out = tmp_path_factory.mktemp("reader") / "privacy-reader"
    assert main(["train", "reader", "--limit", "40", "--epochs", "0.05", "--out", str(out)]) == 0
    return out


@pytest.fixture
def docs_copy(tmp_path) -> Path:
    """A private, modifiable copy of the seed documents folder."""
    target = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, target)
    return target


def copy_index(index_dir: Path, target: Path) -> Path:
    """Copy an index folder (keeping its relative ``current`` link) so a test can ingest on top."""
    shutil.copytree(index_dir, target, symlinks=True)
    return target
