"""Train and measure the intent model (app/intent.py): data, fit, figures, model folder.

Three sources, each split so that what is reported was never fitted or tuned on:

- CLINC150 (CC BY 3.0): its small-talk and meta intents are ``chitchat``, every other intent and
  its out-of-scope requests ``off_topic``; ``train`` fits, ``val`` chooses the hyper-parameters,
  ``test`` reports;
- PolicyQA's questions as ``privacy``, split by policy exactly as the encoder was
  (``split_policies``); the training policies fit (two of them choose), the held-out ones report;
- our own questions in customers' register, English and Chinese (``data/intent/train.jsonl``,
  one fold of it choosing), and a separately written ``data/intent/heldout.jsonl`` that reports.

Never ``evals/``. Sentence vectors are cached under ``.cache/`` by encoder and texts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.embedding import Embedder
from app.errors import InputError
from app.intent import INTENTS, FeatureConfig, IntentModel, design_matrix
from app.jsonl import read_objects
from app.training.data import policy_key, split_policies

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
CLINC = ROOT.parent / "shared" / "datasets" / "clinc150" / "data_full.json"
POLICYQA = ROOT.parent / "shared" / "datasets" / "policyqa" / "dev.json"
OWN_TRAIN = ROOT / "data" / "intent" / "train.jsonl"
OWN_HELDOUT = ROOT / "data" / "intent" / "heldout.jsonl"
CACHE = ROOT / ".cache" / "intent-vectors"
# CLINC150's "small_talk" and "meta" domains (the data file carries intents, not domains).
CLINC_CHITCHAT = frozenset(
    "greeting goodbye tell_joke where_are_you_from how_old_are_you what_is_your_name who_made_you thank_you "
    "what_can_i_ask_you what_are_your_hobbies do_you_have_pets are_you_a_bot meaning_of_life who_do_you_work_for "
    "fun_fact change_ai_name change_user_name cancel user_name reset_settings whisper_mode repeat no yes maybe "
    "change_language change_accent change_volume change_speed sync_device".split()
)
VAL_POLICIES = 2  # training policies whose questions choose the hyper-parameters
VAL_SHARE = 5  # one own training line in this many chooses the hyper-parameters


@dataclass(frozen=True)
class Example:
    """One labelled question and where it comes from (``clinc150``, ``policyqa``, ``own``)."""

    text: str
    label: str
    source: str
    lang: str = "en"


@dataclass(frozen=True)
class IntentConfig:
    """Hyper-parameters: the L2 strength (``c``, scikit-learn's C), the weight of the n-gram part,
    and how much one of our own lines counts against one line of the big public sets."""

    c: float = 4.0
    ngram_weight: float = 1.0
    own_weight: float = 4.0
    max_iter: int = 2000
    seed: int = 0


GRID = tuple(IntentConfig(c=c, own_weight=w) for c in (1.0, 4.0, 16.0) for w in (1.0, 4.0, 16.0))
NGRAM_GRID = (0.5, 2.0)  # tried at the best point of GRID


def clinc_examples(parts: Sequence[str], path: Path = CLINC) -> list[Example]:
    """CLINC150 requests of the given parts (``train``, ``oos_train``, ``val``…), as our labels."""
    data = _read_json(path)
    try:
        rows = [(str(text), str(intent)) for part in parts for text, intent in data[part]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not CLINC150's data_full.json ({type(exc).__name__}: {exc})") from None
    return [Example(t, "chitchat" if i in CLINC_CHITCHAT else "off_topic", "clinc150") for t, i in rows]


def policyqa_examples(path: Path = POLICYQA) -> dict[str, list[Example]]:
    """PolicyQA's distinct questions as ``privacy``, by policy title."""
    try:
        data = _read_json(path)["data"]
        by_policy = {
            p["title"]: sorted({qa["question"].strip() for para in p["paragraphs"] for qa in para["qas"]}) for p in data
        }
    except (KeyError, TypeError) as exc:
        raise InputError(f"{path}: not a PolicyQA/SQuAD JSON file ({type(exc).__name__}: {exc})") from None
    return {title: [Example(q, "privacy", "policyqa") for q in qs if q] for title, qs in by_policy.items()}


def own_examples(path: Path) -> list[Example]:
    """Our labelled lines: ``{"text", "label", "lang"}``; a bad line is an InputError naming it."""
    out = []
    for where, row in read_objects(path):
        text, label, lang = row.get("text"), row.get("label"), row.get("lang")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: field 'text' must be a non-empty string")
        if label not in INTENTS:
            raise InputError(f"{where}: field 'label' must be one of {', '.join(INTENTS)}, not {label!r}")
        if lang not in ("en", "zh"):
            raise InputError(f"{where}: field 'lang' must be 'en' or 'zh', not {lang!r}")
        out.append(Example(text.strip(), str(label), "own", str(lang)))
    return out


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise InputError(f"{path} not found (the training data sets live in ../shared/datasets/)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def _fold(text: str, seed: int, share: int) -> bool:
    return int(hashlib.sha256(f"{seed}:{text}".encode()).hexdigest(), 16) % share == 0


@dataclass(frozen=True)
class Splits:
    """Every set the trainer uses, by name; ``train`` is the union of the ``fit_*`` ones."""

    sets: dict[str, list[Example]]
    train_policies: list[str]
    val_policies: list[str]
    held_out_policies: list[str]


def build_splits(
    seed: int = 0, clinc: Path = CLINC, policyqa: Path = POLICYQA, own: Path = OWN_TRAIN, heldout: Path = OWN_HELDOUT
) -> Splits:
    """Fitting, choosing and reporting sets from the three sources (see the module's docstring)."""
    questions = policyqa_examples(policyqa)
    train_titles, held_titles = split_policies(sorted(questions))
    fit_titles, val_titles = split_policies(train_titles, held_out=VAL_POLICIES)
    mine = own_examples(own)
    sets = {
        "fit_clinc": clinc_examples(("train", "oos_train"), clinc),
        "fit_policyqa": [e for t in fit_titles for e in questions[t]],
        "fit_own": [e for e in mine if not _fold(e.text, seed, VAL_SHARE)],
        "val_clinc": clinc_examples(("val", "oos_val"), clinc),
        "val_policyqa": [e for t in val_titles for e in questions[t]],
        "val_own": [e for e in mine if _fold(e.text, seed, VAL_SHARE)],
        "test_clinc": clinc_examples(("test",), clinc),
        "test_clinc_oos": clinc_examples(("oos_test",), clinc),
        "test_policyqa": [e for t in held_titles for e in questions[t]],
        "test_own": own_examples(heldout),
    }
    return Splits(
        sets,
        [policy_key(t) for t in train_titles],
        [policy_key(t) for t in val_titles],
        [policy_key(t) for t in held_titles],
    )


def embed(embedder: Embedder, examples: Sequence[Example], cache: Path | None = CACHE) -> np.ndarray:
    """The encoder's vectors of the examples' texts, cached by encoder identity and texts."""
    texts = [e.text for e in examples]
    key = hashlib.sha256(json.dumps([embedder.identity, texts], sort_keys=True).encode()).hexdigest()[:24]
    path = cache / f"{key}.npy" if cache else None
    if path is not None and path.is_file():
        return np.load(path)
    vectors = np.asarray(embedder.embed_texts(texts), dtype=np.float32)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    return vectors


def sample_weights(examples: Sequence[Example], own_weight: float) -> np.ndarray:
    """Each class weighs the same in total (CLINC150's 15,000 requests would drown the rest);
    within a class, one of our lines counts ``own_weight`` times a public one. Mean 1."""
    raw = np.array([own_weight if e.source == "own" else 1.0 for e in examples])
    labels = np.array([e.label for e in examples])
    for label in set(labels.tolist()):
        mask = labels == label
        raw[mask] /= raw[mask].sum()
    return raw * len(raw) / raw.sum()


def fit(examples: Sequence[Example], vectors: np.ndarray, config: IntentConfig, encoder: dict[str, Any]) -> IntentModel:
    """A multinomial logistic regression over ``design_matrix`` rows (scikit-learn, lbfgs)."""
    from sklearn.linear_model import LogisticRegression

    missing = set(INTENTS) - {e.label for e in examples}
    if missing:
        raise InputError(f"train intent: no training example of {', '.join(sorted(missing))}")
    features = FeatureConfig(dimension=vectors.shape[1], ngram_weight=config.ngram_weight)
    x = design_matrix([e.text for e in examples], vectors, features)
    y = np.array([INTENTS.index(e.label) for e in examples])
    lr = LogisticRegression(C=config.c, max_iter=config.max_iter, random_state=config.seed)
    lr.fit(x, y, sample_weight=sample_weights(examples, config.own_weight))
    meta = {"hyper_parameters": asdict(config)}
    return IntentModel(features, lr.coef_.astype(np.float32), lr.intercept_.astype(np.float32), encoder, meta)


def predicted(model: IntentModel, examples: Sequence[Example], vectors: np.ndarray) -> list[str]:
    probs = model.probabilities([e.text for e in examples], vectors)
    return [INTENTS[i] for i in probs.argmax(axis=1)]


def figures(name: str, examples: Sequence[Example], guesses: Sequence[str]) -> dict[str, float]:
    """Accuracy of one set, and by label and language where the set has several."""
    right = np.array([g == e.label for e, g in zip(examples, guesses, strict=True)])
    out = {f"intent_accuracy_{name}": float(right.mean()) if len(right) else 0.0, f"intent_n_{name}": len(right)}
    for values in ([e.label for e in examples], [e.lang for e in examples]):
        if len(set(values)) > 1:
            for value in sorted(set(values)):
                mask = np.array([v == value for v in values])
                out[f"intent_accuracy_{name}_{value}"] = float(right[mask].mean())
    return out


def confusion(examples: Sequence[Example], guesses: Sequence[str]) -> list[list[int]]:
    """Rows: true label, columns: predicted, both in ``INTENTS`` order."""
    counts = Counter((e.label, g) for e, g in zip(examples, guesses, strict=True))
    return [[counts[(t, p)] for p in INTENTS] for t in INTENTS]


def _score(model: IntentModel, sets: dict[str, list[Example]], vectors: dict[str, np.ndarray]) -> float:
    """The validation score: the mean of CLINC150 accuracy, PolicyQA recall and the balanced
    accuracy of our own lines (each label counts the same)."""
    parts = []
    for name in ("val_clinc", "val_policyqa"):
        parts.append(figures(name, sets[name], predicted(model, sets[name], vectors[name]))[f"intent_accuracy_{name}"])
    own = figures("own", sets["val_own"], predicted(model, sets["val_own"], vectors["val_own"]))
    parts.append(float(np.mean([own[f"intent_accuracy_own_{label}"] for label in INTENTS])))
    return float(np.mean(parts))


def choose(
    splits: Splits, vectors: dict[str, np.ndarray], seed: int, encoder: dict[str, Any]
) -> tuple[IntentConfig, list[dict[str, Any]]]:
    """The hyper-parameters with the best validation score (fitted without the validation sets)."""
    names = ("fit_clinc", "fit_policyqa", "fit_own")
    examples = [e for n in names for e in splits.sets[n]]
    x = np.vstack([vectors[n] for n in names])
    scores: dict[IntentConfig, float] = {}

    def trial(config: IntentConfig) -> float:
        if config not in scores:
            scores[config] = _score(fit(examples, x, config, encoder), splits.sets, vectors)
            log.info("intent: %s → validation %.4f", config, scores[config])
        return scores[config]

    best = max((replace(c, seed=seed) for c in GRID), key=trial)
    best = max([best, *(replace(best, ngram_weight=w) for w in NGRAM_GRID)], key=trial)
    return best, [{**asdict(c), "validation_score": round(v, 4)} for c, v in scores.items()]


def train_intent(embedder: Embedder, out: Path, seed: int = 0) -> dict[str, Any]:
    """Choose, fit on all training data (fitting and choosing sets), measure, write ``out``."""
    started = time.time()
    splits = build_splits(seed)
    vectors = {name: embed(embedder, examples) for name, examples in splits.sets.items()}
    encoder = dict(embedder.identity)
    config, tried = choose(splits, vectors, seed, encoder)
    train_names = [n for n in splits.sets if n.startswith(("fit_", "val_"))]
    examples = [e for n in train_names for e in splits.sets[n]]
    model = fit(examples, np.vstack([vectors[n] for n in train_names]), config, encoder)
    record = {
        **measure(model, splits.sets, vectors),
        "hyper_parameters": asdict(config),
        "grid": tried,
        "sizes": {n: len(v) for n, v in splits.sets.items()},
        "train_labels": dict(Counter(e.label for e in examples)),
        "train_policies": splits.train_policies,
        "validation_policies": splits.val_policies,
        "held_out_policies": splits.held_out_policies,
        "train_seconds": round(time.time() - started, 1),
        "cpus": os.cpu_count(),
        "predict_ms": latency_ms(model, splits.sets["test_own"], vectors["test_own"]),
    }
    model = replace(model, meta={**model.meta, "trained_on": record["sizes"]})
    model.save(out)
    (out / "training.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    from app.training.intent_card import write_intent_card

    write_intent_card(out)
    return record


def measure(model: IntentModel, sets: dict[str, list[Example]], vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """The reported figures (flat, ``intent_…``) and the held-out confusion matrices."""
    flat: dict[str, float] = {}
    guesses = {
        n: predicted(model, sets[n], vectors[n]) for n in ("test_clinc", "test_clinc_oos", "test_policyqa", "test_own")
    }
    clinc = [*sets["test_clinc"], *sets["test_clinc_oos"]]
    clinc_guesses = [*guesses["test_clinc"], *guesses["test_clinc_oos"]]
    flat |= figures("clinc_test", clinc, clinc_guesses)
    flat |= figures("clinc_test_in_scope", sets["test_clinc"], guesses["test_clinc"])
    flat |= figures("clinc_test_oos", sets["test_clinc_oos"], guesses["test_clinc_oos"])
    flat["intent_false_privacy_clinc_test"] = float(np.mean([g == "privacy" for g in clinc_guesses]))
    flat["intent_privacy_recall_policyqa"] = float(np.mean([g == "privacy" for g in guesses["test_policyqa"]]))
    flat["intent_n_policyqa"] = len(sets["test_policyqa"])
    flat |= figures("heldout", sets["test_own"], guesses["test_own"])
    flat = {k: round(float(v), 4) for k, v in flat.items()}
    return {
        "figures": flat,
        "confusion_heldout": confusion(sets["test_own"], guesses["test_own"]),
        "confusion_clinc_test": confusion(clinc, clinc_guesses),
    }


def latency_ms(model: IntentModel, examples: Sequence[Example], vectors: np.ndarray) -> dict[str, float]:
    """Median and 95th percentile of one ``predict`` call (a question at a time, as the assistant asks)."""
    model.predict(examples[0].text, vectors[0])  # the first call imports scikit-learn
    times = []
    for example, vector in zip(examples, vectors, strict=True):
        start = time.perf_counter()
        model.predict(example.text, vector)
        times.append((time.perf_counter() - start) * 1000)
    return {"median": round(float(np.median(times)), 3), "p95": round(float(np.percentile(times, 95)), 3)}


def evaluate_intent(model_dir: Path, embedder: Embedder) -> dict[str, float]:
    """The shipped model's held-out figures (for ``privacy-assistant eval``): CLINC150 test,
    PolicyQA's held-out policies, our held-out lines. Only the reporting sets are embedded."""
    model = IntentModel.load(model_dir, embedder.identity)
    splits = build_splits()
    names = ("test_clinc", "test_clinc_oos", "test_policyqa", "test_own")
    sets = {n: splits.sets[n] for n in names}
    vectors = {n: embed(embedder, sets[n]) for n in names}
    return dict(measure(model, sets, vectors)["figures"])
