"""Lean prediction gives, element for element, what the pipelines' own calls give."""

from __future__ import annotations

import copy
import pickle
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder
from test_fast_predict import CATEGORICAL, NUMERIC, _prepare

from automl.builtins.lightgbm import LGBMEarlyStoppingClassifier
from automl.lean import SPLIT_ROWS, CodeLookup, TableCodes, split_rows
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.columns import PrepareColumns
from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor
from automl.pipeline.lean import transform_op
from automl.pipeline.lean_linear import linear_op
from automl.pipeline.lean_predict import LeanPipeline, lean_member
from automl.pipeline.lean_trees import _StackedForest, _StackedTrees, forest_op, hist_gradient_boosting_op


def _new_rows() -> pd.DataFrame:
    """Rows the fit never saw: unknown categories, missing values everywhere, a row like the training rows."""
    X, _ = mixed_table(60, seed=7)
    odd = X.iloc[:3].copy()
    odd["city"] = pd.array(["tokyo", None, "rome"], dtype="str")
    odd["obj"] = pd.Series(["zzz", None, "a"], dtype=object)
    odd["num_nan"] = [np.nan, np.nan, 0.5]
    odd["color"] = pd.Categorical([None, "red", "blue"])
    return pd.concat([X, odd], ignore_index=True)


def _batches(rows: pd.DataFrame) -> list[pd.DataFrame]:
    """The rows together (more than the one-by-one lookup takes), reversed, and one at a time."""
    return [rows, rows.iloc[::-1], *(rows.iloc[[i]] for i in range(len(rows) - 4, len(rows)))]


def _assert_identical(a, b) -> None:
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("categorical", sorted(set(CATEGORICAL) - {"native"}))
@pytest.mark.parametrize("numeric", sorted(NUMERIC))
def test_a_branch_in_lean_form_transforms_as_the_branch_does(numeric, categorical):
    X, y = mixed_table(240, seed=1)
    clean = TableCleaner().fit(X)
    prepare = _prepare(PrepareColumns, numeric, categorical).fit(clean.transform(X), y)
    floats, strings = clean.block_columns()
    for rows in _batches(_new_rows()):
        blocks = clean.blocks(rows)
        frame = clean.transform(rows)
        for name, trans, labels in prepare._branches():
            op = transform_op(trans)
            assert op is not None, name
            block = 0 if labels[0] in floats else 1
            columns = [(floats if block == 0 else strings).index(c) for c in labels]
            _assert_identical(op(blocks[block][:, columns]), trans.transform(frame[labels]))


MODELS = {
    "logistic": lambda: LogisticRegression(C=0.7),
    "naive_bayes": lambda: GaussianNB(),
    "forest": lambda: RandomForestClassifier(n_estimators=15, random_state=0),
    "extra_trees": lambda: ExtraTreesClassifier(n_estimators=15, random_state=0),
    "lightgbm": lambda: lgb.LGBMClassifier(n_estimators=20, verbose=-1, n_jobs=1),
    "lightgbm_early_stopping": lambda: LGBMEarlyStoppingClassifier(
        lgb.LGBMClassifier(n_estimators=40, verbose=-1, n_jobs=1), random_state=0
    ),
}


def _pipeline(model, numeric: str, categorical: str, X, y) -> Pipeline:
    steps = [("clean", TableCleaner()), ("prepare", _prepare(PrepareColumns, numeric, categorical)), ("model", model)]
    return Pipeline(steps).fit(X, y)


@pytest.mark.parametrize(
    "encoder",
    [
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-2),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    ],
    ids=["ordinal", "onehot"],
)
def test_an_encoder_fitted_with_missing_values_tells_missing_from_unseen_in_lean_form(encoder):
    rng = np.random.default_rng(2)
    X = rng.choice(np.array(["a", "b", "c", np.nan], dtype=object), size=(200, 3))
    encoder.fit(X)  # NaN is one of the categories of every column
    op = transform_op(encoder)
    assert op is not None
    rows = rng.choice(np.array(["a", "c", "zz", np.nan, "b"], dtype=object), size=(60, 3))  # "zz" unseen
    for batch in [rows, *(rows[i : i + 1] for i in range(12))]:
        _assert_identical(op(batch), encoder.transform(batch))


