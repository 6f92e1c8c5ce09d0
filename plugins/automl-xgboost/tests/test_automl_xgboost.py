"""Tests of the automl-xgboost plugin: its spec, space, early stopping, fits, entry point, saving and ONNX."""

from __future__ import annotations

from importlib.metadata import entry_points

import automl
import numpy as np
import optuna
import pandas as pd
import pytest
from automl import AutoML, Context, ModelSpec, hookimpl
from automl.testing import parametrize_plugin_checks
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification

from automl_xgboost import XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor, plugin
from automl_xgboost.estimators import MIN_ROWS_FOR_EARLY_STOPPING

TASKS = ("binary", "multiclass", "regression")
LOADERS = {"binary": load_breast_cancer, "multiclass": load_iris, "regression": load_diabetes}


def registered() -> list[ModelSpec]:
    """The specs the plugin registers."""
    specs: list[ModelSpec] = []
    plugin.automl_register_models(specs.append)
    return specs


def context(task: str, n_rows: int = 500, final: bool = False) -> Context:
    """A context for ``task``."""
    n_classes = {"binary": 2, "multiclass": 3, "regression": 0}[task]
    return Context(task=task, n_rows=n_rows, n_features=4, n_classes=n_classes, random_state=0, final=final)


def categorical_table(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numbers and strings, with missing values, whose class depends on both."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "colour [hue]": rng.choice(["red", "green", "blue", "grey"], size=n),
            "shape": rng.choice([f"s{i}" for i in range(12)], size=n),
        }
    )
    X.loc[rng.random(n) < 0.1, "x"] = np.nan
    X.loc[rng.random(n) < 0.1, "colour [hue]"] = None
    effect = X["colour [hue]"].map({"red": 1.5, "green": -1.5, "blue": 0.5}).fillna(0.0)
    y = (effect + X["x"].fillna(0.0) + rng.normal(scale=0.5, size=n) > 0).map({True: "yes", False: "no"})
    return X, y


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[AutoML, pd.DataFrame]]:
    """One fit restricted to xgboost per task, shared by the tests that only read it."""
    out = {}
    for task in TASKS:
        X, y = LOADERS[task](return_X_y=True, as_frame=True)
        out[task] = (AutoML(include=["xgboost"], task=task, time_budget=5, n_jobs=1, random_state=0).fit(X, y), X)
    return out


@pytest.fixture(scope="module")
def fitted_categorical() -> tuple[AutoML, pd.DataFrame]:
    """A fit restricted to xgboost on a table with categories and missing values (3 folds: quick trials)."""
    X, y = categorical_table()
    return AutoML(include=["xgboost"], time_budget=8, cv=3, n_jobs=1, random_state=0).fit(X, y), X


def test_spec_validates():
    [spec] = registered()
    assert isinstance(spec, ModelSpec)
    assert spec.name == "xgboost"
    assert spec.tasks == frozenset(TASKS)
    assert spec.tags == {"handles_missing", "native_categorical"}
    assert 1 <= len(spec.defaults) <= 3
    assert spec.onnx_converters is not None
    # every default names parameters of the space, and builds for every task
    trial = optuna.create_study().ask()
    names = set(spec.space(trial, context("binary")))
    for default in spec.defaults:
        assert set(default) <= names
        for task in TASKS:
            assert spec.build(default, context(task)) is not None


@parametrize_plugin_checks(plugin)
def test_conformance_kit(check):
    check()


@pytest.mark.parametrize("task", TASKS)
def test_space_samples_under_optuna(task):
    [spec] = registered()
    ctx = context(task)
    for seed in range(30):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        params = spec.space(study.ask(), ctx)
        assert 0.01 <= params["learning_rate"] <= 0.3
        assert 2 <= params["max_depth"] <= 10
        assert 0.5 <= params["subsample"] <= 1.0
        assert 0.3 <= params["colsample_bytree"] <= 1.0
        model = spec.build(params, ctx).estimator
        assert model.get_params()["max_depth"] == params["max_depth"]
        assert model.get_params()["n_jobs"] == ctx.n_threads
        assert model.get_params()["random_state"] == ctx.random_state


def test_early_stopping_learns_fewer_trees_on_an_easy_table():
    X, y = make_classification(n_samples=1000, n_features=8, n_informative=4, class_sep=2.0, random_state=0)
    params = {"learning_rate": 0.3, "max_depth": 3}
    est = plugin.build(params, context("binary", n_rows=len(y)))
    assert isinstance(est, XGBEarlyStoppingClassifier)
    est.fit(X, y)
    ceiling = est.estimator.n_estimators
    assert est.n_estimators_ < ceiling
    # the refit on all rows gets the trees scaled to the rows held out
    learned = est.learned_params_["n_estimators"]
    assert learned == int(np.ceil(est.n_estimators_ / (1 - plugin.VALIDATION_FRACTION)))
    final = plugin.build({**params, **est.learned_params_}, context("binary", n_rows=len(y), final=True))
    assert final.validation_fraction == 0.0
    assert final.estimator.n_estimators == learned
    final.fit(X, y)
    assert final.n_estimators_ == learned
    assert final.estimator_.get_booster().num_boosted_rounds() == learned


