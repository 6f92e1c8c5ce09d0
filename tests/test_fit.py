"""End-to-end fits: AutoML on small tables, in worker processes, under a time budget."""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, mixed_table
from sklearn import metrics as skm
from sklearn.base import is_classifier, is_regressor
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from automl import AutoML, AutoMLClassifier, AutoMLRegressor, DataError
from automl.search.leaderboard import COLUMNS

STATUSES = {"ok", "failed", "timeout", "pruned", "baseline"}


def within_budget(seconds: float, budget: float) -> bool:
    return seconds <= budget * 1.05 + 1.0


def check_leaderboard(model: AutoML) -> pd.DataFrame:
    """Assert the leaderboard's general shape; return its successful rows."""
    board = model.leaderboard_
    assert list(board.columns) == COLUMNS
    assert set(board["status"]) <= STATUSES
    ok = board[board["status"] == "ok"]
    assert len(ok) >= 1
    assert list(ok.index) == list(range(len(ok)))  # successful trials come first
    assert ok["rank"].tolist() == list(range(1, len(ok) + 1))
    assert board.loc[board["status"] != "ok", "rank"].isna().all()
    assert (board["metric"] == model.metric_).all()
    objective = ok["score_mean"] if model._metric.greater_is_better else -ok["score_mean"]
    assert objective.is_monotonic_decreasing
    assert ok["score_std"].notna().all() and (ok["n_folds"] >= 1).all()
    return ok


def split(X, y, seed=0):
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y if y.nunique() < 10 else None)


# -- binary ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def binary(breast_cancer):
    X_train, X_test, y_train, y_test = split(*breast_cancer)
    t0 = time.monotonic()
    model = AutoML(time_budget=5, **FAST).fit(X_train, y_train)
    return model, X_test, y_test, time.monotonic() - t0


def test_binary_fit_attributes(binary, breast_cancer):
    model, _, _, seconds = binary
    assert within_budget(seconds, 5)
    assert model.task_ == "binary"
    assert model.metric_ == "roc_auc"
    assert model.classes_.tolist() == [0, 1]
    assert model.n_features_in_ == 30
    assert model.feature_names_in_.tolist() == list(breast_cancer[0].columns)
    assert model.cv_.startswith("5-fold stratified")
    assert isinstance(model.best_pipeline_, Pipeline)
    assert 0.9 < model.best_score_ <= 1.0


def test_binary_predictions(binary):
    model, X_test, y_test, _ = binary
    pred = model.predict(X_test)
    proba = model.predict_proba(X_test)
    assert pred.shape == (len(X_test),)
    assert set(pred) <= {0, 1}
    assert proba.shape == (len(X_test), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert ((proba >= 0) & (proba <= 1)).all()
    assert np.array_equal(pred, model.classes_[proba.argmax(axis=1)])
    assert skm.accuracy_score(y_test, pred) > 0.85


def test_binary_score_is_the_metric(binary):
    model, X_test, y_test, _ = binary
    expected = skm.roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    assert model.score(X_test, y_test) == pytest.approx(expected)
    assert expected > 0.9


def test_score_does_not_ignore_sample_weight(binary):
    model, X_test, y_test, _ = binary
    half = len(y_test) // 2
    weights = np.r_[np.ones(half), np.zeros(len(y_test) - half)]
    try:
        weighted = model.score(X_test, y_test, sample_weight=weights)
    except (ValueError, NotImplementedError, TypeError):
        return  # refusing weights is fine; ignoring them is not
    assert weighted == pytest.approx(model.score(X_test.iloc[:half], y_test.iloc[:half]))


def test_score_rejects_weights_of_the_wrong_length(binary):
    model, X_test, y_test, _ = binary
    with pytest.raises(DataError, match="sample_weight has shape"):
        model.score(X_test, y_test, sample_weight=np.ones(3))


def test_binary_leaderboard(binary):
    model, *_ = binary
    ok = check_leaderboard(model)
    assert len(model.leaderboard_) >= 3
    assert len(model.trials_) >= len(model.leaderboard_) - 1  # at most one extra row: an ensemble
    assert set(ok["model"]) >= {"linear"}  # the cheapest default is always tried


def test_binary_best_pipeline_predicts_like_the_estimator(binary):
    model, X_test, *_ = binary
    assert np.array_equal(model.best_pipeline_.predict(X_test), model.predict(X_test))
    # columns are matched by name
    shuffled = X_test[list(reversed(X_test.columns))]
    assert np.array_equal(model.predict(shuffled), model.predict(X_test))


def test_predict_with_missing_columns_names_them(binary):
    model, X_test, *_ = binary
    with pytest.raises(DataError, match="mean radius"):
        model.predict(X_test.drop(columns=["mean radius"]))


def test_score_with_an_unknown_class_raises(binary):
    model, X_test, y_test, _ = binary
    with pytest.raises(DataError, match="not seen in training"):
        model.score(X_test, y_test.replace({1: 7}))


# -- multiclass, string labels -----------------------------------------------------
@pytest.fixture(scope="module")
def multiclass(iris_str):
    X_train, X_test, y_train, y_test = split(*iris_str)
    model = AutoML(time_budget=4, **FAST).fit(X_train, y_train)
    return model, X_test, y_test


def test_multiclass_string_labels(multiclass):
    model, X_test, y_test = multiclass
    assert model.task_ == "multiclass"
    assert model.metric_ == "log_loss"
    assert model.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    pred = model.predict(X_test)
    assert pred.shape == (len(X_test),)
    assert set(pred) <= set(model.classes_)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), 3)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert skm.accuracy_score(y_test, pred) > 0.8
    check_leaderboard(model)