@pytest.mark.parametrize("model", sorted(MODELS))
@pytest.mark.parametrize(("numeric", "categorical"), [("impute", "onehot"), ("impute_scale", "target")])
def test_a_pipeline_in_lean_form_predicts_as_the_pipeline_does(model, numeric, categorical):
    X, y = mixed_table(400, seed=2)
    pipe = _pipeline(MODELS[model](), numeric, categorical, X, y)
    lean = lean_member(pipe, "predict_proba")
    assert lean is not None
    for rows in _batches(_new_rows()):
        _assert_identical(lean.run(rows, {}), pipe.predict_proba(rows))


@pytest.mark.parametrize("model", ["lightgbm", "lightgbm_early_stopping"])
def test_lightgbm_on_native_categories_reads_the_codes_of_the_lean_encoder(model):
    X, y = mixed_table(400, seed=3)
    pipe = _pipeline(MODELS[model](), "passthrough", "native", X, y)
    lean = lean_member(pipe, "predict_proba")
    assert lean is not None
    for rows in _batches(_new_rows()):
        _assert_identical(lean.run(rows, {}), pipe.predict_proba(rows))


class _ReadsFrames(ClassifierMixin, BaseEstimator):
    """A model that needs its DataFrame: no lean form."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        share = X.iloc[:, 0].cat.codes.to_numpy() % 2 if hasattr(X, "iloc") else np.full(len(X), np.nan)
        return np.column_stack([share, 1 - share]).astype(float)


def test_a_model_given_a_dataframe_has_no_lean_form_unless_it_reads_the_codes():
    X, y = mixed_table(200, seed=4)
    assert lean_member(_pipeline(_ReadsFrames(), "passthrough", "native", X, y), "predict_proba") is None


def _multiclass(y: pd.Series, X: pd.DataFrame) -> pd.Series:
    return y.where(X["num"] < 0.8, "maybe")


@pytest.mark.parametrize("categorical", ["native", "onehot"])
@pytest.mark.parametrize("classes", ["binary", "multiclass"])
def test_hist_gradient_boosting_in_lean_form_predicts_as_the_pipeline_does(categorical, classes):
    X, y = mixed_table(400, seed=8)
    y = _multiclass(y, X) if classes == "multiclass" else y
    hgb = HistGradientBoostingClassifier(max_iter=30, categorical_features="from_dtype", random_state=0)
    pipe = _pipeline(hgb, "impute" if categorical == "onehot" else "passthrough", categorical, X, y)
    lean = lean_member(pipe, "predict_proba")
    assert lean is not None
    for rows in _batches(_new_rows()):  # all rows: tree by tree; a few: the trees walked together
        _assert_identical(lean.run(rows, {}), pipe.predict_proba(rows))


def test_hist_gradient_boosting_regressor_walks_missing_values_as_scikit_learn_does():
    X, _ = mixed_table(300, seed=9)
    y = np.nan_to_num(X["num_nan"].to_numpy(), nan=3.0) + X["num"]
    pipe = _pipeline(HistGradientBoostingRegressor(max_iter=40, random_state=0), "passthrough", "ordinal", X, y)
    lean = lean_member(pipe, "predict")
    for rows in _batches(_new_rows()):
        _assert_identical(lean.run(rows, {}), pipe.predict(rows))


def test_hist_gradient_boosting_walks_any_category_code_as_scikit_learn_does():
    rng = np.random.default_rng(4)
    X = np.column_stack([rng.integers(0, 12, 500), rng.normal(size=500)]).astype(float)
    y = (X[:, 0] % 3) + X[:, 1] + rng.normal(scale=0.3, size=500)
    model = HistGradientBoostingRegressor(max_iter=30, categorical_features=[0], random_state=0).fit(X, y)
    predict = hist_gradient_boosting_op(model, "predict", frame=True)  # reads the codes its own encoder gives
    rows = np.column_stack([rng.normal(size=300), rng.normal(size=300)])
    # seen, unseen, negative, fractional and missing codes
    rows[:, 0] = rng.choice([0.0, 3.0, 11.0, 12.0, 200.0, 255.0, -1.0, -0.5, 2.7, np.nan], 300)
    tree_by_tree = predict(rows)  # many rows: scikit-learn's own predictors, tree after tree
    for start in range(0, 300, 5):  # a few: the trees walked together
        _assert_identical(predict(rows[start : start + 5]), tree_by_tree[start : start + 5])


@pytest.mark.parametrize("forest", [RandomForestRegressor, ExtraTreesRegressor, Ridge, lgb.LGBMRegressor])
def test_regressors_in_lean_form_predict_as_the_pipeline_does(forest):
    X, _ = mixed_table(300, seed=5)
    y = X["num"] * 2.0 + np.arange(300) % 7
    model = forest() if forest is Ridge else forest(n_estimators=12, random_state=0)
    if forest is lgb.LGBMRegressor:
        model.set_params(verbose=-1)
    pipe = _pipeline(model, "impute", "ordinal", X, y)
    lean = lean_member(pipe, "predict")
    for rows in _batches(_new_rows()):
        _assert_identical(lean.run(rows, {}), pipe.predict(rows))
    ens = EnsembleRegressor.from_fitted([("a", pipe), ("b", _pipeline(Ridge(), "impute", "onehot", X, y))], [2, 1])
    expected = (2 * pipe.predict(_new_rows()) + ens.estimators_[1].predict(_new_rows())) / 3
    for _ in range(2):
        np.testing.assert_allclose(ens.predict(_new_rows()), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("model", "classes"),
    [
        (LogisticRegression(C=0.5), 2),
        (LogisticRegression(C=0.5), 3),
        (Ridge(alpha=2.0), 0),
        (ElasticNet(alpha=0.01), 0),
        (GaussianNB(), 2),
        (GaussianNB(var_smoothing=1e-3), 4),
    ],
    ids=["logistic-binary", "logistic-multiclass", "ridge", "elastic_net", "naive-bayes-binary", "naive-bayes-4"],
)
def test_linear_models_in_lean_form_are_their_own_arithmetic(model, classes):
    rng = np.random.default_rng(3)
    scales = np.array([1, 10, 0.1, 1, 1, 100])
    X = rng.normal(size=(300, 6)) * scales
    signal = (X / scales) @ rng.normal(size=6)
    y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, classes + 1)[1:-1])) if classes else signal
    model.fit(X, y)
    method = "predict_proba" if classes else "predict"
    op = linear_op(model, method)
    assert op is not None and getattr(op, "__self__", None) is not model  # not the model's own checked method
    X_new = rng.normal(size=(200, 6)) * scales * 3  # wider than the training rows
    for rows in (X_new, X_new[:1], X_new[5:9]):
        _assert_identical(op(rows), getattr(model, method)(rows))
    assert linear_op(model, "predict" if classes else "predict_proba") is None  # the other method: none

    class Changed(type(model)):
        pass

    assert linear_op(Changed(**model.get_params()).fit(X, y), method) is None  # a subclass may compute differently


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_lightgbm_answers_one_row_through_its_fast_single_row_predictor(task):
    import threading

    from automl.lean import lightgbm_op, single_row_predictor

    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 7))
    X[rng.random(X.shape) < 0.1] = np.nan
    signal = np.nan_to_num(X[:, 0]) - np.nan_to_num(X[:, 1]) + rng.normal(scale=0.3, size=400)
    if task == "regression":
        model = lgb.LGBMRegressor(n_estimators=400, learning_rate=0.3, verbose=-1, n_jobs=2)
        y, method = signal, "predict"
    else:
        model = lgb.LGBMClassifier(n_estimators=400, learning_rate=0.3, verbose=-1, n_jobs=2)
        y = signal > 0 if task == "binary" else np.digitize(signal, [-0.5, 0.5])
        method = "predict_proba"
    # early stopping: Booster.predict uses the best iteration, so must the single-row predictor
    model.fit(X[:300], y[:300], eval_set=[(X[300:], y[300:])], callbacks=[lgb.early_stopping(5, verbose=False)])
    assert 0 < model.booster_.best_iteration < 400
    assert single_row_predictor(model.booster_) is not None
    op = lightgbm_op(model, method)
    rows = [X[[i]] for i in range(40)] + [np.full((1, 7), np.nan), np.array([[1e300, -1e300, 0, 0, 0, 0, 0.5]])]
    for row in rows:
        _assert_identical(op(row), getattr(model, method)(row))
    _assert_identical(op(X), getattr(model, method)(X))  # many rows: Booster.predict, as before
    expected = [getattr(model, method)(r) for r in rows]
    wrong: list[int] = []

    def serve() -> None:  # as a server's threads do: one predictor, calls at once
        for _ in range(20):
            wrong.extend(i for i, (r, e) in enumerate(zip(rows, expected, strict=True)) if not np.array_equal(op(r), e))

    threads = [threading.Thread(target=serve) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(single_row_predictor(model.booster_))


@pytest.mark.parametrize("forest", [RandomForestClassifier, ExtraTreesClassifier, RandomForestRegressor])
def test_a_forest_walked_whole_on_a_few_rows_predicts_as_scikit_learn_does(forest):
    # trained on missing values, so that nodes send them left or right; three
    # classes; rows one at a time and a few together, with missing values and
    # values exactly on the thresholds
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    X[rng.random(X.shape) < 0.15] = np.nan
    y = (np.nan_to_num(X[:, 0]) + np.isnan(X[:, 1]) > 0.3).astype(int) + (np.nan_to_num(X[:, 2]) > 1)
    model = forest(n_estimators=25, random_state=0).fit(X, y)
    method = "predict" if forest is RandomForestRegressor else "predict_proba"
    op = forest_op(model, method)
    tree = model.estimators_[0].tree_
    on_threshold = X[:8].copy()
    on_threshold[:, tree.feature[0]] = tree.threshold[0]
    for rows in [X[:1], X[5:6], X[:20], on_threshold, np.full((2, 5), np.nan, dtype=np.float32)]:
        _assert_identical(op(rows), getattr(model, method)(rows))
    _assert_identical(op(X), getattr(model, method)(X))  # many rows: tree by tree


@pytest.mark.parametrize("kind", ["forest", "hist_gradient_boosting"])
def test_one_row_decided_at_every_node_reaches_the_leaves_of_the_level_walk(kind):
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 6, 400), rng.normal(size=(400, 3))]).astype(float)
    y = (X[:, 0] % 3) + X[:, 1] + rng.normal(scale=0.2, size=400)
    X[rng.random(X.shape) < 0.1] = np.nan
    if kind == "forest":
        model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X.astype(np.float32), y)
        stacked, dtype = _StackedForest([e.tree_ for e in model.estimators_], 1), np.float32
    else:
        model = HistGradientBoostingRegressor(max_iter=20, categorical_features=[0], random_state=0).fit(X, y)
        stacked = _StackedTrees.of(model._predictors, *model._bin_mapper.make_known_categories_bitsets())
        dtype = np.float64
    rows = X[:120].copy()
    rows[:12, 0] = [-1.0, 7.0, 2.5, np.nan, 255.0, 0.0, 5.0, -0.5, 3.0, 1.0, np.nan, 4.0]
    stacked.__dict__["_native_leaves"] = False  # the numpy walks (LightGBM's: tests/test_lean_native.py)
    level = copy.copy(stacked)
    level.__dict__["_whole"] = False  # the level-by-level walk
    stacked.__dict__["_whole"] = True  # every node decided at once
    for row in rows.astype(dtype):
        np.testing.assert_array_equal(stacked.leaves(row[None, :]), level.leaves(row[None, :]))


class _WrongLean(ClassifierMixin, BaseEstimator):
    """A model whose lean form is wrong: the ensemble must notice on its first call and not use it."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)

    def lean_op(self, method):
        return lambda X: np.full((len(X), 2), 0.25)


