"""Real-world fits: sample weights, groups, time-ordered rows, and the reference baselines on the leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import FAST
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from automl import AutoML, AutoMLRegressor, DataError, hookimpl
from automl.context import Context
from automl.evaluation.cross_validation import Problem, evaluate
from automl.evaluation.folds import make_splits
from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager
from automl.search.baseline import constant_result
from automl.search.trial import TrialResult, ranked
from automl.specs import ModelSpec

BUDGET = 8


class WeightRecorder(ClassifierMixin, BaseEstimator):
    """A logistic regression that remembers the weights it was fitted with."""

    def fit(self, X, y, sample_weight=None):
        self.model_ = LogisticRegression(max_iter=500).fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        self.weight_sum_ = None if sample_weight is None else float(np.sum(sample_weight))
        self.n_rows_ = len(y)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


class RecorderPlugin:
    @hookimpl
    def automl_register_models(self, register):
        register(ModelSpec(name="recorder", tasks="classification", build=lambda params, ctx: WeightRecorder()))


def _table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = (X["a"] + 0.5 * X["b"] + rng.normal(scale=0.7, size=n) > 0).astype(int)
    return X, y


# -- sample weights ------------------------------------------------------------------------


def test_weights_reach_every_fold_fit_and_weight_every_score():
    X, y = _table()
    w = np.random.default_rng(1).uniform(0.0, 3.0, len(y))
    splits, _ = make_splits(3, y.to_numpy(), "binary", 0)
    metric = resolve_metric("roc_auc", "binary", collect_components(get_plugin_manager(())).metrics)
    problem = Problem(X, y.to_numpy(), y.to_numpy(), np.array([0, 1]), splits, metric, "binary", weights=w)
    result = evaluate(WeightRecorder(), problem)
    for (tr, va), score in zip(splits, result.fold_scores, strict=True):
        model = WeightRecorder().fit(X.iloc[tr], y.iloc[tr], sample_weight=w[tr])
        expected = roc_auc_score(y.iloc[va], model.predict_proba(X.iloc[va])[:, 1], sample_weight=w[va])
        assert score == pytest.approx(expected)
    unweighted = evaluate(
        WeightRecorder(), Problem(X, y.to_numpy(), y.to_numpy(), np.array([0, 1]), splits, metric, "binary")
    )
    assert unweighted.fold_scores != result.fold_scores


@pytest.fixture(scope="module")
def weighted_fit():
    X, y = _table()
    w = np.where(X["c"] > 0, 3.0, 0.5)
    automl = AutoML(time_budget=BUDGET, include=["recorder", "knn"], plugins=[RecorderPlugin()], ensemble=False, **FAST)
    automl.fit(X, y, sample_weight=w)
    return automl, X, y, w


def test_a_weighted_fit_refits_with_the_weights_and_leaves_out_models_without_them(weighted_fit):
    automl, X, y, w = weighted_fit
    model = automl.best_pipeline_.steps[-1][1]
    assert model.weight_sum_ == pytest.approx(w.sum()) and model.n_rows_ == len(y)
    assert "knn" not in set(automl.leaderboard_["model"])
    assert automl.score(X, y, sample_weight=w) == pytest.approx(
        roc_auc_score(y, automl.predict_proba(X)[:, 1], sample_weight=w)
    )
    assert automl.score(X, y, sample_weight=w) != pytest.approx(automl.score(X, y))


def test_a_model_without_weights_is_left_out_with_a_log_line(caplog):
    X, y = _table(120)
    caplog.set_level("INFO", logger="automl")
    automl = AutoML(time_budget=3, include=["linear", "knn"], ensemble=False, **{**FAST, "verbose": 1})
    automl.fit(X, y, sample_weight=np.ones(len(y)))
    logged = [r.getMessage() for r in caplog.records if r.name == "automl.data.prepare"]
    assert logged == ["model(s) ['knn'] left out: their fit takes no sample_weight"]
    assert "knn" not in set(automl.leaderboard_["model"])


def test_only_models_without_weights_is_an_error():
    X, y = _table(60)
    with pytest.raises(ValueError, match=r"no candidate model takes sample_weight \(the fit of \['knn'\]"):
        AutoML(time_budget=3, include=["knn"], **FAST).fit(X, y, sample_weight=np.ones(len(y)))


@pytest.mark.parametrize(
    "weights,message",
    [
        ("zeros", "sample_weight is zero on every row with a target"),
        ("negative", "sample_weight holds negative"),
        ("short", "sample_weight has shape"),
    ],
)
def test_bad_weights_are_a_data_error_naming_sample_weight(weights, message):
    X, y = _table(60)
    w = {"zeros": np.zeros(60), "negative": -np.ones(60), "short": np.ones(5)}[weights]
    with pytest.raises(DataError, match=message):
        AutoML(time_budget=3, **FAST).fit(X, y, sample_weight=w)


def test_weights_follow_the_rows_with_a_target():
    X, y = _table(100)
    y = y.astype(float)
    y[:10] = np.nan
    w = np.ones(100)
    w[10:] = 0.0  # only the rows without a target weigh anything
    with pytest.raises(DataError, match="sample_weight is zero on every row with a target"):
        AutoML(time_budget=3, **FAST).fit(X, y, sample_weight=w)


# -- groups ----------------------------------------------------------------------------------


def _subjects(n_subjects=40, per_subject=8, seed=0):
    """Repeated measurements: each subject has its own offset, so rows of a subject resemble each other."""
    rng = np.random.default_rng(seed)
    subject = np.repeat(np.arange(n_subjects), per_subject)
    offset = rng.normal(scale=3.0, size=n_subjects)[subject]
    x = rng.normal(size=len(subject))
    X = pd.DataFrame({"x": x, "subject_mean": offset + rng.normal(scale=0.1, size=len(subject))})
    y = pd.Series(offset + 0.5 * x + rng.normal(scale=0.3, size=len(subject)))
    return X, y, subject


def test_a_grouped_fit_validates_on_unseen_groups():
    X, y, subject = _subjects()
    automl = AutoMLRegressor(time_budget=BUDGET, include=["linear", "lightgbm"], **FAST).fit(X, y, groups=subject)
    assert "by group" in automl.cv_
    assert automl.oof_ is not None and len(automl.oof_["rows"]) == len(y)


def test_too_few_groups_is_a_data_error_saying_how_many():
    X, y, subject = _subjects(n_subjects=3)
    with pytest.raises(DataError, match="groups has 3 distinct groups but cv=4 folds need at least 4"):
        AutoMLRegressor(time_budget=3, cv=4, **FAST).fit(X, y, groups=subject)


# -- time ------------------------------------------------------------------------------------


def _dated(n=360, seed=0):
    """A drifting series: the target's level moves over time, rows arrive shuffled."""
    rng = np.random.default_rng(seed)
    day = pd.date_range("2024-01-01", periods=n, freq="D")
    x = rng.normal(size=n)
    y = np.linspace(0.0, 5.0, n) + x + rng.normal(scale=0.3, size=n)
    frame = pd.DataFrame({"day": day, "x": x, "y": y}).sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return frame[["day", "x"]], frame["y"]


