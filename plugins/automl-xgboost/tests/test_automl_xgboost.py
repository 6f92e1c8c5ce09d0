"""Tests of the automl-xgboost plugin: its spec, space, early stopping, fits, entry point, saving and ONNX."""

from __future__ import annotations

import importlib.util
import inspect
from functools import partial
from importlib.metadata import entry_points

import automl
import numpy as np
import optuna
import pandas as pd
import pytest
from automl import AutoML, Context, ModelSpec, hookimpl
from automl.testing import parametrize_plugin_checks
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, make_classification, make_regression
from sklearn.utils.validation import has_fit_parameter

from automl_xgboost import XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor, plugin
from automl_xgboost.estimators import MIN_ROWS_FOR_EARLY_STOPPING

TASKS = ("binary", "multiclass", "regression")
LOADERS = {"binary": load_breast_cancer, "multiclass": load_iris, "regression": load_diabetes}


def registered() -> list[ModelSpec]:
    """The specs the plugin registers."""
    specs: list[ModelSpec] = []
    plugin.automl_register_models(specs.append)
    return specs


def context(task: str, n_rows: int = 500, final: bool = False, **changes: object) -> Context:
    """A context for ``task``."""
    n_classes = {"binary": 2, "multiclass": 3, "regression": 0}[task]
    return Context(task=task, n_rows=n_rows, n_features=4, n_classes=n_classes, random_state=0, final=final, **changes)


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
    """One fit restricted to xgboost per task (3 folds: quick trials), shared by the tests that only read it."""
    out = {}
    for task in TASKS:
        X, y = LOADERS[task](return_X_y=True, as_frame=True)
        out[task] = (AutoML(include=["xgboost"], task=task, time_budget=4, cv=3, n_jobs=1, random_state=0).fit(X, y), X)
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


def test_final_regressor_holds_no_rows_out_and_predicts_as_plain_xgboost():
    import xgboost as xgb

    final = plugin.build({"n_estimators": 37}, context("regression", final=True))
    assert type(final) is XGBEarlyStoppingRegressor and final.validation_fraction == 0.0
    assert type(final.estimator) is xgb.XGBRegressor and final.estimator.n_estimators == 37
    X, y = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=0)
    final.fit(X, y)
    plain = clone(final.estimator).fit(X, y)
    assert final.n_estimators_ == 37
    np.testing.assert_array_equal(final.predict(X), plain.predict(X))
    lean = final.lean_op("predict")  # through the Booster: the same values, on many rows and on one
    for rows in (X, X[:1]):
        np.testing.assert_array_equal(lean(rows), plain.predict(rows))
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


# --- sample weights and rows in time order ------------------------------------------------------------------


def _fit_takes_weights() -> bool:
    """Whether the installed core's ``AutoML.fit`` takes ``sample_weight``."""
    return "sample_weight" in inspect.signature(AutoML.fit).parameters