class _BrokenLean(_WrongLean):
    """A model whose lean form cannot even be built (a plugin's bug, or a library's internals that moved)."""

    def lean_op(self, method):
        raise AttributeError("an internal attribute moved")


def test_a_lean_form_that_cannot_be_built_leaves_the_pipeline_its_own_path():
    X, y = mixed_table(200, seed=2)
    members = [
        _pipeline(_BrokenLean(), "impute", "onehot", X, y),
        _pipeline(LogisticRegression(), "impute", "onehot", X, y),
    ]
    assert lean_member(members[0], "predict_proba") is None
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.5, 0.5])
    rows = _new_rows()
    _assert_identical(LeanPipeline(members[0]).predict_proba(rows), members[0].predict_proba(rows))
    expected = 0.5 * members[0].predict_proba(rows) + 0.5 * members[1].predict_proba(rows)
    for batch in (rows, rows.iloc[[0]], rows.iloc[[3]]):
        np.testing.assert_allclose(ens.predict_proba(batch), expected[batch.index], rtol=0, atol=1e-15)


def test_an_ensemble_uses_a_lean_form_only_where_it_gives_the_members_own_output():
    X, y = mixed_table(300, seed=6)
    members = [
        _pipeline(LogisticRegression(), "impute", "onehot", X, y),
        _pipeline(_WrongLean(), "impute", "onehot", X, y),
        _pipeline(lgb.LGBMClassifier(n_estimators=10, verbose=-1), "passthrough", "native", X, y),
        _pipeline(_ReadsFrames(), "passthrough", "native", X, y),
    ]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.4, 0.1, 0.3, 0.2])
    rows = _new_rows()
    expected = sum(w * m.predict_proba(rows) for w, m in zip([0.4, 0.1, 0.3, 0.2], members, strict=True))
    first = ens.predict_proba(rows)  # finds and checks the lean forms
    lean = ens.__dict__["_lean_cache"]["predict_proba"]
    assert [m is not None for m in lean] == [True, False, True, False]
    for batch in _batches(rows):
        np.testing.assert_allclose(ens.predict_proba(batch), expected[batch.index], rtol=0, atol=1e-15)
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-15)
    again = pickle.loads(pickle.dumps(ens))
    assert "_lean_cache" not in again.__dict__
    np.testing.assert_array_equal(again.predict_proba(rows), ens.predict_proba(rows))


