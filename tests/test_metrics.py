"""automl.metrics: resolving AutoML(metric=...) and scoring predictions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm
from sklearn.exceptions import UndefinedMetricWarning

from automl.evaluation.metrics import DEFAULT_METRIC, resolve_metric
from automl.registry import collect_components, get_plugin_manager


@pytest.fixture(scope="module")
def registered():
    return collect_components(get_plugin_manager(entry_points=False)).metrics


@pytest.fixture(scope="module")
def binary_preds():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=60)
    p1 = np.clip(0.6 * y + 0.4 * rng.random(60), 0.01, 0.99)
    return y, np.column_stack([1 - p1, p1])


@pytest.fixture(scope="module")
def multiclass_preds():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=90)
    raw = rng.random((90, 3)) + 2.0 * np.eye(3)[y]
    return y, raw / raw.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("task", "name", "greater"),
    [("binary", "roc_auc", True), ("multiclass", "log_loss", False), ("regression", "rmse", False)],
)
def test_default_metric_per_task(registered, task, name, greater):
    for arg in ("auto", None):
        metric = resolve_metric(arg, task, registered)
        assert (metric.name, metric.greater_is_better) == (name, greater)
        assert metric.spec is not None
    assert DEFAULT_METRIC[task] == name


@pytest.mark.parametrize(
    ("name", "task", "greater"),
    [
        ("accuracy", "binary", True),
        ("balanced_accuracy", "multiclass", True),
        ("f1", "binary", True),
        ("log_loss", "binary", False),
        ("roc_auc", "multiclass", True),
        ("mae", "regression", False),
        ("r2", "regression", True),
    ],
)
def test_short_names(registered, name, task, greater):
    metric = resolve_metric(name, task, registered)
    assert metric.name == name
    assert metric.greater_is_better is greater
    assert metric.spec is registered[name]


def test_objective_is_greater_is_better(registered):
    assert resolve_metric("rmse", "regression", registered).objective(2.0) == -2.0
    assert resolve_metric("r2", "regression", registered).objective(0.5) == 0.5


def test_sklearn_scorer_names(registered):
    metric = resolve_metric("neg_mean_absolute_error", "regression", registered)
    assert metric.name == "neg_mean_absolute_error"
    assert metric.greater_is_better is True
    assert metric.scorer is not None and metric.spec is None


def test_callable_scorer(registered):
    def my_scorer(estimator, X, y):
        return float(np.mean(estimator.predict(X) == y))

    metric = resolve_metric(my_scorer, "binary", registered)
    assert metric.name == "my_scorer"
    assert metric.greater_is_better is True
    assert metric.scorer is my_scorer


def test_unknown_name_raises(registered):
    with pytest.raises(ValueError, match="metric='no_such_metric' is unknown"):
        resolve_metric("no_such_metric", "binary", registered)


def test_regression_metric_for_classification_raises(registered):
    with pytest.raises(ValueError, match="metric='rmse' does not apply to a binary task"):
        resolve_metric("rmse", "binary", registered)
    with pytest.raises(ValueError, match="does not apply to a regression task"):
        resolve_metric("accuracy", "regression", registered)


def test_not_a_name_or_callable_raises(registered):
    with pytest.raises(ValueError, match="name or a callable"):
        resolve_metric(3.5, "binary", registered)


# -- values -------------------------------------------------------------------------
def test_binary_values_match_sklearn(registered, binary_preds):
    y, proba = binary_preds
    classes = np.array(["no", "yes"])

    def score(name):
        return resolve_metric(name, "binary", registered).score(y, proba, classes)

    labels = proba.argmax(axis=1)
    assert score("roc_auc") == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert score("log_loss") == pytest.approx(skm.log_loss(y, proba))
    assert score("accuracy") == pytest.approx(skm.accuracy_score(y, labels))
    assert score("balanced_accuracy") == pytest.approx(skm.balanced_accuracy_score(y, labels))
    assert score("f1") == pytest.approx(skm.f1_score(y, labels))
    # scorer names see the labels in the user's terms
    assert score("neg_log_loss") == pytest.approx(-skm.log_loss(y, proba))
    assert score("f1_macro") == pytest.approx(skm.f1_score(y, labels, average="macro"))


def test_multiclass_values_match_sklearn(registered, multiclass_preds):
    y, proba = multiclass_preds
    classes = np.array(["a", "b", "c"])

    def score(name):
        return resolve_metric(name, "multiclass", registered).score(y, proba, classes)

    labels = proba.argmax(axis=1)
    assert score("log_loss") == pytest.approx(skm.log_loss(y, proba))
    assert score("roc_auc") == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert score("accuracy") == pytest.approx(skm.accuracy_score(y, labels))
    assert score("f1") == pytest.approx(skm.f1_score(y, labels, average="macro"))
    assert score("roc_auc_ovr") == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))


def test_regression_values_match_sklearn(registered):
    rng = np.random.default_rng(2)
    y = rng.normal(size=50)
    pred = y + rng.normal(scale=0.3, size=50)

    def score(name):
        return resolve_metric(name, "regression", registered).score(y, pred, None)

    assert score("rmse") == pytest.approx(np.sqrt(skm.mean_squared_error(y, pred)))
    assert score("mae") == pytest.approx(skm.mean_absolute_error(y, pred))
    assert score("r2") == pytest.approx(skm.r2_score(y, pred))
    assert score("neg_mean_absolute_error") == pytest.approx(-skm.mean_absolute_error(y, pred))
    assert score("neg_root_mean_squared_error") == pytest.approx(-np.sqrt(skm.mean_squared_error(y, pred)))


def test_callable_scorer_value(registered, binary_preds):
    y, proba = binary_preds
    classes = np.array(["no", "yes"])
    seen = {}

    def share_of_yes(estimator, X, y_true):
        seen["y"] = y_true
        return float(np.mean(estimator.predict(X) == "yes"))

    metric = resolve_metric(share_of_yes, "binary", registered)
    assert metric.score(y, proba, classes) == pytest.approx(np.mean(proba[:, 1] > 0.5))
    assert set(seen["y"]) <= {"no", "yes"}


def test_roc_auc_on_a_fold_missing_a_class(registered, multiclass_preds):
    # a validation fold may lack a class; roc_auc still scores the classes present
    y, proba = multiclass_preds
    keep = y != 2
    value = resolve_metric("roc_auc", "multiclass", registered).score(y[keep], proba[keep], np.array([0, 1, 2]))
    p = proba[keep][:, :2]
    assert value == pytest.approx(skm.roc_auc_score(y[keep], p[:, 1] / p.sum(axis=1)))


@pytest.mark.parametrize("name", ["roc_auc", "log_loss", "accuracy", "balanced_accuracy", "f1"])
def test_weights_count_for_every_builtin_classification_metric(registered, binary_preds, name):
    y, proba = binary_preds
    metric = resolve_metric(name, "binary", registered)
    half = np.r_[np.ones(30), np.zeros(30)]
    weighted = metric.score(y, proba, np.array([0, 1]), sample_weight=half)
    assert weighted == pytest.approx(metric.score(y[:30], proba[:30], np.array([0, 1])))


@pytest.mark.parametrize("name", ["rmse", "mae", "r2"])
def test_weights_count_for_every_builtin_regression_metric(registered, name):
    rng = np.random.default_rng(2)
    y, pred = rng.normal(size=40), rng.normal(size=40)
    metric = resolve_metric(name, "regression", registered)
    weighted = metric.score(y, pred, None, sample_weight=np.r_[np.ones(20), np.zeros(20)])
    assert weighted == pytest.approx(metric.score(y[:20], pred[:20], None))


def test_weights_for_a_metric_function_without_them_are_refused():
    from automl.specs import MetricSpec

    spec = MetricSpec(name="plain", func=lambda y, p: 0.0, greater_is_better=True, needs="value", tasks="regression")
    metric = resolve_metric("plain", "regression", {"plain": spec})
    assert metric.score(np.zeros(3), np.zeros(3), None) == 0.0
    with pytest.raises(ValueError, match="'plain' does not accept sample_weight"):
        metric.score(np.zeros(3), np.zeros(3), None, sample_weight=np.ones(3))


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 40),
    k=st.integers(2, 4),
    coarse=st.booleans(),
    weighted=st.booleans(),
)
def test_fast_roc_auc_and_log_loss_equal_sklearn(registered, data, n, k, coarse, weighted):
    # greedy ensemble selection scores hundreds of blends: the built-ins skip sklearn's
    # validation but must give its values, ties (coarse scores) and weights included
    y = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    raw = np.array(data.draw(st.lists(st.floats(0.01, 1.0), min_size=n * k, max_size=n * k))).reshape(n, k)
    if coarse:
        raw = np.round(raw, 1) + 0.01
    proba = raw / raw.sum(axis=1, keepdims=True)
    weights = np.array(data.draw(st.lists(st.floats(0.1, 3.0), min_size=n, max_size=n))) if weighted else None
    log_loss = registered["log_loss"].func(y, proba, sample_weight=weights)
    assert log_loss == pytest.approx(skm.log_loss(y, proba, labels=np.arange(k), sample_weight=weights), rel=1e-9)
    present = np.unique(y)
    if len(present) < 2:  # undefined, NaN as scikit-learn gives (a fold scoring NaN fails its trial)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            assert np.isnan(registered["roc_auc"].func(y, proba, sample_weight=weights))
        return
    auc = registered["roc_auc"].func(y, proba, sample_weight=weights)
    if k == 2:
        expected = skm.roc_auc_score(y, proba[:, 1], sample_weight=weights)
    elif len(present) == 2:
        p = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
        expected = skm.roc_auc_score(y == present[1], p[:, 1], sample_weight=weights)
    else:
        expected = skm.roc_auc_score(
            y,
            proba[:, present] / proba[:, present].sum(axis=1, keepdims=True),
            multi_class="ovr",
            labels=present,
            sample_weight=weights,
        )
    assert auc == pytest.approx(expected, rel=1e-9)


def test_roc_auc_refuses_nan_scores(registered, binary_preds):
    y, proba = binary_preds
    bad = proba.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        registered["roc_auc"].func(y, bad)
