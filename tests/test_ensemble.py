"""automl.ensemble and automl.finalize: greedy selection over out-of-fold predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from automl.evaluation.cross_validation import Problem
from automl.evaluation.metrics import resolve_metric
from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor
from automl.registry import collect_components, get_plugin_manager
from automl.search.selection import ensemble_result, greedy_selection
from automl.search.trial import TrialResult


@pytest.fixture(scope="module")
def metrics():
    return collect_components(get_plugin_manager(entry_points=False)).metrics


def test_greedy_selection_prefers_complementary_members(metrics):
    rmse = resolve_metric("rmse", "regression", metrics)
    y = np.array([0.0, 0.0, 1.0, 1.0])
    low = y - 0.5  # biased down
    high = y + 0.5  # biased up: the average of the two is exact
    sel = greedy_selection([low, high], y, rmse, None, n_iterations=10)
    assert sel.weights == {0: 0.5, 1: 0.5}
    assert sel.score == pytest.approx(0.0)
    assert sel.best_single_score == pytest.approx(-0.5)


def test_greedy_selection_keeps_a_single_best(metrics):
    rmse = resolve_metric("rmse", "regression", metrics)
    y = np.arange(5.0)
    sel = greedy_selection([y, y + 1.0], y, rmse, None)
    assert sel.weights == {0: 1.0}


def test_greedy_selection_stops_on_time(metrics):
    rmse = resolve_metric("rmse", "regression", metrics)
    y = np.array([0.0, 1.0])
    sel = greedy_selection([y - 1, y + 1], y, rmse, None, n_iterations=50, stop_at=0.0, clock=lambda: 1.0)
    assert sum(sel.weights.values()) == pytest.approx(1.0)
    assert len(sel.weights) == 1


def test_ensemble_classifier_averages_probabilities():
    X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]})
    y = np.array(["a", "a", "b", "b", "c", "c"])
    first = LogisticRegression().fit(X, y)
    second = LogisticRegression(C=0.01).fit(X[:4], y[:4])  # never saw class "c"
    ens = EnsembleClassifier.from_fitted([("one", first), ("two", second)], [3, 1])
    proba = ens.predict_proba(X)
    expected = 0.75 * first.predict_proba(X)
    expected[:, :2] += 0.25 * second.predict_proba(X)
    assert np.allclose(proba, expected)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ens.predict(X).tolist() == list(ens.classes_[expected.argmax(axis=1)])


def test_ensemble_regressor_fit_and_predict():
    X = pd.DataFrame({"a": np.arange(10.0)})
    y = 2 * X["a"].to_numpy()
    ens = EnsembleRegressor([("lr", LinearRegression()), ("lr2", LinearRegression())], [1, 1]).fit(X, y)
    assert np.allclose(ens.predict(X), y)
    assert ens.n_features_in_ == 1
    with pytest.raises(ValueError, match="one weight per estimator"):
        EnsembleRegressor([("lr", LinearRegression())], [1, 2]).fit(X, y)


def _calibration_problem(metrics):
    """Two folds; trial 0 ranks rows perfectly inside each fold but is badly calibrated across
    folds (fold-mean roc_auc 1.0, pooled 0.75); trial 1 is calibrated but noisy (about 0.83 both ways)."""
    rng = np.random.default_rng(0)
    y = np.tile(np.r_[np.zeros(10), np.ones(10)], 2).astype(int)
    fold = np.repeat([0, 1], 20)
    idx = np.arange(40)
    splits = [(idx[fold != k], idx[fold == k]) for k in (0, 1)]
    rank = np.tile(np.arange(20), 2) / 200.0  # orders every fold perfectly
    p_a = np.where(fold == 0, 0.0, 0.3) + rank
    p_b = np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(scale=0.4, size=40), 0.01, 0.99)
    metric = resolve_metric("roc_auc", "binary", metrics)
    problem = Problem(
        X=pd.DataFrame({"x": np.zeros(40)}),
        y=y,
        y_codes=y,
        classes=np.array([0, 1]),
        splits=splits,
        metric=metric,
        task="binary",
    )
    results = []
    for number, p in enumerate([p_a, p_b]):
        oof = np.column_stack([1 - p, p])
        scores = [metric.score(y[va], oof[va], problem.classes) for _, va in splits]
        results.append(TrialResult(number=number, config=None, fold_scores=scores, oof=oof))
    return problem, results


def test_an_accepted_ensemble_beats_the_best_single_pipeline_on_the_leaderboard(metrics):
    problem, ranked = _calibration_problem(metrics)
    assert ranked[0].mean == pytest.approx(1.0)  # the leaderboard's best
    assert ranked[1].mean < 0.9
    ens = ensemble_result(ranked, problem)
    assert ens is None or problem.metric.objective(ens.result.mean) > problem.metric.objective(ranked[0].mean)


def test_dropping_unusable_oof_keeps_every_candidate_and_the_same_ensemble(metrics):
    from automl.pipeline.build import TrialConfig
    from automl.search.selection import ENSEMBLE_PER_MODEL, drop_unusable_oof

    rng = np.random.default_rng(0)
    y = rng.normal(size=60)
    splits = [(np.arange(30, 60), np.arange(30)), (np.arange(30), np.arange(30, 60))]
    rmse = resolve_metric("rmse", "regression", metrics)
    problem = Problem(pd.DataFrame({"x": y}), y, y, None, splits, rmse, "regression")
    results = []
    for number in range(40):
        oof = y + rng.normal(scale=0.2 + 0.02 * number, size=60)
        scores = [rmse.score(y[v], oof[v], None) for _, v in splits]
        config = TrialConfig(model="abc"[number % 3], model_params={}, preprocessing={})
        results.append(TrialResult(number=number, config=config, fold_scores=scores, oof=oof))
    before = ensemble_result(sorted(results, key=lambda r: r.mean), problem)
    assert before is not None and len(before.members) >= 2
    dropped = drop_unusable_oof(results, rmse)
    assert dropped > 0
    kept = [r for r in results if r.oof is not None]
    assert len(kept) <= 12 + 3 * ENSEMBLE_PER_MODEL
    after = ensemble_result(sorted(results, key=lambda r: r.mean), problem)
    assert before is not None and after is not None
    assert before.numbers == after.numbers and before.weights == after.weights