@pytest.mark.parametrize("first_rows", [1, 5, 80])
def test_members_sharing_an_encoding_all_keep_their_lean_forms(first_rows):
    # a forest and a logistic regression whose one-hot branches are identical (shared at predict time) and whose
    # numeric branches differ: the regression's arithmetic must see its input laid out as its own pipeline gives it
    X, y = mixed_table(300, seed=6)
    members = [
        _pipeline(RandomForestClassifier(n_estimators=10, random_state=0), "impute", "onehot", X, y),
        _pipeline(LogisticRegression(), "impute_scale", "onehot", X, y),
        _pipeline(GaussianNB(), "impute_scale", "onehot", X, y),
    ]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.4, 0.3, 0.3])
    rows = _new_rows()
    ens.predict_proba(rows.iloc[:first_rows])  # finds and checks the lean forms
    assert all(form is not None for form in ens.__dict__["_lean_cache"]["predict_proba"])


def test_a_one_step_pipeline_answers_through_its_step_as_the_pipeline_does():
    X, y = mixed_table(200, seed=4)
    members = [_pipeline(model, "impute", "onehot", X, y) for model in (LogisticRegression(), GaussianNB())]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.5, 0.5])
    pipe = Pipeline([("ensemble", ens)])
    lean = LeanPipeline(pipe)
    rows = _new_rows()
    for batch in [rows, rows.iloc[:1], rows.iloc[[-1]]]:
        _assert_identical(lean.predict_proba(batch), pipe.predict_proba(batch))
    with pytest.raises(ValueError, match="column"):  # the step's own error for a bad table
        lean.predict_proba(rows.drop(columns=rows.columns[0]))


