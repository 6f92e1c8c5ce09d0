"""Tree ensembles in lean form: forests and HistGradientBoosting without a check, a thread or a call per tree.

scikit-learn's forests validate the input and start a joblib task for each
tree; HistGradientBoosting calls each tree from Python, each with its own
thread pool. On a few rows that overhead is most of the time. Here forests
call each tree directly, and a HistGradientBoosting model on a few rows walks
all its trees at once: the trees' nodes are stacked into one set of arrays
and every tree takes one step per pass. The leaves reached and their sum
(tree after tree, from the baseline, as scikit-learn adds them) are the
model's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

from automl.lean import FEW_ROWS, LeanOp, StackedTrees, split_rows

FORESTS = (RandomForestClassifier, ExtraTreesClassifier, RandomForestRegressor, ExtraTreesRegressor)


def forest_op(forest: Any, method: str) -> LeanOp | None:
    """A forest's mean over its trees, tree by tree as scikit-learn sums it, without a check and a thread per tree.

    On a few rows all trees are walked at once (:class:`_StackedForest`, built on
    the first such call); on more, each tree is called in turn, a big batch's
    rows split between the cores (:func:`~automl.lean.split_rows`).
    """
    if forest.n_outputs_ != 1:
        return None
    trees = [e.tree_ for e in forest.estimators_]
    classifier = hasattr(forest, "classes_")
    if classifier != (method == "predict_proba"):
        return getattr(forest, method)
    n = int(forest.n_classes_) if classifier else 1
    stacked: _StackedForest | None = None

    def run(X: np.ndarray) -> np.ndarray:
        nonlocal stacked
        X = np.asarray(X, dtype=np.float32)
        if X.shape[0] <= FEW_ROWS:
            if stacked is None:
                stacked = _StackedForest(trees, n)
            out = stacked.total(X)
        else:
            out = split_rows(lambda part: _tree_sum(trees, part, n), X)
        out /= len(trees)
        return out if classifier else out[:, 0]

    return run


def _tree_sum(trees: list[Any], X: np.ndarray, n: int) -> np.ndarray:
    """The sum of the trees' outputs (their first ``n`` columns) for each row of X, tree after tree from zero."""
    out = np.zeros((X.shape[0], n), dtype=np.float64)
    for tree in trees:
        out += tree.predict(X)[:, :n]
    return out


class _StackedForest(StackedTrees):
    """The nodes of a forest's trees in one set of arrays, leaves pointing at themselves.

    Each pass moves every tree one level down, as scikit-learn's ``Tree.apply``
    moves one: a missing value to the node's missing side, else left when the
    value (a float32, compared as a double) is at most the threshold. The
    leaves' values are then added tree after tree, as the forest adds them.
    """

    def __init__(self, trees: list[Any], n_values: int) -> None:
        sizes = np.array([t.node_count for t in trees])
        index = self.index_type(int(sizes.sum()))  # millions of nodes in a big forest: no 64-bit temporaries
        left = np.concatenate([t.children_left for t in trees], dtype=index)
        right = np.concatenate([t.children_right for t in trees], dtype=index)
        self.next, leaf, self.roots = self.link(sizes, left, right)
        del left, right
        self.feature = np.concatenate([t.feature for t in trees], dtype=index)
        self.feature[leaf] = 0
        # a leaf goes "left" to itself whatever the value: x <= inf, and NaN takes the missing side, left
        self.threshold = np.concatenate([t.threshold for t in trees])
        self.threshold[leaf] = np.inf
        missing = [t.missing_go_to_left for t in trees]  # 0: right
        self.missing_left = np.concatenate(missing, dtype=bool, casting="unsafe")
        self.missing_left[leaf] = True
        self.value = np.concatenate([t.value[:, 0, :n_values] for t in trees])
        self.depth = max(int(t.max_depth) for t in trees)

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x <= threshold

    def at_most(self) -> np.ndarray:
        return self.threshold

    def total(self, X: np.ndarray) -> np.ndarray:
        """The sum over the trees of each row's leaf values, added tree after tree from zero."""
        return np.cumsum(self.value[self.leaves(X)], axis=1)[:, -1]


HIST_GRADIENT_BOOSTING = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def hist_gradient_boosting_op(model: Any, method: str, frame: bool) -> LeanOp | None:
    """HistGradientBoosting's ``method``: its trees walked together on a few rows, one by one on one thread otherwise.

    On native categories, the model's own encoder numbers each column's
    categories in sorted order, as the lean codes do (the categories of the
    encoder before it, all seen in the same rows); its output puts the
    categorical columns first.
    """
    classifier = hasattr(model, "classes_")
    if classifier != (method == "predict_proba"):
        return getattr(model, method)
    pre = getattr(model, "_preprocessor", None)
    if (pre is None) == frame:
        return None
    order = None
    if pre is not None:
        order = np.r_[np.flatnonzero(model.is_categorical_), np.flatnonzero(~model.is_categorical_)]
    bitsets, f_idx_map = model._bin_mapper.make_known_categories_bitsets()
    predictors, baseline = model._predictors, model._baseline_prediction
    stacked = _StackedTrees.of(predictors, bitsets, f_idx_map)

    def run(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X if order is None else X[:, order], dtype=np.float64)
        if stacked is not None and X.shape[0] <= FEW_ROWS and stacked.walks(X):
            raw = stacked.raw(X, baseline)
        else:
            raw = np.zeros((X.shape[0], model.n_trees_per_iteration_), dtype=baseline.dtype, order="F")
            raw += baseline
            threads = 1 if X.shape[0] <= FEW_ROWS else _openmp_effective_n_threads()
            for trees in predictors:
                for k, tree in enumerate(trees):
                    raw[:, k] += tree.predict(X, bitsets, f_idx_map, threads)
        return model._loss.predict_proba(raw) if classifier else model._loss.link.inverse(raw.ravel())

    return run


