"""The ``catboost`` model plugin: its spec, space, categorical handling, early stopping, fits, saving and ONNX."""

from __future__ import annotations

from importlib.metadata import entry_points

import automl
import numpy as np
import optuna
import pandas as pd
import pytest
from automl import AutoML, Context, ModelSpec
from automl.deploy.onnx import OnnxConversionError
from automl.testing import parametrize_plugin_checks
from sklearn.datasets import load_diabetes, load_iris, make_classification

from automl_catboost import plugin
from automl_catboost.model import (
    MIN_ROWS_FOR_EARLY_STOPPING,
    CatBoostModelClassifier,
    CatBoostModelRegressor,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

FIT = {"time_budget": 6, "n_jobs": 1, "random_state": 0, "verbose": 0}


def context(task: str = "binary", n_rows: int = 200, **changes: object) -> Context:
    n_classes = {"binary": 2, "multiclass": 3, "regression": 0}[task]
    return Context(task=task, n_rows=n_rows, n_features=3, n_numeric=2, n_categorical=1, n_classes=n_classes, **changes)


def mixed_table(n: int, task: str = "binary", seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Two numeric columns (one with gaps) and a categorical one with missing values; the target uses all three."""
    rng = np.random.default_rng(seed)
    city = rng.choice(["paris", "rome", "oslo", "lima"], size=n).astype(object)
    city[rng.random(n) < 0.1] = None
    a, b = rng.normal(size=n), rng.normal(size=n)
    signal = a + 1.5 * (city == "paris") - 1.0 * (city == "oslo") + 0.3 * b
    X = pd.DataFrame({"a": a, "b": np.where(rng.random(n) < 0.1, np.nan, b), "city": city})
    noisy = signal + rng.normal(scale=0.5, size=n)
    if task == "regression":
        return X, pd.Series(noisy, name="y")
    if task == "multiclass":
        return X, pd.Series(np.digitize(noisy, [-0.5, 0.8]), name="y")
    return X, pd.Series(np.where(noisy > 0.3, "yes", "no"), name="y")


def as_category(X: pd.DataFrame) -> pd.DataFrame:
    """What the ``native`` preprocessor hands a model: the categorical column as pandas ``category``."""
    return X.assign(city=X["city"].astype("category"))


@parametrize_plugin_checks(plugin)
def test_conformance(check):
    check()


def test_spec_validates_and_declares_its_tags():
    spec = plugin.model_spec()
    assert isinstance(spec, ModelSpec)
    assert spec.name == "catboost"
    assert set(spec.tasks) == {"binary", "multiclass", "regression"}
    assert {"native_categorical", "handles_missing"} <= set(spec.tags)
    assert "needs_scaling" not in spec.tags
    assert "automl_catboost.model.CatBoostModelClassifier" in spec.trusted_types
    for default in spec.defaults:
        for task in ("binary", "multiclass", "regression"):
            assert plugin.build(default, context(task)).get_params()["learning_rate"] == default["learning_rate"]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_space_samples_under_a_real_optuna_trial(task):
    ctx = context(task, n_rows=1000, random_state=0, n_threads=2)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=10))
    for seed in range(40):
        trial = study.ask()
        params = plugin.space(trial, ctx)
        assert 0.01 <= params["learning_rate"] <= 0.3 and 3 <= params["depth"] <= 8
        assert ("auto_class_weights" in params) == (task != "regression")
        model = plugin.build(params, ctx)
        assert model.thread_count == 2 and model.random_seed == 0
        assert model.validation_fraction > 0  # 1000 rows: early stopping
        study.tell(trial, float(seed % 7))


def test_categorical_columns_with_missing_and_unseen_values():
    X, y = mixed_table(240)
    model = plugin.build(plugin.DEFAULTS[0], context(n_rows=len(X), random_state=0)).fit(as_category(X), y)
    assert model.cat_features_ == [2]
    new = X.iloc[:6].copy()
    new["city"] = ["berlin", None, "paris", "tokyo", np.nan, "oslo"]
    for rows in (as_category(new), new):  # category or plain object column
        proba = model.predict_proba(rows)
        assert proba.shape == (6, 2) and np.isfinite(proba).all()
        assert set(model.predict(rows)) <= {"yes", "no"}
    assert model.score(as_category(X), y) > 0.75


def test_a_table_without_categorical_columns_and_numpy_input():
    X, y = make_classification(n_samples=150, n_features=4, random_state=0)
    model = plugin.build(plugin.DEFAULTS[0], context(n_rows=len(X))).fit(X, y)
    assert model.cat_features_ == [] and model.predict_proba(X).shape == (150, 2)


def test_early_stopping_learns_fewer_trees_than_the_ceiling():
    X, y = make_classification(n_samples=1000, n_features=5, n_informative=2, class_sep=3.0, random_state=0)
    params = {"learning_rate": 0.3, "depth": 4}
    model = plugin.build(params, context(n_rows=len(X), random_state=0))
    assert model.validation_fraction > 0
    model.fit(X, y)
    assert model.n_estimators_ < model.iterations
    assert model.learned_params_ == {"iterations": int(np.ceil(model.n_estimators_ / 0.9))}
    # the final refit takes the learned number and holds no rows out
    final = plugin.build({**params, **model.learned_params_}, context(n_rows=len(X), final=True))
    assert final.validation_fraction == 0 and final.iterations == model.learned_params_["iterations"]
    assert final.fit(X, y).n_estimators_ == final.iterations


def test_no_early_stopping_below_a_few_hundred_rows():
    X, y = mixed_table(MIN_ROWS_FOR_EARLY_STOPPING - 1, task="regression")
    model = plugin.build({"learning_rate": 0.2}, context("regression", n_rows=len(X)))
    assert isinstance(model, CatBoostModelRegressor) and model.validation_fraction == 0
    model.fit(as_category(X), y)
    assert model.n_estimators_ == model.iterations == model.learned_params_["iterations"]


def test_same_seed_same_model():
    X, y = mixed_table(400, task="multiclass")
    ctx = context("multiclass", n_rows=len(X), random_state=3, n_threads=2)
    params = {**plugin.DEFAULTS[0], "subsample": 0.6}
    first, second = (plugin.build(params, ctx).fit(as_category(X), y) for _ in range(2))
    assert isinstance(first, CatBoostModelClassifier)
    np.testing.assert_array_equal(first.predict_proba(as_category(X)), second.predict_proba(as_category(X)))


def test_entry_point_declares_the_plugin():
    (ep,) = [ep for ep in entry_points(group="automl") if ep.name == "catboost"]
    assert ep.load() is plugin


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_automl_finds_and_fits_catboost(task, tmp_path):
    if task == "multiclass":
        X, y = load_iris(return_X_y=True, as_frame=True)
    else:
        X, y = mixed_table(250, task=task)
    # no plugins=[...]: the installed entry point is what makes AutoML find the model
    fitted = AutoML(include=["catboost"], **FIT).fit(X, y)
    board = fitted.leaderboard_
    assert "ok" in set(board.loc[board["model"] == "catboost", "status"])
    path = tmp_path / "model.automl"
    fitted.save(path)
    loaded = automl.load(path)
    new = X.iloc[:20].copy()
    if "city" in new:
        new.loc[new.index[:5], "city"] = ["berlin", None, "tokyo", np.nan, "oslo"]
    predict = fitted.predict if task == "regression" else fitted.predict_proba
    np.testing.assert_array_equal(predict(new), (loaded.predict if task == "regression" else loaded.predict_proba)(new))


def one_trial(X: pd.DataFrame, y: pd.Series) -> AutoML:
    """A fit of the first default alone: the ``native`` preprocessor for categorical columns."""
    return AutoML(include=["catboost"], time_budget=None, max_trials=1, n_jobs=1, random_state=0, verbose=0).fit(X, y)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_onnx_export_of_a_numeric_table_passes_the_parity_check(task, tmp_path):
    if task == "binary":
        X, y = mixed_table(250)
        X = X.drop(columns="city")  # numeric only, with missing values
    elif task == "multiclass":
        X, y = load_iris(return_X_y=True, as_frame=True)
        y = pd.Series(np.asarray(["setosa", "versicolor", "virginica"])[y])
    else:
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        X, y = X.iloc[:200], y.iloc[:200]
    report = one_trial(X, y).to_onnx(tmp_path / "model.onnx", X)
    assert report.passed
    assert (tmp_path / "model.onnx").exists()


def test_onnx_export_refuses_categorical_features_and_names_the_class(tmp_path):
    X, y = mixed_table(250)
    fitted = one_trial(X, y)
    assert fitted.best_pipeline_.steps[-1][1].cat_features_ == [0]
    with pytest.raises(OnnxConversionError, match="CatBoostModelClassifier.*categorical features"):
        fitted.to_onnx(tmp_path / "model.onnx")
