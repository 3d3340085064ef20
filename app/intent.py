"""What a customer's question is: a privacy question, a shopping request, small talk, a follow-up
fragment or a comparison of policies — probabilities from a learned model, never a word list's veto.

The model is a multinomial logistic regression (``privacy-assistant train intent``) over two kinds
of features of a question:

- its sentence vector from the project's encoder, which the assistant computes anyway for
  retrieval (so ``predict`` takes the vector instead of embedding again);
- hashed character n-grams of its text (scikit-learn's stateless ``HashingVectorizer``), because
  the encoder is an English MiniLM: the n-grams carry Chinese questions and misspelt words.

A model folder holds ``intent.safetensors`` (the weights) and ``intent.json`` (labels, feature
configuration, the identity of the encoder whose vectors it was fitted on). scikit-learn is only
imported when a question is featurised, never at import.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from app.errors import InputError

INTENTS = ("privacy", "off_topic", "chitchat", "followup", "compare")
WEIGHTS_FILE = "intent.safetensors"
CONFIG_FILE = "intent.json"
FORMAT = 1
# What says two encoders give the same vectors (the spec is only where it was found).
_IDENTITY_KEYS = ("name", "package_version", "config_sha256", "weights_sha256", "dimension")


@dataclass(frozen=True)
class IntentScores:
    """The model's probability for each label of ``INTENTS`` (same order), summing to 1."""

    probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.probabilities) != len(INTENTS):
            raise InputError(f"intent scores: {len(self.probabilities)} probabilities for {len(INTENTS)} labels")

    @property
    def top(self) -> str:
        """The most probable label (the first of a tie, in ``INTENTS`` order)."""
        return INTENTS[int(np.argmax(self.probabilities))]

    def p(self, label: str) -> float:
        """P(label); an unknown label is an error rather than a silent 0."""
        if label not in INTENTS:
            raise InputError(f"unknown intent {label!r} (one of {', '.join(INTENTS)})")
        return self.probabilities[INTENTS.index(label)]

    def as_dict(self) -> dict[str, float]:
        return dict(zip(INTENTS, self.probabilities, strict=True))


@dataclass(frozen=True)
class NgramConfig:
    """scikit-learn ``HashingVectorizer`` parameters: stateless, so nothing but these is stored."""

    analyzer: str = "char_wb"
    ngram_range: tuple[int, int] = (1, 3)
    n_features: int = 2**16
    lowercase: bool = True
    norm: str = "l2"
    alternate_sign: bool = False

    def vectorizer(self) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngram_range,
            n_features=self.n_features,
            lowercase=self.lowercase,
            norm=self.norm,
            alternate_sign=self.alternate_sign,
            dtype=np.float32,
        )


@dataclass(frozen=True)
class FeatureConfig:
    """How a question becomes one row: [embedding_weight × vector, ngram_weight × n-grams].
    Both parts are unit length, so the weights say how much each may count before the penalty."""

    dimension: int
    embedding_weight: float = 1.0
    ngram_weight: float = 1.0
    ngrams: NgramConfig = field(default_factory=NgramConfig)

    @property
    def width(self) -> int:
        return self.dimension + self.ngrams.n_features


def design_matrix(texts: Sequence[str], vectors: np.ndarray, config: FeatureConfig, vectorizer: Any = None) -> Any:
    """The rows the model is fitted on and predicts from (a scipy CSR matrix): one definition
    for training and serving, so the two cannot drift apart."""
    from scipy import sparse

    vectors = _check_vectors(texts, vectors, config.dimension)
    grams = (vectorizer or config.ngrams.vectorizer()).transform(list(texts))
    dense = sparse.csr_matrix(vectors * np.float32(config.embedding_weight))
    return sparse.hstack([dense, grams * np.float32(config.ngram_weight)], format="csr", dtype=np.float32)


def _check_vectors(texts: Sequence[str], vectors: np.ndarray, dimension: int) -> np.ndarray:
    vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if vectors.shape != (len(texts), dimension):
        raise InputError(f"intent model: vectors of shape {vectors.shape}, expected ({len(texts)}, {dimension})")
    return vectors


def same_encoder(recorded: Mapping[str, Any], actual: Mapping[str, Any]) -> bool:
    """Whether two encoder identities (``Embedder.identity``) name the same weights."""
    return all(recorded.get(k) == actual.get(k) for k in _IDENTITY_KEYS if k in recorded or k in actual)


