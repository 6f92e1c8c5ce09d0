"""The ``catboost`` model plugin: its spec, space, categorical handling, early stopping, fits, saving and ONNX."""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points

import automl
import numpy as np
import optuna
import pandas as pd
import pytest
from automl import AutoML, Context, ModelSpec
from automl.deploy.onnx import OnnxConversionError
from automl.testing import parametrize_plugin_checks
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris, make_classification, make_regression
from sklearn.utils.validation import has_fit_parameter

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


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_lean_form_answers_as_the_model_and_a_few_rows_on_one_thread(task, monkeypatch):
    X, y = mixed_table(240, task)
    model = plugin.build(plugin.DEFAULTS[0], context(task, n_rows=len(X), random_state=0)).fit(as_category(X), y)
    method = "predict_proba" if task == "binary" else "predict"
    lean = model.lean_op(method)
    new = X.iloc[:40].copy()
    new.loc[new.index[:4], "city"] = ["berlin", None, "paris", np.nan]  # unknown and missing too
    framed = as_category(new).assign(city=pd.Categorical(new["city"], categories=model.cat_categories_[0]))
    codes = framed.assign(city=framed["city"].cat.codes.where(framed["city"].cat.codes >= 0)).to_numpy(dtype=float)
    own = getattr(model, method)(framed)
    for start in range(0, 40, 3):  # one to three rows
        np.testing.assert_array_equal(lean(codes[start : start + 3]), own[start : start + 3])
    np.testing.assert_array_equal(lean(codes), own)
    seen: list[dict] = []
    catboost_method = getattr(model.model_, method)
    monkeypatch.setattr(model.model_, method, lambda X, **kw: seen.append(kw) or catboost_method(X, **kw))
    lean(codes[:1]), lean(codes)
    assert seen == [{"thread_count": 1}, {}]  # a few rows on one thread; more rows as CatBoost chooses


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


# --- sample weights and rows in time order ------------------------------------------------------------------


def _fit_takes(name: str) -> bool:
    """Whether the installed core's ``AutoML.fit`` takes the argument ``name``."""
    return name in inspect.signature(AutoML.fit).parameters


