"""automl.evaluation: cross-validation of one pipeline, run in-process here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from automl.evaluation.cross_validation import (
    KEEP,
    Problem,
    TrialPruned,
    covering_folds,
    evaluate,
    fit_full,
    predictions,
)
from automl.evaluation.folds import make_splits
from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager


@pytest.fixture(scope="module")
def metrics():
    return collect_components(get_plugin_manager(entry_points=False)).metrics


def classification_problem(metrics, metric="accuracy", n=90, k=3):
    rng = np.random.default_rng(0)
    codes = np.arange(n) % k
    X = pd.DataFrame({"a": codes + rng.normal(scale=0.5, size=n), "b": rng.normal(size=n)})
    classes = np.array(["c0", "c1", "c2"][:k], dtype=object)
    splits, _ = make_splits(3, codes, "multiclass", 0)
    task = "binary" if k == 2 else "multiclass"
    return Problem(
        X=X,
        y=classes[codes],
        y_codes=codes,
        classes=classes,
        splits=splits,
        metric=resolve_metric(metric, task, metrics),
        task=task,
    )


def regression_problem(metrics, n=60):
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})
    y = 2 * X["a"].to_numpy() - X["b"].to_numpy()
    splits, _ = make_splits(4, y, "regression", 0)
    return Problem(
        X=X,
        y=y,
        y_codes=y,
        classes=None,
        splits=splits,
        metric=resolve_metric("r2", "regression", metrics),
        task="regression",
    )


def test_evaluate_matches_sklearn_cross_val_score(metrics):
    problem = classification_problem(metrics)
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    ev = evaluate(pipe, problem)
    expected = cross_val_score(pipe, problem.X, problem.y, cv=problem.splits, scoring="accuracy")
    assert ev.fold_scores == pytest.approx(list(expected))
    assert len(ev.fit_seconds) == len(ev.predict_seconds) == 3
    assert all(t >= 0 for t in ev.fit_seconds)
    # out-of-fold probabilities: every row validated once, rows sum to 1
    assert ev.oof.shape == (90, 3)
    assert np.allclose(ev.oof.sum(axis=1), 1.0)


def test_evaluate_does_not_fit_the_given_estimator(metrics):
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    evaluate(pipe, classification_problem(metrics))
    assert not hasattr(pipe[-1], "coef_")


def test_evaluate_regression(metrics):
    problem = regression_problem(metrics)
    ev = evaluate(LinearRegression(), problem)
    assert ev.fold_scores == pytest.approx([1.0] * 4)
    assert ev.oof.shape == (60,)
    assert np.allclose(ev.oof, problem.y)


def test_evaluate_some_folds_only(metrics):
    problem = regression_problem(metrics)
    ev = evaluate(LinearRegression(), problem, fold_indices=[1])
    assert len(ev.fold_scores) == 1
    _, valid = problem.splits[1]
    assert np.isnan(ev.oof).sum() == 60 - len(valid)


def test_on_fold_can_prune(metrics):
    seen = []

    def on_fold(i, score):
        seen.append((i, score))
        return i < 1

    with pytest.raises(TrialPruned, match="after fold 1"):
        evaluate(LinearRegression(), regression_problem(metrics), on_fold=on_fold)
    assert [i for i, _ in seen] == [0, 1]


def test_a_finished_evaluation_is_never_pruned(metrics):
    # the last fold's score comes too late to save any time: stopping there would
    # only throw away a complete evaluation
    problem = regression_problem(metrics)
    seen = []

    def on_fold(i, score):
        seen.append(i)
        return i < len(problem.splits) - 1

    ev = evaluate(LinearRegression(), problem, on_fold=on_fold)
    assert seen == list(range(len(problem.splits) - 1))
    assert len(ev.fold_scores) == len(problem.splits)


def test_covering_folds_is_one_whole_pass_over_the_rows():
    y = np.arange(60.0)
    assert covering_folds(make_splits(4, y, "regression", 0)[0]) == 4
    repeated, description = make_splits("auto", y, "regression", 0)
    assert description.endswith("x2") and len(repeated) == 10 and covering_folds(repeated) == 5
    # time-ordered folds never validate the first rows: the pass covers what all folds validate
    assert covering_folds(make_splits(3, y, "regression", 0, time=np.arange(60))[0]) == 3


def test_a_stopped_evaluation_keeps_its_folds_after_a_whole_pass(metrics):
    problem = regression_problem(metrics)
    problem.splits = make_splits("auto", problem.y, "regression", 0)[0]  # 5 folds, twice
    ev = evaluate(LinearRegression(), problem, on_fold=lambda i, score: KEEP if i >= 4 else True)
    assert len(ev.fold_scores) == 5 and not np.isnan(ev.oof).any()
    # before every row has been validated, keeping is not possible: the trial is pruned
    with pytest.raises(TrialPruned, match="before every row was validated"):
        evaluate(LinearRegression(), problem, on_fold=lambda i, score: KEEP)


def test_a_non_finite_score_raises(metrics):
    def nan_scorer(estimator, X, y):
        return float("nan")

    problem = regression_problem(metrics)
    problem.metric = resolve_metric(nan_scorer, "regression", metrics)
    with pytest.raises(ValueError, match="the metric nan_scorer is nan on fold 0"):
        evaluate(LinearRegression(), problem)


def test_fit_full(metrics):
    problem = regression_problem(metrics)
    fitted, seconds = fit_full(LinearRegression(), problem)
    assert fitted.coef_ == pytest.approx([2.0, -1.0])
    assert seconds >= 0


# -- predictions --------------------------------------------------------------------
class Fixed(ClassifierMixin, BaseEstimator):
    """Returns the given outputs, whatever X."""

    def __init__(self, proba=None, labels=None, values=None, classes=None):
        self.proba = proba
        self.labels = labels
        self.values = values
        self.classes = classes

    def fit(self, X, y):
        return self

    @property
    def classes_(self):
        return np.asarray(self.classes)

    def predict(self, X):
        return self.values if self.values is not None else self.labels

    def __getattr__(self, name):
        if name == "predict_proba" and self.__dict__.get("proba") is not None:
            return lambda X: self.proba
        raise AttributeError(name)


X3 = pd.DataFrame({"a": [1.0, 2.0, 3.0]})


def test_predictions_pass_probabilities_through():
    proba = np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]])
    out = predictions(Fixed(proba=proba, classes=[0, 1]), X3, "binary", np.array([0, 1]))
    assert np.array_equal(out, proba)


def test_predictions_one_hot_labels_without_predict_proba():
    out = predictions(Fixed(labels=np.array(["b", "a", "b"]), classes=["a", "b"]), X3, "binary", np.array(["a", "b"]))
    assert out.tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]


def test_predictions_realign_a_fold_that_lacked_a_class():
    proba = np.array([[0.3, 0.7], [0.9, 0.1], [0.5, 0.5]])
    out = predictions(Fixed(proba=proba, classes=["a", "c"]), X3, "multiclass", np.array(["a", "b", "c"]))
    assert out.tolist() == [[0.3, 0.0, 0.7], [0.9, 0.0, 0.1], [0.5, 0.0, 0.5]]


@pytest.mark.parametrize(
    ("proba", "match"),
    [
        (np.full((2, 2), 0.5), r"predict_proba returned shape \(2, 2\), expected \(3, 2\)"),
        (np.full((3, 3), 1 / 3), r"predict_proba returned shape \(3, 3\), expected \(3, 2\)"),
        (np.full(3, 0.5), r"predict_proba returned shape \(3,\)"),
        (np.array([[0.5, 0.5], [np.nan, 0.5], [0.5, 0.5]]), "NaN or infinite"),
        (np.array([[0.5, 0.5], [np.inf, 0.5], [0.5, 0.5]]), "NaN or infinite"),
    ],
)
def test_predictions_reject_bad_probabilities(proba, match):
    with pytest.raises(ValueError, match=match):
        predictions(Fixed(proba=proba, classes=[0, 1]), X3, "binary", np.array([0, 1]))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.zeros(2), r"predict returned shape \(2,\), expected \(3,\)"),
        (np.zeros((3, 2)), r"predict returned shape \(6,\), expected \(3,\)"),
        (np.array([1.0, np.nan, 2.0]), "NaN or infinite"),
    ],
)
def test_predictions_reject_bad_values(values, match):
    with pytest.raises(ValueError, match=match):
        predictions(Fixed(values=values), X3, "regression", None)


def test_predictions_regression_column_vector_is_flattened():
    out = predictions(Fixed(values=np.array([[1.0], [2.0], [3.0]])), X3, "regression", None)
    assert out.tolist() == [1.0, 2.0, 3.0]
