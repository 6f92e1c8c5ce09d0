"""Plugins passed as AutoML(plugins=[...]): models that hang, fail, or work; observers."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from automl_test_plugins import Explode, MeanRegressor, ModelPlugin, Recorder, SleepForever, model_plugin
from conftest import FAST
from sklearn.naive_bayes import GaussianNB

from automl import AutoML, ModelSpec, SearchFailedError, hookimpl
from automl.context import SearchContext
from automl.search.leaderboard import COLUMNS
from automl.search.trial import TrialResult


def test_a_plugin_model_shows_up_on_the_leaderboard(iris_str):
    X, y = iris_str
    plugin = model_plugin("gnb", GaussianNB, tasks="classification")
    model = AutoML(plugins=[plugin], include=["gnb", "linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    board = model.leaderboard_
    gnb = board[board["model"] == "gnb"]
    assert len(gnb) >= 1
    assert gnb["status"].isin(["ok", "baseline"]).all()
    assert (gnb["score_mean"] < 0.5).all()  # log loss of naive Bayes on iris
    assert gnb["preprocessing"].iloc[0] == "numeric=impute"  # gnb does not handle NaN nor need scaling


def test_a_plugin_is_registered_for_one_fit_only(iris_str):
    X, y = iris_str
    plugin = model_plugin("gnb_once", GaussianNB, tasks="classification")
    AutoML(plugins=[plugin], include=["gnb_once"], time_budget=None, max_trials=1, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"unknown model\(s\) \['gnb_once'\]"):
        AutoML(include=["gnb_once"], time_budget=None, max_trials=1, **FAST).fit(X, y)


def test_a_plugin_estimator_class_of_its_own_runs_in_the_workers(diabetes):
    X, y = diabetes
    plugin = model_plugin("mean", MeanRegressor, tasks="regression")
    model = AutoML(plugins=[plugin], include=["mean"], time_budget=None, max_trials=1, **FAST).fit(X, y)
    assert model.leaderboard_["status"].isin(["ok", "baseline"]).all()
    assert model.leaderboard_["score_mean"].iloc[0] == pytest.approx(np.std(y), rel=0.1)
    assert np.allclose(model.predict(X), np.mean(y))


def test_the_time_budget_holds_against_a_model_that_hangs(breast_cancer):
    X, y = breast_cancer
    hang = model_plugin("sleepy", SleepForever, tasks="classification", cost=0.5)  # tried first
    budget = 4
    t0 = time.monotonic()
    model = AutoML(plugins=[hang], include=["sleepy", "linear", "knn"], time_budget=budget, **FAST).fit(X, y)
    elapsed = time.monotonic() - t0
    assert elapsed <= budget * 1.05 + 1, elapsed
    board = model.leaderboard_
    sleepy = board[board["model"] == "sleepy"]
    assert len(sleepy) >= 1
    assert (sleepy["status"] == "timeout").all()
    assert sleepy["error"].str.contains("stopped after").all()
    assert sleepy["rank"].isna().all()
    ok = board[board["status"] == "ok"]
    assert set(ok["model"]) - {"ensemble"} <= {"linear", "knn"}
    assert len(ok) >= 1
    assert model.predict(X).shape == (len(X),)
    assert model.score(X, y) > 0.9


def test_when_no_trial_finishes_the_pipeline_is_a_linear_baseline(breast_cancer):
    X, y = breast_cancer
    hang = model_plugin("sleepy_only", SleepForever, tasks="classification")
    t0 = time.monotonic()
    with pytest.warns(RuntimeWarning, match="no pipeline finished within the time budget.*a linear model"):
        model = AutoML(plugins=[hang], include=["sleepy_only"], time_budget=3, **FAST).fit(X, y)
    assert time.monotonic() - t0 <= 3 * 1.05 + 1
    board = model.leaderboard_
    assert (board.loc[board["status"] != "baseline", "status"] == "timeout").all()
    assert list(board.loc[board["status"] == "baseline", "model"]) == ["constant"]  # scored, never the final model
    assert model.best_pipeline_.named_steps["model"].__class__.__name__ == "LogisticRegression"
    assert model.score(X, y) > 0.95  # a real model, not a constant


def test_a_model_whose_fit_raises_is_failed_with_the_message(iris_str):
    X, y = iris_str
    boom = model_plugin("boom", Explode, tasks="classification", cost=0.5)
    model = AutoML(plugins=[boom], include=["boom", "linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    board = model.leaderboard_
    failed = board[board["model"] == "boom"]
    assert len(failed) >= 1
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.contains("RuntimeError: kaboom: this model always fails").all()
    assert failed["score_mean"].isna().all()
    assert board.loc[board["model"] == "linear", "status"].isin(["ok", "baseline"]).all()
    assert model.predict(X).shape == (150,)


def test_all_trials_failing_raises_search_failed(iris_str):
    X, y = iris_str
    boom = model_plugin("boom", Explode, tasks="classification")
    with pytest.raises(SearchFailedError, match=r"all 2 trials failed(.|\n)*\(boom\): RuntimeError: kaboom"):
        AutoML(plugins=[boom], include=["boom"], time_budget=None, max_trials=2, **FAST).fit(X, y)


def _fit_with_a_model_whose_build_raises(iris_str) -> pd.DataFrame:
    X, y = iris_str

    def build(params, ctx):
        raise ValueError("cannot build this")

    plugin = ModelPlugin(ModelSpec(name="nobuild", tasks="classification", build=build, cost=0.5))
    model = AutoML(plugins=[plugin], include=["nobuild", "linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    return model.leaderboard_


def test_a_model_whose_build_raises_is_failed(iris_str):
    board = _fit_with_a_model_whose_build_raises(iris_str)
    failed = board[board["error"].str.contains("cannot build this")]
    assert len(failed) >= 1
    assert (failed["status"] == "failed").all()
    assert failed["error"].str.startswith("building the pipeline failed: ValueError").all()
    assert board.loc[board["model"] == "linear", "status"].isin(["ok", "baseline"]).all()


def test_a_model_whose_build_raises_is_named_on_the_leaderboard(iris_str):
    board = _fit_with_a_model_whose_build_raises(iris_str)
    failed = board[board["error"].str.contains("cannot build this")]
    assert len(failed) >= 1
    assert (failed["model"] == "nobuild").all()


def test_plugin_space_parameters_reach_build(iris_str):
    X, y = iris_str
    seen_params = []

    def space(trial, ctx):
        return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1e-6, log=True)}

    def build(params, ctx):
        seen_params.append(dict(params))
        return GaussianNB(var_smoothing=params.get("var_smoothing", 1e-9))

    plugin = ModelPlugin(
        ModelSpec(
            name="gnb_space", tasks="classification", build=build, space=space, defaults=({"var_smoothing": 1e-9},)
        )
    )
    model = AutoML(plugins=[plugin], include=["gnb_space"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    assert seen_params[0] == {"var_smoothing": 1e-9}  # the default comes first
    assert all(set(p) == {"var_smoothing"} for p in seen_params)
    board = model.leaderboard_
    for params in board.loc[board["trial"].notna(), "params"]:
        # model parameters under their plain names, preprocessing ones under kind.name.param
        assert "var_smoothing" in params
        assert all(k == "var_smoothing" or k.startswith("numeric.") for k in params)
    assert len({p["var_smoothing"] for p in seen_params}) >= 2


# -- observers -------------------------------------------------------------------------
def test_observer_hooks_are_called(iris_str):
    X, y = iris_str
    rec = Recorder()
    model = AutoML(plugins=[rec], time_budget=None, max_trials=3, **FAST).fit(X, y)

    assert len(rec.started) == 1
    ctx = rec.started[0]
    assert isinstance(ctx, SearchContext)
    assert ctx.context.task == "multiclass" and ctx.metric == "log_loss"
    assert "linear" in ctx.models

    assert len(rec.trials) == 3  # once per trial
    numbers = [result.number for result, _ in rec.trials]
    assert sorted(numbers) == list(range(3))
    for i, (result, board) in enumerate(rec.trials):
        assert isinstance(result, TrialResult)
        assert isinstance(board, pd.DataFrame)
        assert list(board.columns) == COLUMNS
        assert len(board) == i + 1  # the leaderboard so far, this trial included
        assert result.number in set(board["trial"])

    assert rec.finished == [model]


def test_an_observer_that_raises_only_warns(iris_str):
    X, y = iris_str

    class Grumpy:
        calls = 0

        @hookimpl
        def automl_trial_finished(self, result, leaderboard):
            Grumpy.calls += 1
            raise ZeroDivisionError("observer bug")

    with pytest.warns(RuntimeWarning, match=r"observer 'Grumpy@[0-9a-f]+' failed in automl_trial_finished"):
        model = AutoML(plugins=[Grumpy()], time_budget=None, max_trials=2, **FAST).fit(X, y)
    assert Grumpy.calls == 2
    assert hasattr(model, "best_pipeline_")
    assert model.leaderboard_["status"].isin(["ok", "baseline"]).all()