def two_groups(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features unrelated to the target and a mask of every other row (group B); the groups share ``X``'s law."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), np.arange(n) % 2 == 1


class _RecordFits:
    """Replaces CatBoost's ``fit`` of one class by one that records its arguments and then fits."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
        self.calls: list[tuple[object, np.ndarray, dict]] = []
        original = cls.fit

        def fit(model, X, y=None, **kwargs):
            self.calls.append((X, np.asarray(y), kwargs))
            return original(model, X, y, **kwargs)

        monkeypatch.setattr(cls, "fit", fit)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("final", [False, True])
@pytest.mark.parametrize("n_rows", [100, 1000])
def test_built_models_take_sample_weight(task, final, n_rows):
    # the engine's test: a model whose fit has no sample_weight is left out of a weighted fit
    for default in plugin.DEFAULTS:
        assert has_fit_parameter(plugin.build(default, context(task, n_rows=n_rows, final=final)), "sample_weight")


@pytest.mark.parametrize("n_rows", [200, 600])  # without and with early stopping
def test_zero_weights_leave_a_group_out(n_rows):
    # two groups with the same features and targets 0 and 10: the weights decide which one the model learns
    X, group_b = two_groups(n_rows)
    y = np.where(group_b, 10.0, 0.0) + np.random.default_rng(1).normal(scale=0.1, size=n_rows)
    ctx = context("regression", n_rows=n_rows, random_state=0)

    def mean_prediction(weights: np.ndarray | None) -> float:
        return float(plugin.build(plugin.DEFAULTS[0], ctx).fit(X, y, sample_weight=weights).predict(X).mean())

    assert abs(mean_prediction(None) - 5.0) < 0.5
    assert abs(mean_prediction(np.where(group_b, 0.0, 1.0))) < 0.5
    assert abs(mean_prediction(np.where(group_b, 1.0, 0.0)) - 10.0) < 0.5


@pytest.mark.parametrize("n_rows", [200, 600])
def test_class_weights_move_the_probabilities(n_rows):
    # labels unrelated to the features: the model can only learn the (weighted) share of each class
    X, group_b = two_groups(n_rows)
    y = np.where(group_b, "b", "a")
    ctx = context("binary", n_rows=n_rows, random_state=0)

    def mean_proba_b(weights: np.ndarray | None) -> float:
        model = plugin.build(plugin.DEFAULTS[0], ctx).fit(X, y, sample_weight=weights)
        return float(model.predict_proba(X)[:, list(model.classes_).index("b")].mean())

    assert abs(mean_proba_b(None) - 0.5) < 0.05
    assert mean_proba_b(np.where(group_b, 5.0, 1.0)) > 0.6
    assert mean_proba_b(np.where(group_b, 0.2, 1.0)) < 0.4


@pytest.mark.parametrize("shuffle", [True, False])
def test_weights_reach_catboost_for_training_and_validation_rows(monkeypatch, shuffle):
    import catboost

    X, y = mixed_table(600)
    X = as_category(X)
    w = np.random.default_rng(0).uniform(0.5, 2.0, size=len(y))
    record = _RecordFits(monkeypatch, catboost.CatBoostClassifier)
    model = plugin.build(plugin.DEFAULTS[0], context(n_rows=len(y), random_state=0, time_ordered=not shuffle))
    assert model.shuffle is shuffle
    model.fit(X, y, sample_weight=w)
    [(X_tr, y_tr, kwargs)] = record.calls
    idx_tr, idx_va = model._split(np.asarray(y))
    np.testing.assert_array_equal(X_tr["a"], X["a"].to_numpy()[idx_tr])
    np.testing.assert_array_equal(kwargs["sample_weight"], w[idx_tr])
    # the held-out rows' weights reach CatBoost in the evaluation Pool, with their categorical column
    pool = kwargs["eval_set"]
    assert isinstance(pool, catboost.Pool)
    assert pool.num_row() == len(idx_va) and pool.get_cat_feature_indices() == [2]
    np.testing.assert_allclose(pool.get_weight(), w[idx_va])
    np.testing.assert_array_equal(pool.get_label(), np.asarray(y)[idx_va])
    # unweighted, CatBoost gets no weights at all and the evaluation set as before
    model.fit(X, y)
    assert record.calls[-1][2]["sample_weight"] is None
    assert isinstance(record.calls[-1][2]["eval_set"], tuple)


def test_held_out_rows_of_zero_weight_validate_unweighted(monkeypatch):
    import catboost

    X, y = make_classification(n_samples=600, n_features=5, random_state=0)
    w = np.ones(len(y))
    w[-60:] = 0.0  # the last 10 %: the rows held out in time order
    record = _RecordFits(monkeypatch, catboost.CatBoostClassifier)
    ctx = context(n_rows=len(y), random_state=0, time_ordered=True)
    model = plugin.build({"learning_rate": 0.3}, ctx).fit(X, y, sample_weight=w)
    assert isinstance(record.calls[0][2]["eval_set"], tuple)
    assert 1 <= model.n_estimators_ < model.iterations
    assert np.isfinite(model.predict_proba(X)).all()


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_time_ordered_rows_hold_out_the_last_ones(monkeypatch, task):
    import catboost

    if task == "regression":
        X, y = make_regression(n_samples=600, n_features=5, noise=5.0, random_state=0)
    else:
        n_classes = {"binary": 2, "multiclass": 3}[task]
        X, y = make_classification(n_samples=600, n_features=5, n_informative=3, n_classes=n_classes, random_state=0)
    library_class = catboost.CatBoostRegressor if task == "regression" else catboost.CatBoostClassifier
    record = _RecordFits(monkeypatch, library_class)
    model = plugin.build({"learning_rate": 0.3}, context(task, n_rows=len(y), random_state=0, time_ordered=True))
    assert model.shuffle is False and clone(model).get_params()["shuffle"] is False
    model.fit(X, y)
    [(X_tr, _, kwargs)] = record.calls
    n_valid = round(plugin.VALIDATION_FRACTION * len(y))
    np.testing.assert_array_equal(X_tr, X[: len(y) - n_valid])
    np.testing.assert_array_equal(kwargs["eval_set"][0], X[len(y) - n_valid :])
    # nor does CatBoost permute the rows
    assert model.model_.get_params()["has_time"] is True
    # the seed plays no part in the split
    other_seed = clone(model).set_params(random_seed=7)
    np.testing.assert_array_equal(model._split(y)[1], other_seed._split(y)[1])
    # by default (rows not in time order) the held-out rows are a random share and CatBoost permutes as it likes
    default = plugin.build({"learning_rate": 0.3}, context(task, n_rows=len(y), random_state=0))
    assert default.shuffle is True
    assert "has_time" not in default.fit(X, y).model_.get_params()


@pytest.mark.skipif(not _fit_takes("sample_weight"), reason="the installed core's AutoML.fit takes no sample_weight")
def test_weighted_fit_end_to_end(tmp_path):
    X, y = mixed_table(400)
    w = np.where(y.to_numpy() == "yes", 1.0, 3.0)
    # one trial without a time budget: under a budget of seconds, a busy machine (or a cold worker) times it out
    model = AutoML(include=["catboost"], time_budget=None, max_trials=1, cv=3, n_jobs=1, verbose=0, random_state=0)
    model.fit(X, y, sample_weight=w)
    board = model.leaderboard_
    # the model is not left out of the weighted fit: its trial runs and finishes
    assert (board.loc[board["model"] == "catboost", "status"] == "ok").any()
    model.save(tmp_path / "model.automl")
    np.testing.assert_array_equal(automl.load(tmp_path / "model.automl").predict_proba(X), model.predict_proba(X))


@pytest.mark.skipif(not _fit_takes("time"), reason="the installed core's AutoML.fit takes no time")
def test_time_ordered_fit_end_to_end(tmp_path):
    X, y = mixed_table(700)
    X = X.drop(columns="city")  # numeric only: the model exports to ONNX
    model = AutoML(include=["catboost"], time_budget=None, max_trials=1, cv=3, n_jobs=1, verbose=0, random_state=0)
    model.fit(X, y, time=np.arange(len(y)))
    board = model.leaderboard_
    assert (board.loc[board["model"] == "catboost", "status"] == "ok").any()
    # the engine told build the rows are in time order
    assert model.best_pipeline_.steps[-1][1].shuffle is False
    # the new constructor parameter does not get in the way of the safe format or of the ONNX export
    model.save(tmp_path / "model.automl")
    np.testing.assert_array_equal(automl.load(tmp_path / "model.automl").predict_proba(X), model.predict_proba(X))
    assert model.to_onnx(tmp_path / "model.onnx", X).passed


def _awkward_numbers(
    model: CatBoostModelRegressor | CatBoostModelClassifier, X: np.ndarray, seed: int = 1
) -> np.ndarray:
    """Rows like the training rows, then rows on the model's borders and the float32 numbers either side of
    them, and missing, infinite and huge values everywhere."""
    from automl_catboost.lean import CatBoostTrees

    rng = np.random.default_rng(seed)
    rows = [X[:60]]
    trees = CatBoostTrees.of(model.model_)
    assert trees is not None
    inner = np.flatnonzero(trees.next[0::2] != np.arange(len(trees.feature)))
    for node in rng.choice(inner, size=min(120, len(inner)), replace=False):
        border = np.float32(trees.threshold[node])
        for value in (border, np.nextafter(border, np.float32(np.inf)), np.nextafter(border, np.float32(-np.inf))):
            row = X[rng.integers(0, len(X))].copy()
            row[trees.feature[node]] = value
            rows.append(row[None, :])
    odd = X[rng.integers(0, len(X), 60)].copy()
    odd[rng.random(odd.shape) < 0.3] = np.nan
    odd[rng.random(odd.shape) < 0.1] = np.inf
    odd[rng.random(odd.shape) < 0.1] = -1e30
    rows.append(odd)
    return np.vstack(rows)


def _counting_builds(monkeypatch: pytest.MonkeyPatch) -> list:
    from automl_catboost.lean import CatBoostTrees

    built, original = [], CatBoostTrees.of
    monkeypatch.setattr(CatBoostTrees, "of", lambda booster: built.append(original(booster)) or built[-1])
    return built


@pytest.mark.parametrize("task", ["regression", "binary"])
@pytest.mark.parametrize("depth", [2, 6])
@pytest.mark.parametrize("native", [True, False], ids=["lightgbm_walk", "numpy_walk"])
def test_a_model_on_numbers_walks_a_few_rows_to_catboosts_own_values(task, depth, native, monkeypatch):
    from automl_catboost.lean import CatBoostTrees

    if task == "regression":
        X, y = make_regression(n_samples=400, n_features=5, noise=5.0, random_state=0)
        model, method = CatBoostModelRegressor(iterations=60, depth=depth, random_seed=0), "predict"
    else:
        X, y = make_classification(n_samples=400, n_features=5, random_state=0)
        model, method = CatBoostModelClassifier(iterations=60, depth=depth, random_seed=0), "predict_proba"
    X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan  # missing values in training
    model.fit(X, y)
    rows = _awkward_numbers(model, np.nan_to_num(X))
    if not native:
        monkeypatch.setattr(CatBoostTrees, "_native", lambda self: None)
    built = _counting_builds(monkeypatch)
    lean = model.lean_op(method)
    own = getattr(model.model_, method)(rows)
    for start in range(0, len(rows), 5):  # a few rows: the walk
        np.testing.assert_array_equal(lean(rows[start : start + 5]), own[start : start + 5])
    np.testing.assert_array_equal(lean(rows), own)  # more: CatBoost's own
    assert len(built) == 1 and built[0] is not None  # built once, on the first few rows


@pytest.mark.parametrize("kind", ["categorical", "poisson", "multiclass"])
def test_models_the_walk_does_not_do_keep_catboosts_path(kind, monkeypatch):
    method = "predict"
    if kind == "multiclass":
        X, y = make_classification(n_samples=300, n_features=5, n_informative=3, n_classes=3, random_state=0)
        model = CatBoostModelClassifier(iterations=30, random_seed=0).fit(X, y)
        rows, method = X[:5], "predict_proba"
        own = model.model_.predict_proba(rows)
    elif kind == "categorical":
        X, y = mixed_table(240, "regression")
        model = plugin.build(plugin.DEFAULTS[0], context("regression", n_rows=len(X))).fit(as_category(X), y)
        framed = as_category(X.iloc[:5])
        framed["city"] = pd.Categorical(X["city"].iloc[:5], categories=model.cat_categories_[0])
        rows = framed.assign(city=framed["city"].cat.codes.where(framed["city"].cat.codes >= 0)).to_numpy(dtype=float)
        own = model.predict(framed)
    else:
        X, y = make_regression(n_samples=300, n_features=4, random_state=0)
        model = CatBoostModelRegressor(iterations=30, random_seed=0)
        model.fit(X, np.abs(y))
        params = {**model.model_.get_all_params(), "loss_function": "Poisson"}  # CatBoost predicts its exponent
        monkeypatch.setattr(model.model_, "get_all_params", lambda: params)
        rows, own = X[:5], None
    built = _counting_builds(monkeypatch)
    lean = model.lean_op(method)
    out = lean(rows)
    assert built == []
    if own is not None:
        np.testing.assert_array_equal(out, own)


def test_a_model_catboost_cannot_write_out_keeps_its_path_and_is_not_asked_again(monkeypatch):
    X, y = make_regression(n_samples=300, n_features=4, random_state=0)
    model = CatBoostModelRegressor(iterations=30, random_seed=0).fit(X, y)

    def refuse(*args, **kwargs):
        raise RuntimeError("cannot write the model")

    monkeypatch.setattr(model.model_, "save_model", refuse)
    built = _counting_builds(monkeypatch)
    lean = model.lean_op("predict")
    for start in range(0, 12, 3):
        np.testing.assert_array_equal(lean(X[start : start + 3]), model.model_.predict(X[start : start + 3]))
    assert built == [None]
