"""Learned sentence choice and abstention: small logistic models over a few scores.

Which retrieved sentence to cite, and whether the best one answers at all, were hand
weights and thresholds; here they are probabilities fitted on labelled questions
(`privacy-assistant train selector`) and stored beside the encoder as JSON:

- ``select``: P(this sentence holds the answer | its features), per candidate sentence;
- ``answerable``: P(the question is answered | features of the best candidate).

A feature vector is a few numbers any policy has (similarities, retrieval rank, word
overlap, sentence shape), never words of a particular policy, so what is learned on one
set of notices carries to another.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from app.errors import InputError

# Per candidate sentence.
SENTENCE_FEATURES = (
    "cos",  # question · sentence (the encoder)
    "gap",  # cos minus the best cos among the candidates (≤ 0)
    "clause",  # the clause's fused retrieval score (0..1)
    "clause_cos",  # question · clause vector
    "lex",  # share of the question's IDF weight the sentence carries
    "short",  # 1 for a fragment (a heading-like line)
    "shape",  # 1 when it holds the kind of fact asked for (a duration, an e-mail, an age)
    "first",  # 1 for the first sentence of its clause
)
# Per question, from its best candidate and the runner-up.
ANSWER_FEATURES = ("p_lead", "cos", "lex", "margin", "clause")


@dataclass(frozen=True)
class Logistic:
    """A logistic model on standardised features."""

    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, x: np.ndarray) -> np.ndarray:
        """P(y=1) for each row of ``x`` (columns in ``features`` order)."""
        z = (np.atleast_2d(x) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(z @ np.asarray(self.weights) + self.bias)))

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        features: Sequence[str],
        l2: float = 1.0,
        iterations: int = 50,
        weights: np.ndarray | None = None,
    ) -> Logistic:
        """Maximum-likelihood fit with an L2 penalty (Newton's method: deterministic, no
        learning rate to tune); ``weights``: one per row (default 1)."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        r = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
        if len(x) == 0 or len(set(y.tolist())) < 2:
            raise InputError("cannot fit a logistic model: need examples of both classes")
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale < 1e-9] = 1.0
        z = np.hstack([(x - mean) / scale, np.ones((len(x), 1))])
        w = np.zeros(z.shape[1])
        penalty = np.full(z.shape[1], l2)
        penalty[-1] = 0.0  # the bias is not shrunk
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(-(z @ w)))
            grad = z.T @ (r * (p - y)) + penalty * w
            hess = (z * (r * p * (1 - p))[:, None]).T @ z + np.diag(penalty) + 1e-9 * np.eye(len(w))
            step = np.linalg.solve(hess, grad)
            w -= step
            if float(np.max(np.abs(step))) < 1e-8:
                break
        return cls(
            tuple(features),
            tuple(round(float(v), 6) for v in w[:-1]),
            round(float(w[-1]), 6),
            tuple(round(float(v), 6) for v in mean),
            tuple(round(float(v), 6) for v in scale),
        )


@dataclass(frozen=True)
class Selector:
    """The fitted models, per question language (``"*"``: any language without its own)."""

    select: dict[str, Logistic]
    answerable: dict[str, Logistic]
    # A second sentence is cited when its P(holds the answer) is at least this share of the
    # lead's: chosen when fitting, out of fold, for the best balance of hit and precision.
    support: float = 0.7
    fitted_on: str = ""

    def sentence_model(self, lang: str) -> Logistic:
        return self.select.get(lang) or self.select["*"]

    def answer_model(self, lang: str) -> Logistic:
        return self.answerable.get(lang) or self.answerable["*"]

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Selector:
        """Read a selector file; a malformed one is an InputError naming the file."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            models = {
                key: {lang: logistic_from_json(m) for lang, m in raw[key].items()} for key in ("select", "answerable")
            }
            selector = cls(models["select"], models["answerable"], float(raw["support"]), str(raw.get("fitted_on", "")))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a selector file ({exc})") from None
        for key, wanted in (("select", SENTENCE_FEATURES), ("answerable", ANSWER_FEATURES)):
            for lang, model in getattr(selector, key).items():
                if model.features != wanted:
                    raise InputError(f"{path}: {key}.{lang} has features {model.features}, expected {wanted}")
        if "*" not in selector.select or "*" not in selector.answerable:
            raise InputError(f"{path}: needs a '*' model for select and answerable")
        return selector


def logistic_from_json(raw: dict[str, object]) -> Logistic:
    model = Logistic(
        tuple(raw["features"]),  # type: ignore[arg-type]
        tuple(float(v) for v in raw["weights"]),  # type: ignore[attr-defined]
        float(raw["bias"]),  # type: ignore[arg-type]
        tuple(float(v) for v in raw["mean"]),  # type: ignore[attr-defined]
        tuple(float(v) for v in raw["scale"]),  # type: ignore[attr-defined]
    )
    n = len(model.features)
    if not (len(model.weights) == len(model.mean) == len(model.scale) == n) or not all(
        math.isfinite(v) for v in (*model.weights, *model.mean, *model.scale, model.bias)
    ):
        raise ValueError("weights, mean and scale must be finite and one per feature")
    return model


def answer_features(p_lead: float, cos: float, lex: float, p_runner_up: float, clause: float) -> np.ndarray:
    """The ``answerable`` model's input for a question's best candidate. Its "margin" is the
    lead's cosine less the runner-up's probability (mixed units, as the shipped selector was
    fitted; the fit's weights absorb the scale)."""
    return np.array([p_lead, cos, lex, cos - p_runner_up, clause], dtype=np.float64)
