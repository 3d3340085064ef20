"""The learned selector's logistic models: fitting, probabilities, the file format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.errors import InputError
from app.selection import ANSWER_FEATURES, SENTENCE_FEATURES, Logistic, Selector, answer_features


def test_fit_orders_by_the_informative_feature_and_ignores_a_constant() -> None:
    x = np.array([[0.1, 5.0], [0.2, 5.0], [0.3, 5.0], [0.7, 5.0], [0.8, 5.0], [0.9, 5.0], [0.25, 5.0], [0.75, 5.0]])
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0])
    model = Logistic.fit(x, y, ("a", "b"), l2=0.1)
    p = model.probability(x)
    assert model.scale[1] == 1.0  # a constant column is not divided by zero
    assert model.weights[1] == pytest.approx(0.0, abs=1e-6)
    assert list(np.argsort(p)) == list(np.argsort(x[:, 0]))  # monotone in the informative feature
    assert 0.0 < p.min() < 0.5 < p.max() < 1.0


def test_fit_matches_the_closed_form_of_a_balanced_single_feature() -> None:
    # One feature, symmetric data, no penalty: the bias is 0 and P(mean) = 0.5.
    x = np.array([[-1.0], [1.0], [-1.0], [1.0], [0.5], [-0.5]])
    y = np.array([0, 1, 1, 0, 1, 0])
    model = Logistic.fit(x, y, ("a",), l2=0.0)
    assert model.bias == pytest.approx(0.0, abs=1e-6)
    assert model.probability(np.array([[0.0]]))[0] == pytest.approx(0.5, abs=1e-6)


def test_fit_needs_both_classes() -> None:
    with pytest.raises(InputError, match="both classes"):
        Logistic.fit(np.ones((3, 1)), np.ones(3), ("a",))


def _selector() -> Selector:
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(40, len(SENTENCE_FEATURES)))
    xa = rng.normal(size=(40, len(ANSWER_FEATURES)))
    y = (np.arange(40) % 2).astype(float)
    return Selector(
        select={"*": Logistic.fit(xs, y, SENTENCE_FEATURES)},
        answerable={"*": Logistic.fit(xa, y, ANSWER_FEATURES), "zh": Logistic.fit(xa[::-1], y, ANSWER_FEATURES)},
        support=0.6,
        fitted_on="test",
    )


def test_save_and_load_round_trip(tmp_path) -> None:
    selector = _selector()
    path = tmp_path / "selector.json"
    selector.save(path)
    loaded = Selector.load(path)
    assert loaded == selector
    assert loaded.answer_model("zh") is loaded.answerable["zh"]
    assert loaded.answer_model("fr") is loaded.answerable["*"]  # a language without its own model
    x = answer_features(0.9, 0.6, 0.5, 0.2, 1.0)
    assert loaded.answer_model("en").probability(x) == pytest.approx(selector.answer_model("en").probability(x))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("select"), "not a selector file"),
        (lambda d: d["select"]["*"]["weights"].pop(), "one per feature"),
        (lambda d: d["select"]["*"].__setitem__("bias", float("nan")), "finite"),
        (lambda d: d["answerable"]["*"].__setitem__("features", ["x"] * len(ANSWER_FEATURES)), "expected"),
        (lambda d: d["answerable"].pop("*"), "needs a '\\*' model"),
    ],
)
def test_a_damaged_selector_file_is_one_line_error_naming_it(tmp_path, mutate, message) -> None:
    path = tmp_path / "selector.json"
    _selector().save(path)
    data = json.loads(path.read_text())
    mutate(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message) as err:
        Selector.load(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