def test_no_early_stopping_on_a_small_table():
    X, y = make_classification(n_samples=MIN_ROWS_FOR_EARLY_STOPPING - 50, random_state=0)
    est = plugin.build({"learning_rate": 0.3}, context("binary", n_rows=len(y))).fit(X, y)
    assert est.n_estimators_ == est.estimator.n_estimators
    assert est.learned_params_ == {"n_estimators": est.estimator.n_estimators}


def test_final_regressor_is_plain_xgboost():
    import xgboost as xgb

    final = plugin.build({"n_estimators": 37}, context("regression", final=True))
    assert type(final) is xgb.XGBRegressor
    assert final.n_estimators == 37
    assert isinstance(plugin.build({}, context("regression")), XGBEarlyStoppingRegressor)


def test_classifier_takes_any_labels():
    X, y = make_classification(n_samples=120, n_classes=3, n_informative=4, random_state=0)
    labels = np.array(["b", "c", "e"])[y]
    est = plugin.build({}, context("multiclass", n_rows=len(y))).fit(X, labels)
    assert est.classes_.tolist() == ["b", "c", "e"]
    assert set(est.predict(X)) <= {"b", "c", "e"}
    # a fold that lacks a class still fits: the probabilities have one column per class seen
    missing_one = labels != "c"
    est.fit(X[missing_one], labels[missing_one])
    assert est.predict_proba(X).shape == (len(X), 2)


@pytest.mark.parametrize("task", TASKS)
def test_same_seed_same_model(task):
    X, y = LOADERS[task](return_X_y=True)
    predictions = []
    for _ in range(2):
        est = plugin.build({"subsample": 0.7, "colsample_bytree": 0.6}, context(task, n_rows=len(y))).fit(X, y)
        predictions.append(est.predict_proba(X) if task != "regression" else est.predict(X))
    np.testing.assert_array_equal(predictions[0], predictions[1])


@pytest.mark.parametrize("task", TASKS)
def test_end_to_end(fitted, task):
    model, X = fitted[task]
    board = model.leaderboard_
    assert (board.loc[board["model"] == "xgboost", "status"] == "ok").any()
    assert len(model.predict(X)) == len(X)


def test_native_categories_end_to_end(fitted_categorical):
    model, X = fitted_categorical
    board = model.leaderboard_
    ok = board[(board["model"] == "xgboost") & (board["status"] == "ok")]
    assert ok["preprocessing"].str.contains("categorical=native").any()
    assert set(model.predict(X)) <= {"yes", "no"}


class _Observer:
    """Records the candidate models of a search."""

    def __init__(self) -> None:
        self.models: tuple[str, ...] = ()

    @hookimpl
    def automl_search_started(self, context):
        self.models = context.models


def test_entry_point_makes_every_fit_find_it():
    found = [ep for ep in entry_points(group="automl") if ep.name == "xgboost"]
    assert [ep.value for ep in found] == ["automl_xgboost.plugin"]
    observer = _Observer()
    X, y = load_iris(return_X_y=True, as_frame=True)
    AutoML(time_budget=4, n_jobs=1, random_state=0, plugins=[observer], verbose=0).fit(X, y)
    assert "xgboost" in observer.models


@pytest.mark.parametrize("task", TASKS)
def test_save_load_round_trip(fitted, task, tmp_path):
    model, X = fitted[task]
    path = tmp_path / "model.automl"
    model.save(path)
    loaded = automl.load(path)
    if task == "regression":
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    else:
        np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_save_load_round_trip_with_categories(fitted_categorical, tmp_path):
    model, X = fitted_categorical
    model.save(tmp_path / "model.automl")
    loaded = automl.load(tmp_path / "model.automl")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("task", TASKS)
def test_onnx_parity(fitted, task, tmp_path):
    pytest.importorskip("onnxmltools")
    pytest.importorskip("onnxruntime")
    model, X = fitted[task]
    report = model.to_onnx(tmp_path / "model.onnx", X)
    assert report.passed


def test_onnx_parity_with_categories_and_missing_values(fitted_categorical, tmp_path):
    pytest.importorskip("onnxmltools")
    pytest.importorskip("onnxruntime")
    model, X = fitted_categorical
    unseen = X.head(20).assign(shape="never seen")
    report = model.to_onnx(tmp_path / "model.onnx", pd.concat([X, unseen], ignore_index=True))
    assert report.passed