def test_a_bad_row_gets_the_pipelines_own_error_in_lean_form():
    X, y = mixed_table(200)
    ens = EnsembleClassifier.from_fitted([("m", _pipeline(LogisticRegression(), "impute", "onehot", X, y))], [1.0])
    ens.predict_proba(X.iloc[:5])
    with pytest.raises(Exception, match="city"):
        ens.predict_proba(X.drop(columns=["city"]))
    bad = X.iloc[:2].copy()
    bad["num"] = ["x", "y"]
    with pytest.raises(Exception, match="num"):
        ens.predict_proba(bad)


def test_the_cleaner_reads_a_few_rows_at_once_as_it_reads_many_column_by_column():
    X, _ = mixed_table(120, seed=10)
    X["count"] = np.arange(120, dtype=np.int64) * 7
    X["small"] = np.linspace(-1, 1, 120).astype(np.float32)
    X.loc[3, "num"] = np.inf
    X.loc[4, "num_nan"] = -np.inf
    clean = TableCleaner().fit(X.replace([np.inf, -np.inf], 0.0))
    with pytest.warns(Warning, match="num"):
        many = clean.blocks(X)  # more rows than are read at once: column by column
    for rows in (slice(0, 8), slice(100, 101), slice(2, 6)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            few = clean.blocks(X.iloc[rows])
        _assert_identical(few[0], many[0][rows])
        assert few[1].dtype == object
        missing = pd.isna(few[1])
        np.testing.assert_array_equal(missing, pd.isna(many[1][rows]))
        np.testing.assert_array_equal(few[1][~missing], many[1][rows][~missing])
        assert [type(v) for v in few[1].ravel()] == [type(v) for v in many[1][rows].ravel()]
    with pytest.warns(Warning, match="'num'"):
        clean.blocks(X.iloc[[3]])
    nullable = X.iloc[:4].astype({"count": "Int64"})
    _assert_identical(clean.blocks(nullable)[0], many[0][:4])  # read column by column


_CELLS = st.one_of(
    st.sampled_from(["a", "b", "ä", "", " a", "A", "None", "nan", "1"]),
    st.text(max_size=3),
    st.sampled_from([None, np.nan, pd.NA, pd.NaT, 1, 1.0, True, b"a", np.str_("b")]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["a", "b", "ä", "", " a", "1", "None"]), unique=True),
    st.lists(st.lists(_CELLS, min_size=2, max_size=2), max_size=80),
)
def test_codes_are_what_a_pandas_index_finds(values, rows):
    X = np.empty((len(rows), 2), dtype=object)
    X[:] = rows if rows else X
    # pandas' lookup, which the dict replaced: -1 for anything outside the list, missing values too
    expected = np.column_stack([pd.Index(values, dtype=object).get_indexer(X[:, j]) for j in range(2)])
    assert np.array_equal(CodeLookup(values).codes(X[:, 0]), expected[:, 0])
    assert np.array_equal(TableCodes([values, values]).codes(X), expected.reshape(len(rows), 2))


