"""The numpy walk of XGBoost's trees gives XGBoost's own numbers, element for element, on every kind of row."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from automl_xgboost import XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor, lean
from automl_xgboost.lean import XGBoostTrees, booster_op

OBJECTIVES = {"regression": "reg:squarederror", "binary": "binary:logistic", "multiclass": "multi:softprob"}


def table(task: str, n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with missing values, and two categorical columns (one of many levels), a target depending on all."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n), "c": rng.integers(0, 5, n).astype(float)})
    X.loc[rng.random(n) < 0.15, "a"] = np.nan
    X["few"] = pd.Categorical(rng.choice(list("pqrs"), n))
    X["many"] = pd.Categorical(rng.choice([f"v{i}" for i in range(70)], n))
    score = X["a"].fillna(0) + X["b"] + X["few"].cat.codes * 0.5 + (X["many"].cat.codes % 7) * 0.3
    if task == "regression":
        return X, score.to_numpy() + rng.normal(size=n)
    edges = np.quantile(score, [0.5] if task == "binary" else [0.33, 0.66])
    return X, np.digitize(score, edges)


def codes(X: pd.DataFrame) -> np.ndarray:
    """The float array the lean pipeline gives the model: category codes, NaN for missing."""
    cols = [X[c].cat.codes.where(X[c].cat.codes >= 0).astype(float) if X[c].dtype == "category" else X[c] for c in X]
    return np.column_stack(cols).astype(np.float64)


def awkward_rows(model: xgb.XGBModel, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows that meet every rule: values equal to split thresholds and their float32 neighbours, unseen,
    negative, fractional and huge codes, missing values everywhere."""
    trees = json.loads(model.get_booster().save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    rows = [X[rng.integers(0, len(X), 400)] for _ in range(3)]
    for tree in trees[:40]:
        splits = zip(tree["split_indices"], tree["split_conditions"], tree["left_children"], strict=True)
        for feature, threshold, left in splits:
            if left < 0:
                continue
            row = X[rng.integers(0, len(X))].copy()
            for value in (threshold, np.nextafter(np.float32(threshold), np.float32(np.inf)), threshold - 1e-9):
                row[feature] = value
                rows.append(row[None, :].copy())
    odd = X[rng.integers(0, len(X), 200)].copy()
    odd[:, 3] = rng.choice([-1.0, 4.0, 2.5, 1e9, np.nan], 200)  # "few" has codes 0..3
    odd[:, 4] = rng.choice([-3.0, 69.0, 70.0, 300.0, 33.7, np.nan], 200)
    odd[rng.random(odd.shape) < 0.2] = np.nan
    rows.append(odd)
    return np.vstack(rows)


@pytest.fixture(scope="module", params=sorted(OBJECTIVES))
def fitted(request: pytest.FixtureRequest) -> tuple[str, xgb.XGBModel, np.ndarray]:
    task = request.param
    X, y = table(task)
    cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
    model = cls(n_estimators=60, max_depth=5, enable_categorical=True, max_cat_to_onehot=1, random_state=0)
    model.set_params(early_stopping_rounds=5)  # a best iteration before the last tree: the walk stops there too
    model.fit(X.iloc[:500], y[:500], eval_set=[(X.iloc[500:], y[500:])], verbose=False)
    return task, model, awkward_rows(model, codes(X), np.random.default_rng(1))


@pytest.mark.parametrize("native", [True, False], ids=["lightgbm_walk", "numpy_walk"])
def test_the_walk_gives_xgboosts_margins_and_values_on_every_row(fitted, native):
    task, model, rows = fitted
    booster, window = model.get_booster(), model._get_iteration_range(None)
    walk = XGBoostTrees.of(booster, window)
    assert walk is not None and walk.objective == OBJECTIVES[task]
    assert walk.category_rows is not None  # the model splits on categories
    if native:
        assert walk._native() is not None
    else:
        walk.__dict__["_native_leaves"] = False
    margins = booster.inplace_predict(rows, iteration_range=window, predict_type="margin")
    values = booster.inplace_predict(rows, iteration_range=window, predict_type="value")
    for start in range(0, len(rows), 7):  # a few rows at a time, as the lean form walks them
        part = rows[start : start + 7]
        np.testing.assert_array_equal(walk.margins(part).reshape(margins[start : start + 7].shape), margins[start:][:7])
        out = walk(part)
        assert out.dtype == values.dtype
        np.testing.assert_array_equal(out, values[start : start + 7])
    in_turn = walk.in_turn
    walk.in_turn = False  # each group's trees picked out and added up, as for a model of several trees a group
    for start in range(0, len(rows), 50):
        np.testing.assert_array_equal(walk(rows[start : start + 7]), values[start : start + 7])
    assert in_turn  # XGBoost's own order: one tree a group, groups in turn
    walk.in_turn = True
    for whole in (True, False):  # one row: every node decided at once, or the walk level by level (numpy)
        walk.__dict__["_whole"] = whole
        for i in range(0, len(rows), 11):
            np.testing.assert_array_equal(walk(rows[i : i + 1]), values[i : i + 1])


def test_the_model_is_read_tree_by_tree_into_the_same_walk(fitted):
    _, model, _ = fitted
    booster = model.get_booster()
    read = lean._read_model(booster)
    trees = read["gradient_booster"]["model"]["trees"]
    assert all(set(t) <= lean.TREE_KEYS and all(isinstance(v, np.ndarray) for v in t.values()) for t in trees)
    assert "loss_changes" not in trees[0] and "left_children" in trees[0]
    whole = json.loads(booster.save_raw("json"))["learner"]  # every tree's lists, as Python objects
    a, b = XGBoostTrees(read, (0, 0), lean._c_expf()), XGBoostTrees(whole, (0, 0), lean._c_expf())
    for name in ("next", "roots", "feature", "threshold", "missing_left", "category_rows", "category_table", "base"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    assert a.depth == b.depth and a.code_limit == b.code_limit


def test_the_output_is_xgboosts_on_extreme_margins(fitted):
    task, model, rows = fitted
    booster = model.get_booster()
    walk = XGBoostTrees.of(booster, (0, 0))
    rng = np.random.default_rng(2)
    shape = (len(rows), 3) if task == "multiclass" else (len(rows),)
    centres = [-200.0, -89.0, -88.7, -40.0, -1e-3, 0.0, 1e-3, 17.0, 88.8, 150.0]
    offsets = rng.choice(centres, shape) + rng.normal(size=shape)
    margins = booster.inplace_predict(rows, predict_type="margin", base_margin=offsets)
    values = booster.inplace_predict(rows, predict_type="value", base_margin=offsets)
    transform = {"regression": lambda m: m, "binary": walk._sigmoid, "multiclass": walk._softmax}[task]
    own = transform(margins)
    np.testing.assert_array_equal(own, values)


@pytest.mark.parametrize("task", sorted(OBJECTIVES))
def test_the_wrappers_lean_form_answers_a_row_and_a_batch_as_predict_does(task, monkeypatch):
    X, y = table(task, n=400, seed=3)
    inner_cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
    inner = inner_cls(n_estimators=80, max_depth=4, enable_categorical=True, random_state=0)
    wrapper = XGBEarlyStoppingRegressor if task == "regression" else XGBEarlyStoppingClassifier
    model = wrapper(inner, random_state=0).fit(X, y)
    method = "predict" if task == "regression" else "predict_proba"
    lean = model.lean_op(method)
    rows = codes(X)
    own = getattr(model, method)(X)
    for i in range(0, 60):  # one row: the walk
        np.testing.assert_array_equal(lean(rows[i : i + 1]), own[i : i + 1])
    np.testing.assert_array_equal(lean(rows), own)  # many rows: XGBoost itself
    # a batch split between two threads, each calling XGBoost on its rows
    monkeypatch.setattr("sklearn.utils._openmp_helpers._openmp_effective_n_threads", lambda: 2)
    np.testing.assert_array_equal(lean(np.vstack([rows] * 3)), np.concatenate([own] * 3))


def test_rows_the_walk_does_not_read_go_to_xgboost():
    X, y = table("regression", n=300)
    model = xgb.XGBRegressor(n_estimators=20, enable_categorical=True).fit(X, y)
    lean = booster_op(model, classifier=False)
    row = codes(X)[:1]
    row[0, 0] = np.inf
    np.testing.assert_array_equal(lean(row), model.get_booster().inplace_predict(row))
    other = xgb.XGBRegressor(n_estimators=20, missing=-1.0).fit(codes(X)[:, :3], y)
    rows = codes(X)[:5, :3]
    rows[0, 0] = -1.0  # missing for this model
    np.testing.assert_array_equal(booster_op(other, classifier=False)(rows), other.predict(rows))


@pytest.mark.parametrize(
    ("params", "walks"),
    [({"booster": "dart"}, False), ({"objective": "count:poisson"}, False), ({"objective": "reg:absoluteerror"}, True)],
)
def test_models_the_walk_does_not_do_are_left_to_xgboost(params, walks):
    X, y = table("regression", n=300)
    y = np.abs(y)
    model = xgb.XGBRegressor(n_estimators=10, enable_categorical=True, **params).fit(X, y)
    assert (XGBoostTrees.of(model.get_booster(), (0, 0)) is not None) == walks
    rows = codes(X)[:3]
    np.testing.assert_array_equal(booster_op(model, classifier=False)(rows), model.predict(rows))


def test_a_model_whose_category_table_would_be_too_large_is_left_to_xgboost(fitted, monkeypatch):
    task, model, rows = fitted
    monkeypatch.setattr(lean, "MAX_TABLE", 10)
    assert XGBoostTrees.of(model.get_booster(), (0, 0)) is None
    values = booster_op(model, classifier=task != "regression")(rows[:3])
    assert values.shape[0] == 3 and np.isfinite(values).all()