@dataclass(frozen=True, eq=False)
class IntentModel:
    """A fitted intent model: ``coef`` is (labels, features), columns as ``design_matrix`` lays them."""

    features: FeatureConfig
    coef: np.ndarray
    intercept: np.ndarray
    encoder: Mapping[str, Any]
    meta: Mapping[str, Any] = field(default_factory=dict)  # what it was trained on, for the card

    def __post_init__(self) -> None:
        if self.coef.shape != (len(INTENTS), self.features.width) or self.intercept.shape != (len(INTENTS),):
            raise InputError(
                f"intent model: weights of shape {self.coef.shape} and {self.intercept.shape}, "
                f"expected ({len(INTENTS)}, {self.features.width}) and ({len(INTENTS)},)"
            )

    @property
    def labels(self) -> tuple[str, ...]:
        return INTENTS

    @cached_property
    def _vectorizer(self) -> Any:
        return self.features.ngrams.vectorizer()

    @cached_property
    def _blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """The weights of the vector and of the n-grams, each with its feature weight folded in."""
        d = self.features.dimension
        vector = np.ascontiguousarray(self.coef[:, :d].T * self.features.embedding_weight, dtype=np.float32)
        grams = np.ascontiguousarray(self.coef[:, d:].T * self.features.ngram_weight, dtype=np.float32)
        return vector, grams

    def probabilities(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(questions, labels) probabilities, columns in ``INTENTS`` order."""
        vectors = _check_vectors(texts, vectors, self.features.dimension)
        vector_w, grams_w = self._blocks
        grams = self._vectorizer.transform(list(texts))
        logits = vectors @ vector_w + np.asarray(grams @ grams_w) + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, text: str, vector: np.ndarray) -> IntentScores:
        """The scores of one question, from its text and the encoder's vector of it."""
        return self.predict_many([text], np.atleast_2d(vector))[0]

    def predict_many(self, texts: Sequence[str], vectors: np.ndarray) -> list[IntentScores]:
        """The scores of many questions, one row of ``vectors`` each."""
        if not texts:
            return []
        return [IntentScores(tuple(float(p) for p in row)) for row in self.probabilities(texts, vectors)]

    def check_encoder(self, identity: Mapping[str, Any]) -> None:
        """Refuse vectors from an encoder other than the one the model was fitted on."""
        if not same_encoder(self.encoder, identity):
            raise InputError(
                f"intent model was fitted on the vectors of encoder {_describe(self.encoder)}, "
                f"not {_describe(identity)}: retrain it (privacy-assistant train intent)"
            )

    def save(self, folder: Path) -> None:
        """Write ``intent.safetensors`` and ``intent.json`` into ``folder``."""
        from safetensors.numpy import save_file

        folder.mkdir(parents=True, exist_ok=True)
        # C order: safetensors writes an array's raw buffer, and scikit-learn's coef_ may be Fortran-ordered
        tensors = {
            k: np.ascontiguousarray(v, dtype=np.float32)
            for k, v in (("coef", self.coef), ("intercept", self.intercept))
        }
        save_file(tensors, str(folder / WEIGHTS_FILE))
        config = {
            "format": FORMAT,
            "labels": list(INTENTS),
            "features": asdict(self.features),
            "encoder": dict(self.encoder),
            **dict(self.meta),
        }
        (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, encoder: Mapping[str, Any] | None = None) -> IntentModel:
        """The model in ``folder`` (offline); with ``encoder`` (an ``Embedder.identity``), also
        checked to have been fitted on that encoder's vectors. Anything missing or malformed is
        an InputError naming the file and the field."""
        raw = _read_config(folder / CONFIG_FILE)
        features = _features(raw, folder / CONFIG_FILE)
        coef, intercept = _read_weights(folder / WEIGHTS_FILE)
        meta = {k: v for k, v in raw.items() if k not in ("format", "labels", "features", "encoder")}
        try:
            model = cls(features, coef, intercept, dict(raw["encoder"]), meta)
        except InputError as exc:
            raise InputError(f"{folder / WEIGHTS_FILE}: {exc}") from None
        if encoder is not None:
            model.check_encoder(encoder)
        return model


def _describe(identity: Mapping[str, Any]) -> str:
    return f"{identity.get('name', '?')} (config {identity.get('config_sha256', '?')})"


def _read_config(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"intent model: {path} not found (train one with: privacy-assistant train intent)")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a JSON object")
    if raw.get("format") != FORMAT:
        raise InputError(f"{path}: field 'format' is {raw.get('format')!r}, expected {FORMAT}")
    if raw.get("labels") != list(INTENTS):
        raise InputError(f"{path}: field 'labels' is {raw.get('labels')!r}, expected {list(INTENTS)}")
    if not isinstance(raw.get("encoder"), dict):
        raise InputError(f"{path}: field 'encoder' (the encoder's identity) is missing or not an object")
    return raw


def _features(raw: dict[str, Any], path: Path) -> FeatureConfig:
    try:
        spec = dict(raw["features"])
        grams = dict(spec.pop("ngrams"))
        grams["ngram_range"] = tuple(int(n) for n in grams["ngram_range"])
        config = FeatureConfig(**spec, ngrams=NgramConfig(**grams))
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: field 'features' is malformed ({type(exc).__name__}: {exc})") from None
    numbers = (config.dimension, config.ngrams.n_features, config.embedding_weight, config.ngram_weight)
    if not all(isinstance(n, int | float) and math.isfinite(n) and n > 0 for n in numbers):
        raise InputError(f"{path}: field 'features' holds a size or weight that is not a positive number")
    return config


def _read_weights(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not path.is_file():
        raise InputError(f"intent model: {path} not found (train one with: privacy-assistant train intent)")
    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as exc:
        raise InputError(f"{path}: not a safetensors file ({exc})") from None
    missing = [k for k in ("coef", "intercept") if k not in tensors]
    if missing:
        raise InputError(f"{path}: tensor {missing[0]!r} is missing")
    return tensors["coef"].astype(np.float32), tensors["intercept"].astype(np.float32)