def test_a_time_ordered_fit_validates_on_the_future_and_predicts_in_the_callers_order():
    X, y = _dated()
    automl = AutoMLRegressor(time_budget=BUDGET, include=["linear", "lightgbm"], **FAST).fit(X, y, time="day")
    assert automl.cv_ == "5 time-ordered folds (expanding window)"
    validated = X["day"].iloc[automl.oof_["rows"]]
    earliest = X["day"].sort_values().iloc[: len(X) // 6]
    assert validated.min() > earliest.max(), "the first block is only ever trained on"
    # predictions line up with the rows as given
    pred = automl.predict(X)
    assert np.corrcoef(pred, y)[0, 1] > 0.9
    assert np.allclose(automl.predict(X.iloc[::-1]), pred[::-1])


def test_time_given_as_an_array_and_cv_time_give_the_same_folds():
    X, y = _dated(200)
    order = np.argsort(X["day"].to_numpy(), kind="stable")
    a = AutoMLRegressor(time_budget=3, include=["linear"], ensemble=False, **FAST).fit(X, y, time=X["day"].to_numpy())
    b = AutoMLRegressor(time_budget=3, include=["linear"], ensemble=False, cv="time", **FAST)
    b.fit(X.iloc[order].reset_index(drop=True), y.iloc[order].reset_index(drop=True))
    assert a.cv_ == b.cv_
    assert sorted(X["day"].iloc[a.oof_["rows"]]) == sorted(X["day"].iloc[order].iloc[b.oof_["rows"]])


def test_bad_time_is_a_data_error_naming_time():
    X, y = _dated(60)
    with pytest.raises(DataError, match="time='date' is not a column of X; its columns are 'day', 'x'"):
        AutoMLRegressor(time_budget=3, **FAST).fit(X, y, time="date")


def test_the_early_stopping_of_time_ordered_rows_holds_out_the_last_rows():
    components = collect_components(get_plugin_manager(()))
    ctx = Context(task="regression", n_rows=1000, n_features=2, time_ordered=True)
    model = components.models["lightgbm"].build({}, ctx)
    train, valid = model._split(np.zeros(1000))
    assert list(valid) == list(range(900, 1000)) and list(train) == list(range(900))
    shuffled = components.models["lightgbm"].build({}, ctx.replace(time_ordered=False))._split(np.zeros(1000))[1]
    assert list(shuffled) != list(range(900, 1000))


# -- the reference baselines -----------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_fit():
    X, y = _table(300)
    return AutoML(time_budget=BUDGET, include=["linear", "lightgbm", "knn"], **FAST).fit(X, y), X, y


def test_the_leaderboard_holds_a_constant_predictor_and_the_untuned_default(plain_fit):
    automl, X, y = plain_fit
    board = automl.leaderboard_
    refs = board[board["status"] == "baseline"]
    assert set(refs["baseline"].str.split(" ").str[0]) == {"constant", "untuned"}
    constant = refs[refs["model"] == "constant"].iloc[0]
    assert constant["score_mean"] == pytest.approx(0.5) and pd.isna(constant["rank"]) and pd.isna(constant["trial"])
    default = refs[refs["baseline"].str.startswith("untuned default")].iloc[0]
    assert default["baseline"] == "untuned default (trial 0)" and default["model"] == "linear"  # the cheapest
    trial = board[board["trial"] == 0].iloc[0]
    assert trial["score_mean"] == default["score_mean"] and trial["params"] == default["params"]
    assert "baselines" in repr(automl) and "constant predictor (class prior)" in repr(automl)


def test_a_reference_row_is_never_the_final_model(plain_fit):
    automl, _, _ = plain_fit
    board = automl.leaderboard_
    assert board.iloc[0]["baseline"] == "" and board.iloc[0]["rank"] == 1
    ok, refs = board.index[board["status"] == "ok"], board.index[board["status"] == "baseline"]
    assert refs.min() == ok.max() + 1, "the baselines come right after the trials"
    constant = TrialResult(number=-1, config=None, status="baseline", fold_scores=[1.0], baseline="constant predictor")
    metric = automl._metric
    assert constant not in ranked([constant], metric)


def test_the_constant_predictor_is_weighted_and_scored_on_the_folds():
    y = np.array([0.0, 0.0, 10.0, 10.0, 0.0, 10.0])
    w = np.array([1.0, 1.0, 3.0, 3.0, 1.0, 1.0])
    splits = [(np.array([0, 1, 2, 3]), np.array([4, 5]))]
    metric = resolve_metric("mae", "regression", collect_components(get_plugin_manager(())).metrics)
    problem = Problem(pd.DataFrame({"x": y}), y, y, None, splits, metric, "regression", weights=w)
    result = constant_result(problem)
    mean = (0 + 0 + 30 + 30) / 8  # the weighted mean of the training rows
    assert result.fold_scores == [pytest.approx((1 * mean + 1 * (10 - mean)) / 2)]
    assert result.model == "constant" and result.baseline == "constant predictor (mean)"
    assert result.status == "baseline"


# -- explain() holds out rows as the folds did ------------------------------------------------


def test_explain_holds_out_the_latest_rows_or_whole_groups():
    from automl.data.rows import RowInfo
    from automl.report.explain import _split_rows

    y = np.zeros(100)
    time = np.random.default_rng(0).permutation(100).astype(float)
    fit_rows, held = _split_rows("regression", y, RowInfo(time=time), 0.25, 0)
    assert time[fit_rows].max() < time[held].min() and len(held) == 25
    groups = np.repeat(np.arange(20), 5)
    fit_rows, held = _split_rows("regression", y, RowInfo(groups=groups), 0.25, 0)
    assert not set(groups[fit_rows]) & set(groups[held])


def test_explain_refits_the_model_behind_a_tuned_threshold():
    from automl.evaluation.thresholds import with_threshold
    from automl.report.explain import _refit

    X, y = _table(200)
    final = with_threshold(LogisticRegression().fit(X, y), 0.3, X, y)
    half = _refit(final, X.iloc[:100], y.iloc[:100].to_numpy(), np.linspace(0.1, 1.0, 100))
    inner = half.steps[-1][1]
    assert inner.threshold == 0.3
    refit_coef = inner.estimator.estimator.coef_
    expected = LogisticRegression().fit(X.iloc[:100], y.iloc[:100], sample_weight=np.linspace(0.1, 1.0, 100)).coef_
    assert np.allclose(refit_coef, expected)


def test_a_weighted_fit_explains_itself(weighted_fit):
    automl, *_ = weighted_fit
    table = automl.explain(n_repeats=2, shap=False)
    assert list(table.index) and set(table.index) <= {"a", "b", "c"}
    assert table.loc["a", "importance"] > table.loc["c", "importance"] - 0.05


def test_an_ensemble_refit_passes_the_weights_to_its_members():
    from sklearn.pipeline import Pipeline

    from automl.pipeline.ensemble import EnsembleClassifier

    X, y = _table(120)
    w = np.linspace(0.1, 2.0, 120)
    members = [("a", Pipeline([("model", WeightRecorder())])), ("b", WeightRecorder())]
    ensemble = EnsembleClassifier(members, [0.5, 0.5]).fit(X, y, sample_weight=w)
    assert [m.steps[-1][1].weight_sum_ if hasattr(m, "steps") else m.weight_sum_ for m in ensemble.estimators_] == [
        pytest.approx(w.sum())
    ] * 2
