"""Fit the learned selector (app/selection.py) on labelled questions over indexed policies.

For every answerable question, each candidate sentence the assistant considers is a
positive when it is a gold source sentence (the eval metric's own match), else a negative:
that fits ``select``. Then, with ``select`` applied, each question's best candidate gives
the features of ``answerable``, labelled by whether the question is answerable. A language
with fewer than ``min_items`` questions shares the ``*`` model fitted on all of them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from app.answer import Evidence
from app.assistant import Assistant
from app.evaluation import metrics as m
from app.evaluation.dataset import EvalItem
from app.selection import ANSWER_FEATURES, SENTENCE_FEATURES, Logistic, Selector, answer_features

log = logging.getLogger(__name__)


def fit_selector(
    assistant: Assistant, items: Sequence[EvalItem], fitted_on: str, min_items: int = 40, l2: float = 1.0
) -> tuple[Selector, dict[str, float]]:
    """The fitted selector and its training figures (lead-sentence hit, abstention accuracy)."""
    rows: list[tuple[EvalItem, str, list[Evidence], np.ndarray, np.ndarray]] = []
    for item in items:
        found = assistant.lookup(item.question, dict(item.filters))
        lang, cands = found.query.lang, assistant.candidates(found)
        x = np.array([c.features for c in cands], dtype=np.float64).reshape(-1, len(SENTENCE_FEATURES))
        y = np.array([any(m.cites(m.Unit(c.clause.doc_id, c.text), s) for s in item.sources) for c in cands])
        rows.append((item, lang, cands, x, y.astype(np.float64)))
    answerable_rows = [(lang, x, y) for item, lang, _, x, y in rows if item.answerable and len(x)]
    select = _per_lang(answerable_rows, SENTENCE_FEATURES, min_items, l2)
    support = _best_support(
        answerable_rows, [c for item, _, c, x, _ in rows if item.answerable and len(x)], min_items, l2
    )
    answer_rows: list[tuple[str, np.ndarray, float]] = []
    lead_hits: list[float] = []
    for item, lang, cands, x, y in rows:
        if not len(x):
            answer_rows.append((lang, answer_features(0.0, 0.0, 0.0, 0.0, 0.0), float(item.answerable)))
            continue
        probs = (select.get(lang) or select["*"]).probability(x)
        order = np.argsort(-probs, kind="stable")
        lead = int(order[0])
        runner = next((float(probs[i]) for i in order[1:] if cands[i].text != cands[lead].text), 0.0)
        feats = answer_features(float(probs[lead]), x[lead, 0], x[lead, 4], runner, x[lead, 2])
        answer_rows.append((lang, feats, float(item.answerable)))
        if item.answerable:
            lead_hits.append(float(y[lead]))
    answerable = _per_lang(
        [(lang, f.reshape(1, -1), np.array([label])) for lang, f, label in answer_rows], ANSWER_FEATURES, min_items, l2
    )
    selector = Selector(select=select, answerable=answerable, support=support, fitted_on=fitted_on)
    correct = [
        float((answerable.get(lang) or answerable["*"]).probability(f)[0] >= 0.5) == label
        for lang, f, label in answer_rows
    ]
    figures = {
        "items": float(len(items)),
        "lead_sentence_hit": float(np.mean(lead_hits)) if lead_hits else 0.0,
        "answerable_accuracy": float(np.mean(correct)) if correct else 0.0,
        "support": support,
    }
    return selector, figures


SUPPORT_GRID = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.01)  # 1.01: never a second citation


def _best_support(
    data: list[tuple[str, np.ndarray, np.ndarray]],
    cands: list[list[Evidence]],
    min_items: int,
    l2: float,
    folds: int = 5,
) -> float:
    """The support ratio whose citations (lead, plus a second at ≥ ratio × the lead's
    probability) balance hit and precision best (their F1), with probabilities predicted out
    of fold so that the choice is not flattered by the fit."""
    probs: list[np.ndarray] = [np.zeros(0)] * len(data)
    for f in range(folds):
        train = [d for i, d in enumerate(data) if i % folds != f]
        models = _per_lang(train, SENTENCE_FEATURES, min_items, l2)
        for i, (lang, x, _) in enumerate(data):
            if i % folds == f:
                probs[i] = (models.get(lang) or models["*"]).probability(x)
    best, best_f1 = SUPPORT_GRID[-1], -1.0
    for ratio in SUPPORT_GRID:
        hits, precision = [], []
        for (_, _, y), p, c in zip(data, probs, cands, strict=True):
            order = np.argsort(-p, kind="stable")
            chosen = [int(order[0])]
            for i in order[1:]:
                if len(chosen) == 2 or p[i] < ratio * p[order[0]]:
                    break
                if c[i].text != c[chosen[0]].text:
                    chosen.append(int(i))
            hits.append(float(y[chosen].max()))
            precision.append(float(y[chosen].mean()))
        h, pr = float(np.mean(hits)), float(np.mean(precision))
        f1 = 2 * h * pr / (h + pr) if h + pr else 0.0
        log.info("support %.2f: hit %.3f precision %.3f", ratio, h, pr)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = ratio, f1
    return best


def _per_lang(
    data: list[tuple[str, np.ndarray, np.ndarray]], features: Sequence[str], min_items: int, l2: float
) -> dict[str, Logistic]:
    """A ``*`` model on everything, and one per language that has ``min_items`` questions."""
    by_lang: dict[str, list[tuple[np.ndarray, np.ndarray]]] = defaultdict(list)
    for lang, x, y in data:
        by_lang[lang].append((x, y))
    models = {"*": _fit([xy for rows in by_lang.values() for xy in rows], features, l2)}
    for lang, rows in sorted(by_lang.items()):
        if len(rows) >= min_items:
            try:
                models[lang] = _fit(rows, features, l2)
            except Exception as exc:  # one class only in this language: the shared model serves it
                log.info("no %s model for %s: %s", features[0], lang, exc)
    return models


def _fit(rows: list[tuple[np.ndarray, np.ndarray]], features: Sequence[str], l2: float) -> Logistic:
    x = np.vstack([r[0] for r in rows])
    y = np.concatenate([r[1] for r in rows])
    return Logistic.fit(x, y, features, l2=l2)