class _StackedTrees(StackedTrees):
    """The nodes of all trees of a HistGradientBoosting model in one set of arrays, leaves pointing at themselves.

    A node on a category sends a value left when it is in the node's set of
    categories, right when it is another category known in training, and to
    the missing side when it is missing, negative or unknown, as scikit-learn's
    ``_predict_one_from_raw_data`` does.
    """

    def __init__(self, predictors: list[list[Any]], known: np.ndarray, f_idx_map: np.ndarray) -> None:
        trees = [tree for trees in predictors for tree in trees]
        nodes = [tree.nodes for tree in trees]
        sizes = np.array([len(n) for n in nodes])
        allnodes = np.concatenate(nodes)
        leaf = allnodes["is_leaf"].astype(bool)
        left = np.where(leaf, -1, allnodes["left"].astype(np.intp))
        self.next, _, self.roots = self.link(sizes, left, allnodes["right"].astype(np.intp))
        self.feature = np.where(leaf, 0, allnodes["feature_idx"]).astype(np.intp)
        # a leaf goes "left" to itself whatever the value: x <= inf, and NaN takes the missing side, left
        self.threshold = np.where(leaf, np.inf, allnodes["num_threshold"])
        self.missing_left = np.where(leaf, True, allnodes["missing_go_to_left"].astype(bool))
        self.value = allnodes["value"]
        self.depth = int(allnodes["depth"].max())
        self.per_iteration = len(predictors[0])
        self.categorical = ~leaf & allnodes["is_categorical"].astype(bool)
        self.category_table: np.ndarray | None = None
        if self.categorical.any():
            bitsets = [tree.raw_left_cat_bitsets for tree in trees]
            firsts = np.r_[0, np.cumsum([len(b) for b in bitsets])[:-1]]
            on = np.flatnonzero(self.categorical)
            left_sets = np.concatenate(bitsets)[allnodes["bitset_idx"][on] + np.repeat(firsts, sizes)[on]]
            self.category_table = _category_table(left_sets, known[f_idx_map[self.feature[on]]], self.missing_left[on])
            self.mark_categorical(on, len(allnodes))
            self.categorical_features = np.unique(self.feature[on])

    @classmethod
    def of(cls, predictors: list[list[Any]], known: np.ndarray, f_idx_map: np.ndarray) -> _StackedTrees | None:
        """The stacked trees of a fitted model's predictors, or None when it has none."""
        if not predictors or not predictors[0]:
            return None
        return cls(predictors, known, f_idx_map)

    def walks(self, X: np.ndarray) -> bool:
        """Whether the stacked walk reads X as scikit-learn would: category codes below 256, as its cast keeps them."""
        if self.category_table is None:
            return True
        codes = X[:, self.categorical_features]
        return not (codes >= CODES).any()

    def raw(self, X: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """The raw predictions: baseline, then each tree's leaf value added in the models' order."""
        values = self.value[self.leaves(X)]
        n, k = X.shape[0], self.per_iteration
        # steps[row, 0] is the baseline, steps[row, 1 + i] iteration i's leaves (one a class); every class
        # added up in one sequential pass (an accumulation, not numpy's pairwise sum)
        steps = np.empty((n, values.shape[1] // k + 1, k), dtype=baseline.dtype)
        steps[:, 0, :] = baseline
        steps[:, 1:, :] = values.reshape(n, -1, k)
        return np.asfortranarray(np.add.accumulate(steps, axis=1)[:, -1, :])

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x <= threshold

    def at_most(self) -> np.ndarray:
        return self.threshold

    def category_goes_left(self, node: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """By each node's table; NaN and negative codes: the missing side."""
        codes = np.where(codes >= 0, codes, CODES).astype(np.intp)  # NaN compares False
        return self.category_table[self.category_rows[node] * (CODES + 1) + codes]


#: category codes a HistGradientBoosting node decides on (scikit-learn reads them as 8-bit integers)
CODES = 256


def _category_table(left_sets: np.ndarray, known_sets: np.ndarray, missing_left: np.ndarray) -> np.ndarray:
    """Where each categorical node sends each code, flat: ``CODES + 1`` entries a node, the last for a missing value.

    A code goes left when it is in the node's set, right when it is another
    category known in training, and to the missing side otherwise; so does a
    missing or negative value (the last entry).
    """
    codes = np.arange(CODES)
    word, bit = codes >> 5, (codes & 31).astype(np.uint32)
    in_left = ((left_sets[:, word] >> bit) & 1).astype(bool)
    in_known = ((known_sets[:, word] >> bit) & 1).astype(bool)
    side = missing_left[:, None]
    table = np.where(in_left, True, np.where(in_known, False, side))
    return np.column_stack([table, side]).ravel()


__all__ = ["FORESTS", "HIST_GRADIENT_BOOSTING", "forest_op", "hist_gradient_boosting_op"]