def test_multiclass_score_is_the_negated_loss(multiclass):
    model, X_test, y_test = multiclass
    proba = model.predict_proba(X_test)
    expected = -skm.log_loss(y_test, proba, labels=model.classes_)
    assert model.score(X_test, y_test) == pytest.approx(expected, rel=1e-6)


# -- regression -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regression(diabetes):
    X_train, X_test, y_train, y_test = split(*diabetes)
    model = AutoML(time_budget=4, **FAST).fit(X_train, y_train)
    return model, X_test, y_test


def test_regression_fit(regression):
    model, X_test, y_test = regression
    assert model.task_ == "regression"
    assert model.metric_ == "rmse"
    assert not hasattr(model, "classes_")
    assert not hasattr(model, "predict_proba")
    pred = model.predict(X_test)
    assert pred.shape == (len(X_test),)
    assert pred.dtype.kind == "f"
    assert skm.r2_score(y_test, pred) > 0.3
    ok = check_leaderboard(model)
    assert (ok["score_mean"] > 0).all()  # rmse in natural units
    assert model.best_score_ > 0


def test_regression_score_is_the_negated_rmse(regression):
    model, X_test, y_test = regression
    rmse = np.sqrt(skm.mean_squared_error(y_test, model.predict(X_test)))
    assert model.score(X_test, y_test) == pytest.approx(-rmse)


# -- a table with every kind of column ----------------------------------------------
@pytest.fixture(scope="module")
def mixed():
    X, y = mixed_table()
    model = AutoML(time_budget=5, **FAST).fit(X, y)
    return model, X, y


