"""Whether to answer: one learned model over everything that bears on it.

The sentence selector's P(answerable) says how well the best sentence fits; the intent model
says whether the question is about personal data at all, a shopping request or small talk;
the old referral rules (a shopping word without a privacy word, a name no policy mentions, a
figure asked for that the evidence lacks) become yes/no features. A logistic model fitted on
labelled questions (`privacy-assistant train decision`) weighs them, so no single cue can
refuse a question the rest of the evidence says is answered.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from app.errors import InputError
from app.selection import Logistic, logistic_from_json

if TYPE_CHECKING:
    from app.stages import Chosen, Lookup

DECISION_FILE = "decision.json"
SURE = 0.6  # the intent probability at which a refusal says "small talk" or "not a privacy question"
DECISION_FEATURES = (
    "answer_logit",  # logit of the selector's P(answerable), clipped to ±8
    "p_privacy",  # the intent model's probabilities (0 without one)
    "p_off_topic",
    "p_chitchat",
    "shopping_cue",  # a shopping word and no privacy word (app/data/query.toml)
    "privacy_cue",  # a privacy word
    "unknown_name",  # a capitalised name no policy mentions
    "no_figure",  # a figure asked for ("how many days") that the cited sentences lack
)


class IntentScores(Protocol):
    """What the decision reads of the intent model's output (app/intent.py)."""

    @property
    def top(self) -> str: ...

    def p(self, label: str) -> float: ...


@dataclass(frozen=True)
class Signals:
    """The inputs of one decision, named."""

    p_answerable: float
    intent: IntentScores | None
    shopping_cue: bool
    privacy_cue: bool
    unknown_name: str  # "" or the name
    no_figure: bool

    def vector(self) -> np.ndarray:
        p = min(max(self.p_answerable, 1e-4), 1 - 1e-4)
        logit = max(-8.0, min(8.0, math.log(p / (1 - p))))
        intent = self.intent
        probs = [intent.p(label) if intent else 0.0 for label in ("privacy", "off_topic", "chitchat")]
        flags = [self.shopping_cue, self.privacy_cue, bool(self.unknown_name), self.no_figure]
        return np.array([logit, *probs, *(float(f) for f in flags)], dtype=np.float64)

    def refusal(self) -> str:
        """Why a question is not answered, in the words the reply and the logs use: small talk
        or a request about something else only when the intent model is sure of it."""
        intent = self.intent
        if intent is not None and intent.top == "chitchat" and intent.p("chitchat") >= SURE:
            return "chit-chat"
        if (intent is not None and intent.top == "off_topic" and intent.p("off_topic") >= SURE) or (
            self.shopping_cue and not self.privacy_cue
        ):
            return "off-topic"
        if self.unknown_name:
            return f"unknown term {self.unknown_name!r}"
        return "no figure given" if self.no_figure else "weak evidence"


@dataclass(frozen=True)
class DecisionModel:
    """P(the question is answered by the cited sentences | its signals)."""

    model: Logistic
    threshold: float = 0.5
    fitted_on: str = ""
    needs_intent: bool = True  # fitted with the intent model's probabilities

    def probability(self, signals: Signals) -> float:
        return float(self.model.probability(signals.vector())[0])

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DecisionModel:
        """Read a decision file; a malformed one is an InputError naming the file."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            model = logistic_from_json(raw["model"])
            decision = cls(model, float(raw["threshold"]), str(raw.get("fitted_on", "")), bool(raw["needs_intent"]))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}: not a decision file ({exc})") from None
        if model.features != DECISION_FEATURES:
            raise InputError(f"{path}: features {model.features}, expected {DECISION_FEATURES}")
        if not 0.0 < decision.threshold < 1.0:
            raise InputError(f"{path}: threshold must be between 0 and 1, not {decision.threshold}")
        return decision


@dataclass(frozen=True)
class Judgement:
    """A question retrieved, its sentences chosen and the decision taken (before the reply)."""

    lookup: Lookup
    chosen: Chosen
    signals: Signals
    reason: str  # why not to answer, or "" to answer