@pytest.fixture
def two_cores(monkeypatch):
    """OpenMP's count of cores is two, whatever the machine has."""
    monkeypatch.setattr("sklearn.utils._openmp_helpers._openmp_effective_n_threads", lambda: 2)


def test_a_batch_is_split_between_threads_and_each_row_keeps_its_answer(two_cores):
    import threading

    calls = []

    def op(part):
        calls.append((threading.current_thread().name, len(part)))
        return part * 2.0

    X = np.arange(2 * SPLIT_ROWS + 1, dtype=float)[:, None]
    _assert_identical(split_rows(op, X), X * 2.0)
    assert sorted(n for _, n in calls) == [SPLIT_ROWS, SPLIT_ROWS + 1]
    assert all(name.startswith("automl-rows") for name, _ in calls)
    calls.clear()
    _assert_identical(split_rows(op, X[:-2]), X[:-2] * 2.0)  # too few rows for two threads: one call, here
    assert calls == [(threading.current_thread().name, 2 * SPLIT_ROWS - 1)]


def test_a_thread_limit_keeps_a_batch_in_one_call():
    from threadpoolctl import threadpool_limits

    calls = []
    X = np.zeros((4 * SPLIT_ROWS, 1))
    with threadpool_limits(limits=1):  # as in a search's worker
        split_rows(lambda part: calls.append(len(part)) or part, X)
    assert calls == [len(X)]


@pytest.mark.parametrize("forest", [RandomForestClassifier, ExtraTreesRegressor])
def test_a_forest_split_between_threads_predicts_as_scikit_learn_does(forest, two_cores):
    X, _ = mixed_table(2 * SPLIT_ROWS + 100, seed=3)
    X = X[["num", "num_nan"]].fillna(0.0).to_numpy()
    y = (X[:, 0] > 0).astype(int) if forest is RandomForestClassifier else X[:, 0] * 3.0
    model = forest(n_estimators=15, random_state=0).fit(X, y)
    method = "predict_proba" if forest is RandomForestClassifier else "predict"
    _assert_identical(forest_op(model, method)(X), getattr(model, method)(X))


def test_equal_category_lists_share_one_lookup_table():
    a, b = TableCodes.shared([["a", "b"], ["x"]]), TableCodes.shared([["a", "b"], ["x"]])
    assert a is b
    assert TableCodes.shared([["b", "a"], ["x"]]) is not a