def new_rows(n: int = 40) -> pd.DataFrame:
    """Rows unlike training: unseen categories, missing values, columns in another order, an extra column."""
    X, _ = mixed_table(n, seed=7)
    X["city"] = pd.array(["tokyo", "paris", None, "lima"] * (n // 4), dtype="str")
    X["color"] = pd.Categorical(["purple", "red", None, "green"] * (n // 4))
    X["obj"] = pd.Series(["zzz", np.nan, "a", 3] * (n // 4), dtype=object)
    X.loc[::5, "num"] = np.nan
    X["extra"] = "ignored"
    return X[["extra", *reversed(X.columns[:-1])]]


def test_mixed_table_dtypes_are_what_the_test_claims():
    X, _ = mixed_table()
    assert X.dtypes.astype(str).to_dict() == {
        "num": "float64",
        "num_nan": "float64",
        "city": "str",
        "color": "category",
        "obj": "object",
        "flag": "bool",
    }
    assert X["num_nan"].isna().any() and X["obj"].isna().any()


def test_mixed_table_fit(mixed):
    model, X, y = mixed
    assert model.classes_.tolist() == ["no", "yes"]
    assert model.feature_names_in_.tolist() == list(X.columns)
    ok = check_leaderboard(model)
    single = ok[ok["trial"].notna()]
    assert single["preprocessing"].str.contains("categorical=").all()
    assert single["preprocessing"].str.contains("numeric=").all()
    assert model.score(X, y) > 0.8


def test_mixed_table_predict_on_new_rows(mixed):
    model, X, _ = mixed
    X_new = new_rows()
    pred = model.predict(X_new)
    proba = model.predict_proba(X_new)
    assert pred.shape == (len(X_new),)
    assert set(pred) <= {"no", "yes"}
    assert proba.shape == (len(X_new), 2)
    assert np.allclose(proba.sum(axis=1), 1.0)
    # the plain Pipeline does the same, without the AutoML object
    assert np.array_equal(model.best_pipeline_.predict(X_new), pred)
    assert np.allclose(model.best_pipeline_.predict_proba(X_new), proba)


def test_mixed_table_best_pipeline_survives_pickling(mixed):
    import pickle

    model, X, _ = mixed
    pipeline = pickle.loads(pickle.dumps(model.best_pipeline_))
    assert np.array_equal(pipeline.predict(X), model.predict(X))


def test_missing_target_rows_are_dropped_with_a_warning():
    from automl import DataWarning

    X, y = mixed_table(120)
    y = y.astype(object)
    y.iloc[:5] = None
    with pytest.warns(DataWarning, match="missing on 5 of 120 rows"):
        model = AutoML(time_budget=None, max_trials=2, **FAST).fit(X, y)
    assert model.classes_.tolist() == ["no", "yes"]


# -- the two task-specific estimators ------------------------------------------------
def test_automl_classifier(iris_str):
    X, y = iris_str
    codes = pd.Series(pd.factorize(y, sort=True)[0])
    model = AutoMLClassifier(time_budget=None, max_trials=3, **FAST).fit(X, codes)
    assert is_classifier(model)
    assert model.task_ == "multiclass"
    assert model.classes_.tolist() == [0, 1, 2]
    assert model.predict_proba(X).shape == (150, 3)


def test_automl_classifier_rejects_a_continuous_target(diabetes):
    X, y = diabetes
    with pytest.raises(DataError, match="continuous"):
        AutoMLClassifier(time_budget=None, max_trials=1, **FAST).fit(X, y + 0.5)


def test_automl_regressor_on_a_few_integer_values(iris_str):
    X, y = iris_str
    codes = pd.factorize(y, sort=True)[0]  # would be inferred as multiclass
    model = AutoMLRegressor(time_budget=None, max_trials=2, **FAST).fit(X, codes)
    assert is_regressor(model)
    assert model.task_ == "regression"
    assert not hasattr(model, "classes_")
    assert not hasattr(model, "predict_proba")
    assert model.predict(X).dtype.kind == "f"


def test_automl_regressor_rejects_string_targets(iris_str):
    X, y = iris_str
    with pytest.raises(DataError, match="non-numeric"):
        AutoMLRegressor(time_budget=None, max_trials=1, **FAST).fit(X, y)


def test_task_argument_overrides_inference(iris_str):
    X, y = iris_str
    with pytest.raises(DataError, match="task='binary' but y has 3 classes"):
        AutoML(task="binary", time_budget=None, max_trials=1, **FAST).fit(X, y)


# -- include / exclude ----------------------------------------------------------------
def single_models(model: AutoML) -> set[str]:
    board = model.leaderboard_
    return set(board.loc[board["trial"].notna(), "model"])


def test_include(iris_str):
    X, y = iris_str
    model = AutoML(include=["linear", "knn"], time_budget=None, max_trials=4, **FAST).fit(X, y)
    assert single_models(model) == {"linear", "knn"}


def test_exclude(iris_str):
    X, y = iris_str
    excluded = ["lightgbm", "random_forest", "extra_trees", "hist_gradient_boosting"]
    model = AutoML(exclude=excluded, time_budget=None, max_trials=4, **FAST).fit(X, y)
    tried = single_models(model)
    assert tried and tried.isdisjoint(excluded)  # installed plugins may add models beside linear and knn


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"include": ["no_such_model"]}, r"include names unknown model\(s\) \['no_such_model'\]"),
        ({"exclude": ["nope"]}, r"exclude names unknown model\(s\) \['nope'\]"),
        ({"include": "linear"}, "must be a list of model names"),
        ({"include": ["linear"], "exclude": ["linear"]}, "no model is left"),
    ],
)
def test_include_exclude_errors(iris_str, kwargs, match):
    X, y = iris_str
    with pytest.raises(ValueError, match=match):
        AutoML(time_budget=None, max_trials=1, **kwargs, **FAST).fit(X, y)


# -- metric --------------------------------------------------------------------------------
def test_metric_by_short_name(iris_str):
    X, y = iris_str
    model = AutoML(metric="accuracy", time_budget=None, max_trials=3, **FAST).fit(X, y)
    assert model.metric_ == "accuracy"
    assert (model.leaderboard_["metric"] == "accuracy").all()
    assert model.score(X, y) == pytest.approx(skm.accuracy_score(y, model.predict(X)))


def test_metric_by_sklearn_scorer_name(diabetes):
    X, y = diabetes
    model = AutoML(metric="neg_mean_absolute_error", time_budget=None, max_trials=3, **FAST).fit(X, y)
    assert model.metric_ == "neg_mean_absolute_error"
    ok = check_leaderboard(model)
    assert (ok["score_mean"] < 0).all()  # a scorer: greater is better
    assert model.score(X, y) == pytest.approx(-skm.mean_absolute_error(y, model.predict(X)))


def test_metric_as_a_callable(breast_cancer):
    X, y = breast_cancer

    def recall_of_ones(estimator, X, y_true):
        return skm.recall_score(y_true, estimator.predict(X))

    model = AutoML(metric=recall_of_ones, time_budget=None, max_trials=3, **FAST).fit(X, y)
    assert model.metric_ == "recall_of_ones"
    assert model.score(X, y) == pytest.approx(skm.recall_score(y, model.predict(X)))


def test_a_metric_for_another_task_is_an_error(iris_str):
    X, y = iris_str
    with pytest.raises(ValueError, match="does not apply to a multiclass task"):
        AutoML(metric="rmse", time_budget=None, max_trials=1, **FAST).fit(X, y)


# -- logging -------------------------------------------------------------------------------
def test_verbose_0_logs_nothing_below_warning(iris_str, caplog):
    X, y = iris_str
    caplog.set_level(logging.DEBUG)
    AutoML(time_budget=None, max_trials=2, n_jobs=2, random_state=0, verbose=0).fit(X, y)
    quiet = [r for r in caplog.records if r.name.startswith(("automl", "optuna")) and r.levelno < logging.WARNING]
    assert quiet == []


def test_verbose_1_logs_progress(iris_str, caplog):
    X, y = iris_str
    caplog.set_level(logging.DEBUG)
    AutoML(time_budget=None, max_trials=2, n_jobs=2, random_state=0, verbose=1).fit(X, y)
    infos = [r.getMessage() for r in caplog.records if r.name.startswith("automl") and r.levelno == logging.INFO]
    assert any(m.startswith("multiclass task, 150 rows x 4 columns") for m in infos)
    assert any(m.startswith("done in") for m in infos)
    debug = [r for r in caplog.records if r.name.startswith("automl") and r.levelno == logging.DEBUG]
    assert debug == []  # verbose=1 is INFO


# -- argument checks -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time_budget": -1}, "time_budget=-1 must be a positive number"),
        ({"time_budget": 0}, "time_budget=0"),
        ({"time_budget": float("nan")}, "time_budget=nan"),
        ({"time_budget": True}, "time_budget=True"),
        ({"time_budget": None}, "time_budget=None needs max_trials"),
        ({"max_trials": 0}, "max_trials=0 must be a positive integer"),
        ({"max_trials": 2.5}, "max_trials=2.5"),
        ({"n_jobs": 0}, "n_jobs=0"),
        ({"verbose": "loud"}, "verbose='loud'"),
        ({"task": "ranking"}, "task='ranking' must be one of"),
        ({"memory_limit": -5}, "memory_limit=-5"),
        ({"cv": "six"}, "cv='six' is not understood"),
    ],
)
def test_invalid_arguments(iris_str, kwargs, match):
    X, y = iris_str
    with pytest.raises(ValueError, match=match):
        AutoML(**{"time_budget": 5, "verbose": 0, **kwargs}).fit(X, y)


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros((0, 3)), np.zeros(0), "0 samples"),
        (np.arange(10.0), np.arange(10), "1-dimensional"),
        (np.zeros((10, 2)), None, "y is None"),
        (np.random.default_rng(0).normal(size=(10, 2)), np.zeros(9), "X has 10 rows but y has 9"),
        (np.random.default_rng(0).normal(size=(10, 2)), np.zeros(10, dtype=int), "only one class|single class"),
        (np.random.default_rng(0).normal(size=(10, 2)), pd.Series([1, "a"] * 5, dtype=object), "mixes value types"),
    ],
)
def test_invalid_data(X, y, match):
    with pytest.raises(DataError, match=match):
        AutoMLClassifier(time_budget=None, max_trials=1, **FAST).fit(X, y)