def two_groups(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features unrelated to the target and a mask of every other row (group B); the groups share ``X``'s law."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), np.arange(n) % 2 == 1


class _RecordFits:
    """Replaces XGBoost's ``fit`` of one class by one that records its arguments and then fits."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
        self.calls: list[tuple[np.ndarray, np.ndarray, dict]] = []
        original = cls.fit

        def fit(model, X, y, **kwargs):
            self.calls.append((np.asarray(X), np.asarray(y), kwargs))
            return original(model, X, y, **kwargs)

        monkeypatch.setattr(cls, "fit", fit)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("n_rows", [100, 1000])
def test_built_models_take_sample_weight(task, final, n_rows):
    # the engine's test: a model whose fit has no sample_weight is left out of a weighted fit
    for default in plugin.DEFAULTS:
        est = plugin.build(dict(default), context(task, n_rows=n_rows, final=final))
        assert has_fit_parameter(est, "sample_weight")


@pytest.mark.parametrize("n_rows", [200, 600])  # without and with early stopping
def test_zero_weights_leave_a_group_out(n_rows):
    # two groups with the same features and targets 0 and 10: the weights decide which one the model learns
    X, group_b = two_groups(n_rows)
    y = np.where(group_b, 10.0, 0.0) + np.random.default_rng(1).normal(scale=0.1, size=n_rows)
    ctx = context("regression", n_rows=n_rows)

    def mean_prediction(weights: np.ndarray | None) -> float:
        return float(plugin.build(dict(plugin.DEFAULTS[0]), ctx).fit(X, y, sample_weight=weights).predict(X).mean())

    assert abs(mean_prediction(None) - 5.0) < 0.5
    assert abs(mean_prediction(np.where(group_b, 0.0, 1.0))) < 0.5
    assert abs(mean_prediction(np.where(group_b, 1.0, 0.0)) - 10.0) < 0.5


@pytest.mark.parametrize("n_rows", [200, 600])
def test_class_weights_move_the_probabilities(n_rows):
    # labels unrelated to the features: the model can only learn the (weighted) share of each class
    X, group_b = two_groups(n_rows)
    y = np.where(group_b, "b", "a")
    ctx = context("binary", n_rows=n_rows)

    def mean_proba_b(weights: np.ndarray | None) -> float:
        est = plugin.build(dict(plugin.DEFAULTS[0]), ctx).fit(X, y, sample_weight=weights)
        return float(est.predict_proba(X)[:, list(est.classes_).index("b")].mean())

    assert abs(mean_proba_b(None) - 0.5) < 0.05
    assert mean_proba_b(np.where(group_b, 5.0, 1.0)) > 0.6
    assert mean_proba_b(np.where(group_b, 0.2, 1.0)) < 0.4


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_integer_weights_act_as_repeated_rows_without_early_stopping(task):
    # the third default samples neither rows nor columns, and a small table's histogram bins are its values:
    # a row of weight k grows the same trees as k copies of the row
    make = make_classification if task == "binary" else partial(make_regression, noise=5.0)
    X, y = make(n_samples=120, n_features=5, random_state=0)
    w = np.random.default_rng(0).integers(0, 4, size=len(y))
    ctx = context(task, n_rows=len(y))
    weighted = plugin.build(dict(plugin.DEFAULTS[2]), ctx).fit(X, y, sample_weight=w)
    repeated = plugin.build(dict(plugin.DEFAULTS[2]), ctx).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
    unweighted = plugin.build(dict(plugin.DEFAULTS[2]), ctx).fit(X, y)
    predict = (lambda m: m.predict_proba(X)) if task == "binary" else (lambda m: m.predict(X) / np.std(y))
    np.testing.assert_allclose(predict(weighted), predict(repeated), atol=1e-5)
    assert np.abs(predict(weighted) - predict(unweighted)).max() > 0.1


@pytest.mark.parametrize("shuffle", [True, False])
def test_weights_reach_xgboost_for_training_and_validation_rows(monkeypatch, shuffle):
    import xgboost as xgb

    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    record = _RecordFits(monkeypatch, xgb.XGBClassifier)
    est = plugin.build(dict(plugin.DEFAULTS[0]), context("binary", n_rows=len(y), time_ordered=not shuffle))
    assert est.shuffle is shuffle
    est.fit(X, y, sample_weight=w)
    [(X_tr, _, kwargs)] = record.calls
    idx_tr, idx_va = est._split(y)
    np.testing.assert_array_equal(X_tr, X[idx_tr])
    np.testing.assert_array_equal(kwargs["sample_weight"], w[idx_tr])
    [(X_va, _)] = kwargs["eval_set"]
    np.testing.assert_array_equal(X_va, X[idx_va])
    [w_va] = kwargs["sample_weight_eval_set"]
    np.testing.assert_array_equal(w_va, w[idx_va])
    # unweighted, XGBoost gets no weights at all
    est.fit(X, y)
    assert record.calls[-1][2].get("sample_weight") is None
    assert "sample_weight_eval_set" not in record.calls[-1][2]


def test_held_out_rows_of_zero_weight_validate_unweighted(monkeypatch):
    import xgboost as xgb

    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    w = np.ones(len(y))
    w[-60:] = 0.0  # the last 10 %: the rows held out in time order
    record = _RecordFits(monkeypatch, xgb.XGBClassifier)
    est = plugin.build(dict(plugin.DEFAULTS[0]), context("binary", n_rows=len(y), time_ordered=True)).fit(
        X, y, sample_weight=w
    )
    assert "sample_weight_eval_set" not in record.calls[0][2]
    assert 1 <= est.n_estimators_ < est.estimator.n_estimators
    assert np.isfinite(est.predict_proba(X)).all()


@pytest.mark.parametrize("task", TASKS)
def test_time_ordered_rows_hold_out_the_last_ones(monkeypatch, task):
    import xgboost as xgb

    if task == "regression":
        X, y = make_regression(n_samples=600, n_features=5, noise=5.0, random_state=0)
    else:
        n_classes = {"binary": 2, "multiclass": 3}[task]
        X, y = make_classification(n_samples=600, n_features=5, n_informative=3, n_classes=n_classes, random_state=0)
    record = _RecordFits(monkeypatch, xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier)
    est = plugin.build(dict(plugin.DEFAULTS[0]), context(task, n_rows=len(y), time_ordered=True))
    assert est.shuffle is False and clone(est).get_params()["shuffle"] is False
    est.fit(X, y)
    [(X_tr, _, kwargs)] = record.calls
    n_valid = round(plugin.VALIDATION_FRACTION * len(y))
    np.testing.assert_array_equal(X_tr, X[: len(y) - n_valid])
    np.testing.assert_array_equal(kwargs["eval_set"][0][0], X[len(y) - n_valid :])
    # the seed plays no part in the split
    assert np.array_equal(est._split(np.asarray(y))[1], clone(est).set_params(random_state=7)._split(np.asarray(y))[1])
    # and by default (rows not in time order) the held-out rows are a random share
    assert plugin.build({}, context(task, n_rows=len(y))).shuffle is True


def test_a_class_only_in_the_last_rows_is_trained_on():
    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    labels = np.where(y == 1, "b", "a").astype(object)
    labels[-20:] = "c"  # a class that appears only in the rows held out in time order
    est = plugin.build(dict(plugin.DEFAULTS[0]), context("multiclass", n_rows=len(y), time_ordered=True))
    idx_tr, idx_va = est._split(np.unique(labels, return_inverse=True)[1])
    assert set(range(580, 600)) <= set(idx_tr) and len(idx_va) == 40 and (idx_va >= 540).all()
    est.fit(X, labels)
    assert est.classes_.tolist() == ["a", "b", "c"]
    assert est.predict_proba(X).shape == (600, 3)


@pytest.mark.skipif(not _fit_takes_weights(), reason="the installed core's AutoML.fit takes no sample_weight yet")
def test_weighted_fit_end_to_end():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    w = np.where(y.to_numpy() == 1, 1.0, 3.0)
    # one trial without a time budget: under a budget of seconds, a busy machine (or a cold worker) times it out
    model = AutoML(include=["xgboost"], time_budget=None, max_trials=1, cv=3, n_jobs=1, verbose=0, random_state=0)
    model.fit(X, y, sample_weight=w)
    board = model.leaderboard_
    # the model is not left out of the weighted fit: its trials run and finish
    assert (board.loc[board["model"] == "xgboost", "status"] == "ok").any()
    assert len(model.predict(X)) == len(X)


def _fit_takes_time() -> bool:
    """Whether the installed core's ``AutoML.fit`` takes ``time`` (rows in time order)."""
    return "time" in inspect.signature(AutoML.fit).parameters


@pytest.mark.skipif(not _fit_takes_time(), reason="the installed core's AutoML.fit takes no time yet")
def test_time_ordered_fit_end_to_end(tmp_path):
    X, y = make_classification(n_samples=700, n_features=6, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    model = AutoML(include=["xgboost"], time_budget=None, max_trials=1, cv=3, n_jobs=1, verbose=0, random_state=0)
    model.fit(X, y, time=np.arange(len(y)))
    board = model.leaderboard_
    assert (board.loc[board["model"] == "xgboost", "status"] == "ok").any()
    # the engine told build the rows are in time order
    assert model.best_pipeline_.steps[-1][1].shuffle is False
    assert len(model.predict(X)) == len(X)
    # the new constructor parameter does not get in the way of the safe format or of the ONNX export
    model.save(tmp_path / "model.automl")
    np.testing.assert_array_equal(automl.load(tmp_path / "model.automl").predict_proba(X), model.predict_proba(X))
    if importlib.util.find_spec("onnxmltools") and importlib.util.find_spec("onnxruntime"):
        assert model.to_onnx(tmp_path / "model.onnx", X).passed