def test_members_encoding_the_same_columns_look_each_call_up_once(monkeypatch):
    # LightGBM members whose encoders differ only in a setting that changes no
    # category, a one-hot and an ordinal encoder after the missing-value
    # imputer (which know one category more, the imputer's): one lookup of the
    # string columns a call for each list of categories, and every answer the
    # pipelines' own
    from automl.lean import CodesOp

    X, y = mixed_table(240, seed=3)
    boosted = [
        _pipeline(lgb.LGBMClassifier(n_estimators=20, random_state=k, verbose=-1), "passthrough", "native", X, y)
        for k in range(2)
    ]
    for member, min_frequency in zip(boosted, (1, 2), strict=True):
        member.steps[1][1].transformers_[0][1].min_frequency = min_frequency  # pickles apart, same categories
    members = [
        *boosted,
        _pipeline(LogisticRegression(C=0.7), "impute_scale", "onehot", X, y),
        _pipeline(RandomForestClassifier(n_estimators=10, random_state=0), "impute", "ordinal", X, y),
    ]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.4, 0.3, 0.2, 0.1])
    fresh = pickle.dumps(ens)
    rows = _new_rows()
    ens.predict_proba(rows)  # finds the lean forms
    lean = ens.__dict__["_lean_cache"]["predict_proba"]
    assert all(form is not None for form in lean)
    tables = {id(b.op.codes_table) for form in lean for b in form.branches if isinstance(b.op, CodesOp)}
    assert len(tables) == 2  # the native categories; those with the imputer's
    _assert_lookups_a_call(monkeypatch, ens, fresh, rows, 2)


def _assert_lookups_a_call(monkeypatch, ens, fresh: bytes, rows: pd.DataFrame, expected: int) -> None:
    """Each batch of ``rows`` looks the strings up ``expected`` times, and gets a fresh copy's answers."""
    from automl.lean import TableCodes as Codes

    lookups = []
    real = Codes.codes
    monkeypatch.setattr(Codes, "codes", lambda self, X: lookups.append(X.shape) or real(self, X))
    for batch in _batches(rows):
        lookups.clear()
        got = ens.predict_proba(batch)
        assert len(lookups) == expected, lookups
        _assert_identical(got, pickle.loads(fresh).predict_proba(batch))


def test_steps_after_an_encoder_and_a_most_frequent_fill_start_from_the_codes():
    # [fill, encoder, scaler] with any fill that writes one string a column: a CodesOp whose
    # answers are the pipeline's, on rows with missing, known and unseen values
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import StandardScaler, TargetEncoder

    from automl.lean import CodesOp

    rng = np.random.default_rng(4)
    X = rng.choice(np.array(["a", "b", "b", "c", np.nan], dtype=object), size=(300, 3))
    y = (X[:, 0] == "b").astype(int) + rng.integers(0, 2, 300)
    rows = rng.choice(np.array(["a", "c", "zz", np.nan, "b"], dtype=object), size=(80, 3))  # "zz" unseen
    for fill in ("most_frequent", "constant"):
        for encoder in (TargetEncoder(random_state=0), OneHotEncoder(handle_unknown="ignore", sparse_output=False)):
            imputer = SimpleImputer(strategy=fill, fill_value="__missing__", keep_empty_features=True)
            pipe = Pipeline([("fill", imputer), ("encode", encoder), ("scale", StandardScaler())]).fit(X, y)
            op = transform_op(pipe)
            assert isinstance(op, CodesOp), (fill, encoder)
            for batch in [rows, *(rows[i : i + 1] for i in range(15))]:
                _assert_identical(op(batch), pipe.transform(batch))


def test_target_encoded_and_one_hot_members_look_each_call_up_once(monkeypatch):
    # the builtin target encoding is [missing as a category, TargetEncoder, StandardScaler]: its
    # codes are those the one-hot member finds, once a call
    X, y = mixed_table(240, seed=5)
    members = [
        _pipeline(LogisticRegression(C=0.7), "impute_scale", "onehot", X, y),
        _pipeline(RandomForestClassifier(n_estimators=10, random_state=0), "impute", "target", X, y),
    ]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.6, 0.4])
    fresh = pickle.dumps(ens)
    rows = _new_rows()
    ens.predict_proba(rows)  # finds the lean forms
    _assert_lookups_a_call(monkeypatch, ens, fresh, rows, 1)
