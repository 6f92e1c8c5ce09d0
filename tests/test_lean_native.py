"""Stacked trees walked by LightGBM's compiled predictor reach the leaves of the numpy walk, on every kind of row."""

from __future__ import annotations

import copy
import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from sklearn.ensemble import (
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
)

from automl.lean import StackedTrees
from automl.lean_native import NativeLeaves
from automl.pipeline.lean_trees import _StackedForest, _StackedTrees


def _table(seed: int = 0, n: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """A category code column (12 levels), three numbers with missing values; a target depending on all."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.integers(0, 12, n), rng.normal(size=(n, 3))])
    y = (X[:, 0] % 4) + X[:, 1] - np.abs(X[:, 2]) + rng.normal(scale=0.3, size=n)
    X[:, 1:][rng.random((n, 3)) < 0.15] = np.nan
    return X, y


def _stacked(kind: str) -> tuple[StackedTrees, type]:
    """Fitted trees of each kind the library stacks, and the dtype their walk reads."""
    X, y = _table()
    if kind == "forest_classifier":
        model = RandomForestClassifier(n_estimators=15, random_state=0).fit(
            X[:, 1:].astype(np.float32), np.digitize(y, [0, 1.5])
        )
        return _StackedForest([e.tree_ for e in model.estimators_], 3), np.float32
    if kind == "extra_trees":
        model = ExtraTreesRegressor(n_estimators=15, random_state=0).fit(X[:, 1:].astype(np.float32), y)
        return _StackedForest([e.tree_ for e in model.estimators_], 1), np.float32
    cls = HistGradientBoostingRegressor if kind == "hist_gradient_boosting" else HistGradientBoostingClassifier
    target = y if kind == "hist_gradient_boosting" else np.digitize(y, [0, 1.5])
    model = cls(max_iter=25, categorical_features=[0], random_state=0).fit(X, target)
    return _StackedTrees.of(model._predictors, *model._bin_mapper.make_known_categories_bitsets()), np.float64


def _awkward_rows(trees: StackedTrees, n_columns: int, dtype: type) -> np.ndarray:
    """Ordinary rows, then rows on every split threshold and on the numbers either side of it, missing values,
    signed zeros and infinities; category codes seen, unseen, negative and missing."""
    rng = np.random.default_rng(1)
    X, _ = _table(seed=2, n=200)
    X = X[:, -n_columns:]
    rows = [X]
    split = np.flatnonzero(trees.next[0::2] != np.arange(len(trees.feature)))
    if trees.categorical_nodes is not None:
        split = np.setdiff1d(split, trees.categorical_nodes)
    for node in rng.choice(split, size=min(150, len(split)), replace=False):
        threshold = dtype(trees.threshold[node])
        for value in (threshold, np.nextafter(threshold, dtype(np.inf)), np.nextafter(threshold, dtype(-np.inf))):
            row = X[rng.integers(0, len(X))].copy()
            row[trees.feature[node]] = value
            rows.append(row[None, :])
    odd = X[rng.integers(0, len(X), 60)].copy()
    odd[:, -3:] = rng.choice([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30], size=(60, 3))
    if n_columns == 4:
        odd[:, 0] = rng.choice([0.0, 5.0, 11.0, 12.0, 200.0, 255.0, -1.0, -7.0, np.nan], 60)
    rows.append(odd)
    return np.vstack(rows).astype(dtype)


def _numpy_walk(trees: StackedTrees) -> StackedTrees:
    walk = copy.copy(trees)
    walk.__dict__["_native_leaves"] = False  # the numpy walk: LightGBM's is not built
    return walk


@pytest.mark.parametrize("kind", ["forest_classifier", "extra_trees", "hist_gradient_boosting", "hgb_classifier"])
def test_lightgbm_reaches_the_leaves_of_the_numpy_walk(kind):
    trees, dtype = _stacked(kind)
    n_columns = 3 if "forest" in kind or kind == "extra_trees" else 4
    rows = _awkward_rows(trees, n_columns, dtype)
    native = NativeLeaves(trees)
    walk = _numpy_walk(trees)
    for i in range(len(rows)):  # one row at a time, as served
        found = native(rows[i : i + 1])
        assert found is not None  # every such row goes through LightGBM
        np.testing.assert_array_equal(found, walk.leaves(rows[i : i + 1]))
    for start in range(0, len(rows), 9):  # a few rows at a time
        np.testing.assert_array_equal(native(rows[start : start + 9]), walk.leaves(rows[start : start + 9]))
    assert trees.leaves(rows[:1]).dtype.kind == "i"


def test_rows_lightgbm_would_read_otherwise_are_left_to_the_numpy_walk():
    trees, _ = _stacked("hist_gradient_boosting")
    native = NativeLeaves(trees)
    walk = _numpy_walk(trees)
    X, _ = _table(seed=3, n=4)
    tiny, fractional, infinite = X.copy(), X.copy(), X.copy()
    tiny[:, 1] = [1e-40, -1e-36, 1e-35, float(np.float32(1e-35))]  # LightGBM reads them as zero
    fractional[:, 0] = 2.5
    infinite[:, 0] = np.inf
    for rows in (tiny, fractional, infinite):
        assert all(native(rows[i : i + 1]) is None for i in range(len(rows)))
    for rows in (tiny, fractional):  # (an infinite code never reaches the walk: HistGradientBoosting's own path)
        np.testing.assert_array_equal(trees.leaves(rows), walk.leaves(rows))  # leaves() falls back on its own
    assert native(X[:, :2]) is None  # fewer columns than the trees read


class _Unwritten(StackedTrees):
    """Trees whose comparison says nothing of how it reads as a double: no LightGBM walk."""

    def __init__(self, trees: StackedTrees) -> None:
        self.__dict__.update({k: v for k, v in trees.__dict__.items() if not k.startswith("_")})

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x < threshold


def test_trees_are_written_for_lightgbm_only_where_they_can_be():
    trees, _ = _stacked("extra_trees")
    assert _Unwritten(trees)._native() is None
    mixed, _ = _stacked("hist_gradient_boosting")
    mixed = copy.copy(mixed)
    mixed.__dict__.pop("_native_leaves", None)
    numeric = np.flatnonzero(~mixed.categorical & (mixed.next[0::2] != np.arange(len(mixed.feature))))
    mixed.feature = mixed.feature.copy()
    mixed.feature[numeric[0]] = mixed.feature[mixed.categorical_nodes[0]]  # a column read both ways
    with pytest.raises(ValueError, match="both as a number and as a category"):
        NativeLeaves(mixed)
    assert mixed._native() is None


def test_stacked_trees_copy_and_pickle_without_the_c_handle_and_build_it_again():
    trees, dtype = _stacked("forest_classifier")
    rows = _awkward_rows(trees, 3, dtype)[:5]
    before = trees.leaves(rows)
    assert isinstance(trees.__dict__["_native_leaves"], NativeLeaves)
    for other in (pickle.loads(pickle.dumps(trees)), copy.deepcopy(trees)):
        assert "_native_leaves" not in other.__dict__
        np.testing.assert_array_equal(other.leaves(rows), before)


def test_threads_share_one_lightgbm_walk():
    trees, dtype = _stacked("hist_gradient_boosting")
    rows = _awkward_rows(trees, 4, dtype)[:200]
    expected = _numpy_walk(trees).leaves(rows)
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda i: trees.leaves(rows[i : i + 1]), range(len(rows))))
    np.testing.assert_array_equal(np.vstack(found), expected)


class _Toy(StackedTrees):
    """Two trees: a category node (codes 1 and 3 left, a negative code left, a code from 4 up right, a missing
    value right) and a number node (at most 0.5 left, a missing value left)."""

    code_limit = 4

    def __init__(self) -> None:
        left, right = np.array([1, -1, -1, 1, -1, -1]), np.array([2, -1, -1, 2, -1, -1])
        self.next, leaf, self.roots = self.link(np.array([3, 3]), left, right)
        self.feature = np.array([0, 0, 0, 1, 0, 0])
        self.threshold = np.where(leaf, np.inf, 0.5)
        self.missing_left = np.array([False, True, True, True, True, True])
        self.depth = 1
        self.mark_categorical(np.array([0]), 6)

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x <= threshold

    def at_most(self) -> np.ndarray:
        return self.threshold

    def category_goes_left(self, node: np.ndarray, codes: np.ndarray) -> np.ndarray:
        return np.isin(codes, [1.0, 3.0]) | (codes < 0)


def test_each_kind_of_category_code_goes_where_the_model_sends_it():
    toy = _Toy()
    codes = [0.0, 1.0, 2.0, 3.0, 4.0, 7.0, -1.0, -5.0, np.nan]
    numbers = [0.5, np.nextafter(0.5, 1.0), np.nextafter(0.5, 0.0), np.nan, -np.inf, np.inf]
    rows = np.array([[c, v] for c in codes for v in numbers])
    native = NativeLeaves(toy)
    walk = _numpy_walk(toy)
    for i in range(len(rows)):
        np.testing.assert_array_equal(native(rows[i : i + 1]), walk.leaves(rows[i : i + 1]))
    left = walk.leaves(rows)[:, 0] == 1  # the first tree's left leaf
    np.testing.assert_array_equal(left[:: len(numbers)], [False, True, False, True, False, False, True, True, False])


def test_trees_lightgbm_refuses_are_walked_in_numpy_and_not_written_again(monkeypatch):
    import automl.lean_native

    trees, dtype = _stacked("extra_trees")
    rows = _awkward_rows(trees, 3, dtype)[:4]
    calls = []

    def refuse(stacked):
        calls.append(stacked)
        raise RuntimeError("a LightGBM that cannot load the model")

    monkeypatch.setattr(automl.lean_native, "NativeLeaves", refuse)
    expected = _numpy_walk(trees).leaves(rows)
    for i in range(len(rows)):
        np.testing.assert_array_equal(trees.leaves(rows[i : i + 1]), expected[i : i + 1])
    assert len(calls) == 1
