"""AutoML(infer_limit=...): the final model predicts one row within the limit, and the leaderboard says how fast."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from automl_test_plugins import model_plugin
from conftest import FAST
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from automl import AutoML
from automl.evaluation.cross_validation import Problem
from automl.evaluation.latency import row_seconds
from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager
from automl.search.limit import blend_seconds, light_blend, within_limit
from automl.search.trial import TrialResult


class SlowToPredict(ClassifierMixin, BaseEstimator):
    """Logistic regression that takes 30 ms more per call of predict_proba."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        time.sleep(0.03)
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _result(number: int, mean: float, row_ms: float | None, oof=None) -> TrialResult:
    return TrialResult(
        number=number, config=None, fold_scores=[mean], oof=oof, row_seconds=None if row_ms is None else row_ms / 1e3
    )


def test_row_seconds_is_the_median_of_one_row_calls():
    X = pd.DataFrame({"x": np.arange(20.0)})
    model = SlowToPredict().fit(X, np.arange(20) % 2)
    assert 0.03 <= row_seconds(model, X, "binary") < 0.2
    with pytest.raises(ValueError, match="at least one row"):
        row_seconds(model, X.iloc[:0], "binary")


def test_only_pipelines_within_the_limit_are_candidates_and_the_fastest_when_none_is():
    ranked = [_result(0, 0.9, 5.0), _result(1, 0.8, 0.5), _result(2, 0.7, None), _result(3, 0.6, 1.0)]
    assert [r.number for r in within_limit(ranked, 0.001)] == [1, 3]
    with pytest.warns(RuntimeWarning, match=r"no pipeline predicts a row within infer_limit=0.0001s.*trial 1"):
        assert [r.number for r in within_limit(ranked, 0.0001)] == [1]


def test_an_ensemble_drops_the_members_that_cost_most_until_their_latencies_fit():
    rng = np.random.default_rng(0)
    n = 200
    y = (rng.random(n) < 0.5).astype(int)
    folds = np.arange(n) % 2
    splits = [(np.flatnonzero(folds != k), np.flatnonzero(folds == k)) for k in (0, 1)]
    metric = resolve_metric("roc_auc", "binary", collect_components(get_plugin_manager(entry_points=False)).metrics)
    problem = Problem(pd.DataFrame({"x": np.zeros(n)}), y, y, np.array([0, 1]), splits, metric, "binary")
    results = []
    for number, row_ms in enumerate([4.0, 1.0, 1.0, 1.0]):
        p = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(scale=0.5, size=n), 0.01, 0.99)
        oof = np.column_stack([1 - p, p])
        scores = [metric.score(y[v], oof[v], problem.classes) for _, v in splits]
        results.append(TrialResult(number=number, config=None, fold_scores=scores, oof=oof, row_seconds=row_ms / 1e3))
    ranked = sorted(results, key=lambda r: -r.mean)
    free = light_blend(ranked, problem, limit=1.0)
    assert free is not None and len(free.members) == 4
    light = light_blend(ranked, problem, limit=0.0035)
    assert light is not None and blend_seconds(light) <= 0.0035
    assert 0 not in {m.number for m in light.members}  # the 4 ms member costs most per unit of weight
    assert light_blend(ranked, problem, limit=0.0015) is None  # no two members fit


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "2ms", True])
def test_a_bad_infer_limit_is_refused_by_name(bad, iris_str):
    X, y = iris_str
    with pytest.raises(ValueError, match="infer_limit"):
        AutoML(infer_limit=bad, time_budget=5, **FAST).fit(X, y)


def test_the_final_model_keeps_to_the_limit_and_the_leaderboard_shows_latencies(breast_cancer):
    X, y = breast_cancer
    slow = model_plugin("slow", SlowToPredict, tasks="classification")
    model = AutoML(
        plugins=[slow], include=["slow", "linear"], infer_limit=0.02, time_budget=None, max_trials=6, **FAST
    ).fit(X, y)
    board = model.leaderboard_
    ok = board[(board["status"] == "ok") & (board["baseline"] == "")]
    assert ok["row_ms"].notna().all()  # every trial measured itself
    assert (ok["model"] == "slow").any()
    assert (ok.loc[ok["model"] == "slow", "row_ms"] > 20).all()
    assert ok["model"].iloc[0] != "slow"
    assert "slow" not in str(ok["params"].iloc[0])  # not an ensemble member either
    assert row_seconds(model, X, "binary") <= 0.02
    assert ok["row_ms"].iloc[0] <= 20


def test_without_a_limit_nothing_is_measured(breast_cancer):
    X, y = breast_cancer
    model = AutoML(include=["linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    assert model.leaderboard_["row_ms"].isna().all()
