"""The fast prediction paths give exactly what scikit-learn's own calls give."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from automl.builtins.encoders import CategoryEncoder
from automl.builtins.preprocessors import _impute, _impute_scale, _onehot, _ordinal, _target
from automl.context import Context
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.columns import PrepareColumns, branches, few_rows_values
from automl.pipeline.ensemble import EnsembleClassifier, _plan

CTX = Context(task="binary", n_rows=240, n_features=6, random_state=0, n_threads=1)
CATEGORICAL = {
    "onehot": lambda: _onehot({"min_frequency": 3, "max_categories": 4}, CTX),
    "ordinal": lambda: _ordinal({}, CTX),
    "target": lambda: _target({"smooth": 5.0}, CTX),
    "native": lambda: CategoryEncoder(),
}
NUMERIC = {
    "impute": lambda: _impute({"strategy": "mean", "add_indicator": True}, CTX),
    "impute_scale": lambda: _impute_scale({"scaler": "quantile"}, CTX),
    "passthrough": lambda: "passthrough",
}


def _prepare(cls, numeric: str, categorical: str):
    ct = cls(
        [
            ("categorical", CATEGORICAL[categorical](), make_column_selector(dtype_exclude="number")),
            ("numeric", NUMERIC[numeric](), make_column_selector(dtype_include="number")),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
        sparse_threshold=0.0,
    )
    return ct.set_output(transform="pandas") if categorical == "native" else ct


def _assert_same(a, b) -> None:
    assert type(a) is type(b)
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("categorical", sorted(CATEGORICAL))
@pytest.mark.parametrize("numeric", sorted(NUMERIC))
def test_prepare_columns_transforms_as_column_transformer_does(numeric, categorical):
    X, y = mixed_table(240, seed=1)
    clean = TableCleaner().fit(X)
    Xc = clean.transform(X)
    ours = _prepare(PrepareColumns, numeric, categorical).fit(Xc, y)
    theirs = _prepare(ColumnTransformer, numeric, categorical).fit(Xc, y)
    assert branches(ours) is not None
    rows = clean.transform(mixed_table(50, seed=2)[0])
    for batch in (rows, rows.iloc[[7]], rows.iloc[::-1]):
        _assert_same(ours.transform(batch), theirs.transform(batch))


def test_prepare_columns_leaves_an_array_or_missing_columns_to_column_transformer():
    X, y = mixed_table(120)
    Xc = TableCleaner().fit_transform(X)
    ct = _prepare(PrepareColumns, "impute", "onehot").fit(Xc, y)
    with pytest.raises(ValueError, match="columns are missing"):
        ct.transform(Xc.drop(columns=["num"]))


def test_a_cleaner_returns_its_columns_in_order_whatever_the_input_order():
    X, _ = mixed_table(60)
    X["when"] = pd.date_range("2020-01-01", periods=60, freq="37h")
    clean = TableCleaner().fit(X)
    out = clean.transform(X[X.columns[::-1]])
    assert list(out.columns) == list(clean.get_feature_names_out())
    pd.testing.assert_frame_equal(out, clean.transform(X))
    assert out["num"].dtype == np.float64 and out["city"].dtype == object


def _member(numeric: str, categorical: str, C: float, X, y) -> Pipeline:
    return Pipeline(
        [
            ("clean", TableCleaner()),
            ("prepare", _prepare(PrepareColumns, numeric, categorical)),
            ("model", LogisticRegression(C=C)),
        ]
    ).fit(X, y)


def test_ensemble_members_share_identical_steps_and_predict_as_their_own_pipelines():
    X, y = mixed_table(240)
    members = [
        _member("impute", "onehot", 1.0, X, y),
        _member("impute", "ordinal", 0.5, X, y),
        _member("impute_scale", "onehot", 2.0, X, y),
    ]
    ens = EnsembleClassifier.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.5, 0.3, 0.2])
    plan = _plan(ens.estimators_)
    cleaners = {stages[0].key for stages, _ in plan}
    assert len(cleaners) == 1  # fitted on the same rows: one cleaning for all
    branch_keys = [k for stages, _ in plan for k, _, _ in stages[1].branches]
    assert len(set(branch_keys)) == 4  # the numeric "impute" branch is shared by the first two
    Xt = mixed_table(40, seed=3)[0]
    expected = sum(w * m.predict_proba(Xt) for w, m in zip([0.5, 0.3, 0.2], members, strict=True))
    np.testing.assert_array_equal(ens.predict_proba(Xt), expected)
    np.testing.assert_array_equal(ens.predict_proba(Xt.iloc[[5]]), expected[[5]])
    again = pickle.loads(pickle.dumps(ens))
    assert "_plan_cache" not in again.__dict__
    np.testing.assert_array_equal(again.predict_proba(Xt), expected)


def test_prepare_columns_fitted_again_transforms_by_its_new_fit():
    X, y = mixed_table(120)
    Xc = TableCleaner().fit_transform(X)
    ct = _prepare(PrepareColumns, "impute", "onehot").fit(Xc, y)
    ct.transform(Xc)
    fewer = Xc.drop(columns=["num_nan", "obj"])
    ct.fit(fewer, y)
    _assert_same(ct.transform(fewer), _prepare(ColumnTransformer, "impute", "onehot").fit(fewer, y).transform(fewer))


@pytest.mark.parametrize("rows", [[0], [2, 0, 1], []])
def test_few_rows_values_are_what_pandas_gives_for_the_selection(rows):
    X = pd.DataFrame(
        {
            "a": [1.5, np.nan, -0.0],
            "s": ["x", None, "z"],
            "b": [np.inf, 2.0, 3.0],
            "i": [1, 2, 3],
            "t": [None, "y", "w"],
            "u": ["p", "q", None],
        }
    ).astype({"s": object, "t": object})
    X = X.iloc[rows]
    selections = [["b", "a"], ["t", "s"], ["a"], ["a", "s"], ["i"], ["a", "i"], ["u"], ["s", "u"]]
    got = few_rows_values(X, [X.columns.get_indexer(labels) for labels in selections])
    for labels, values in zip(selections, got, strict=True):
        if set(X[labels].dtypes) not in ({np.dtype(np.float64)}, {np.dtype(object)}):
            assert values is None  # left to pandas: mixed, integer or string-dtype columns
            continue
        expected = X[labels].to_numpy()
        assert values.dtype == expected.dtype and values.shape == expected.shape
        assert values.tolist() == expected.tolist() or np.array_equal(values, expected, equal_nan=True)
        assert np.array_equal(np.signbit(values), np.signbit(expected)) if values.dtype == np.float64 else True


def test_prepare_columns_reads_few_rows_by_their_own_column_order_each_call():
    X, y = mixed_table(120)
    Xc = TableCleaner().fit_transform(X)
    ours = _prepare(PrepareColumns, "impute", "onehot").fit(Xc, y)
    theirs = _prepare(ColumnTransformer, "impute", "onehot").fit(Xc, y)
    # the same kinds at the same places, other columns: positions read for Xc would give wrong values
    shuffled = Xc[["num_nan", "num", "color", "city", "obj", "flag"]].assign(extra=1.0)
    assert list(Xc.columns) == ["num", "num_nan", "city", "color", "obj", "flag"]
    for batch in (Xc.iloc[[3, 4]], shuffled.iloc[[3, 4]], Xc.iloc[[5]], shuffled.iloc[[9]]):
        _assert_same(ours.transform(batch), theirs.transform(batch))


def test_prepare_columns_leaves_duplicate_column_names_to_column_transformer():
    X, y = mixed_table(120)
    Xc = TableCleaner().fit_transform(X)
    ours = _prepare(PrepareColumns, "impute", "onehot").fit(Xc, y)
    doubled = pd.concat([Xc, Xc[["num"]]], axis=1).iloc[[1]]
    with pytest.raises(Exception) as theirs:
        _prepare(ColumnTransformer, "impute", "onehot").fit(Xc, y).transform(doubled)
    with pytest.raises(type(theirs.value)):
        ours.transform(doubled)
