"""XGBoost models in lean form: one row answered by a numpy walk of the trees, the same numbers as XGBoost's.

On one row, ``Booster.inplace_predict`` spends 0.4 to 2 ms before and after
its trees (a proxy matrix, the configuration, a thread pool): several times
the walk itself. On a few rows the lean form walks all trees at once
(:class:`automl.lean.StackedTrees`) and does in numpy what XGBoost's CPU
predictor does:

- the input is cast to float32; a number goes left when it is below the
  split's float32 threshold, a NaN to the node's default side;
- a node on a category sends its code right when it is in the node's set,
  left otherwise (a negative, fractional-free or unknown code included), as
  XGBoost's ``Decision`` does;
- the margin of each output group starts from the model's base margin and
  adds the leaves' float32 values tree after tree, in the model's order;
- binary and multi-class probabilities are XGBoost's sigmoid and softmax
  in float32, with the C library's ``expf``, the function XGBoost calls.

Anything else (other objectives, a DART or linear booster, a ``missing`` other
than NaN, infinite values, more rows) goes to ``Booster.inplace_predict``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from automl.lean import FEW_ROWS, LeanOp, StackedTrees, split_rows

#: the most entries (bytes) of the table of categorical nodes and codes; a model that needs more is not walked
MAX_TABLE = 64 * 2**20

#: objectives whose prediction is the margin itself
IDENTITY = ("reg:squarederror", "reg:absoluteerror", "reg:pseudohubererror", "reg:quantileerror")
#: objectives whose probabilities are a sigmoid or a softmax of the margins
SIGMOID, SOFTMAX = "binary:logistic", "multi:softprob"


def booster_op(est: Any, classifier: bool) -> LeanOp | None:
    """``predict_proba`` (or ``predict``) of a fitted XGBoost scikit-learn model as its Booster computes it, or None.

    A few rows are walked in numpy (:class:`XGBoostTrees`), built on the first
    such call; more rows go to ``Booster.inplace_predict`` with the wrapper's
    arguments, a big batch's rows split between the cores (the booster keeps
    the search's one thread; :func:`automl.lean.split_rows`). The
    scikit-learn wrapper also sets XGBoost's global configuration around every
    call (its verbosity), which on one row costs more than the trees; the
    prediction is the same.
    """
    iteration_range = getattr(est, "_get_iteration_range", None)
    if iteration_range is None or est.booster == "gblinear" or not isinstance(est.objective, str | None):
        return None
    if classifier and est.objective == "multi:softmax":  # the wrapper takes a softmax of the margins itself
        return None
    booster, window, missing = est.get_booster(), iteration_range(None), est.missing
    n_classes = getattr(est, "n_classes_", 0)
    walk: Callable[[np.ndarray], np.ndarray] | None = None
    walkable = missing is None or (isinstance(missing, float) and math.isnan(missing))

    def predict(X: np.ndarray) -> np.ndarray:
        return booster.inplace_predict(X, iteration_range=window, predict_type="value", missing=missing)

    def run(X: np.ndarray) -> np.ndarray:
        nonlocal walk, walkable
        p = None
        if walkable and X.shape[0] <= FEW_ROWS and X.dtype == np.float64 and not np.isinf(X).any():
            if walk is None:
                walk = XGBoostTrees.of(booster, window)
                walkable = walk is not None
            if walk is not None:
                p = walk(X)
        if p is None:
            p = split_rows(predict, X)
        # the classes' columns as the wrapper's _cls_predict_proba makes them
        if not classifier or (p.ndim == 2 and (p.shape[1] == n_classes or (n_classes == 2 and p.shape[1] >= 2))):
            return p
        return np.vstack((1.0 - p, p)).transpose()

    return run


class XGBoostTrees(StackedTrees):
    """A gradient-boosted XGBoost model's trees stacked for a walk of a few rows; calling it predicts.

    Parameters
    ----------
    model : dict
        The ``learner`` of the model's JSON (``Booster.save_raw("json")``).
    window : tuple of int
        The iterations predicted from (first, end), as XGBoost's
        ``iteration_range``; ``(0, 0)`` for all of them.
    expf : callable or None
        The C library's ``expf``, for a model whose objective takes exponentials.
    """

    def __init__(self, model: dict[str, Any], window: tuple[int, int], expf: Callable[[float], float] | None) -> None:
        booster = model["gradient_booster"]["model"]
        indptr = booster["iteration_indptr"]
        first, end = indptr[window[0]], indptr[window[1] if window[1] else len(indptr) - 1]
        trees = booster["trees"][first:end]
        self.objective = model["objective"]["name"]
        self.expf = expf
        groups = np.asarray(booster["tree_info"][first:end], dtype=np.intp)
        self.n_groups = max(1, int(model["learner_model_param"]["num_class"]))
        self.group_trees = [np.flatnonzero(groups == k) for k in range(self.n_groups)]
        self.in_turn = bool(np.array_equal(groups, np.arange(len(groups)) % self.n_groups))
        self.base = self._base_margins(json.loads(model["learner_model_param"]["base_score"]))

        def stack(key: str, dtype: Any) -> np.ndarray:
            return np.concatenate([np.asarray(t[key], dtype=dtype) for t in trees])

        sizes = np.array([len(t["left_children"]) for t in trees])
        left, right = stack("left_children", np.intp), stack("right_children", np.intp)
        self.next, leaf, self.roots = self.link(sizes, left, right)
        self.feature = np.where(leaf, 0, stack("split_indices", np.intp))
        self.threshold = stack("split_conditions", np.float64).astype(np.float32)  # a leaf's value at a leaf
        self.missing_left = stack("default_left", np.int8).astype(bool)
        self.depth = _depth(stack("parents", np.intp), self.roots)
        self._categories(trees, self.roots, leaf)

    @classmethod
    def of(cls, booster: Any, window: tuple[int, int]) -> Callable[[np.ndarray], np.ndarray] | None:
        """The walk of a fitted Booster's trees in ``window``, or None when its model is one this walk does not do."""
        model = _read_model(booster)
        objective = model["objective"]["name"]
        if model["gradient_booster"]["name"] != "gbtree" or objective not in (*IDENTITY, SIGMOID, SOFTMAX):
            return None
        if int(model["learner_model_param"].get("num_target", "1")) != 1:
            return None
        expf = None if objective in IDENTITY else _c_expf()
        if objective not in IDENTITY and expf is None:
            return None
        try:
            return cls(model, window, expf)
        except _TooManyCategories:
            return None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """What ``inplace_predict(X, predict_type="value")`` gives: values, or probabilities."""
        margins = self.margins(X)
        if self.objective in IDENTITY:
            return margins[:, 0]
        if self.objective == SIGMOID:
            return self._sigmoid(margins[:, 0])
        return self._softmax(margins)

    def margins(self, X: np.ndarray) -> np.ndarray:
        """Each row's margin of each output group, float32: shape (rows, groups)."""
        values = self.threshold[self.leaves(np.asarray(X, dtype=np.float32))]
        if self.in_turn:  # one tree a group an iteration, groups in turn: every group's sum in one pass
            steps = np.empty((X.shape[0], self.n_groups, 1 + values.shape[1] // self.n_groups), dtype=np.float32)
            steps[:, :, 0] = self.base
            steps[:, :, 1:] = values.reshape(X.shape[0], -1, self.n_groups).transpose(0, 2, 1)
            return np.cumsum(steps, axis=2, dtype=np.float32)[:, :, -1]
        out = np.empty((X.shape[0], self.n_groups), dtype=np.float32)
        for k, trees in enumerate(self.group_trees):
            steps = np.column_stack([np.full(X.shape[0], self.base[k], dtype=np.float32), values[:, trees]])
            out[:, k] = np.cumsum(steps, axis=1, dtype=np.float32)[:, -1]
        return out

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x < threshold

    def at_most(self) -> np.ndarray:
        """Below a float32 threshold: at most the float32 before it (the walk reads float32 values)."""
        return np.nextafter(self.threshold, np.float32(-np.inf)).astype(np.float64)

    def category_goes_left(self, node: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """By each node's table (a code outside it, or NaN: left)."""
        codes = np.where((codes >= 0) & (codes < self.code_limit), codes, self.code_limit).astype(np.intp)
        return self.category_table[self.category_rows[node] * (self.code_limit + 1) + codes]

    def _categories(self, trees: list[dict[str, Any]], roots: np.ndarray, leaf: np.ndarray) -> None:
        """Where each categorical node sends each code, in one flat table (True: left).

        XGBoost sends a category in the node's set right; any other value, a
        negative or unknown code included, left (the table's last entry for a
        node, which also takes NaN before the walk sends NaN to the default side).
        """
        self.category_rows: np.ndarray | None = None
        nodes, sets = [], []
        for tree, root in zip(trees, roots, strict=True):
            cats = tree.get("categories", [])
            for node, start, size in zip(
                tree.get("categories_nodes", []), tree["categories_segments"], tree["categories_sizes"], strict=True
            ):
                nodes.append(root + node)
                sets.append(np.asarray(cats[start : start + size], dtype=np.intp))
        if not nodes:
            return
        codes = np.concatenate(sets)
        self.code_limit = int(codes.max()) + 1 if len(codes) else 0
        if len(nodes) * (self.code_limit + 1) > MAX_TABLE:
            raise _TooManyCategories
        table = np.ones((len(nodes), self.code_limit + 1), dtype=bool)
        table[np.repeat(np.arange(len(nodes)), [len(c) for c in sets]), codes] = False
        self.category_table = table.ravel()
        self.mark_categorical(np.asarray(nodes), len(leaf))

    def _base_margins(self, base_score: list[float]) -> np.ndarray:
        """The margin each group starts from: the base score, turned into a margin for a logistic objective."""
        base = np.asarray(base_score, dtype=np.float32)
        if len(base) == 1 and self.n_groups > 1:
            base = np.repeat(base, self.n_groups)
        if self.objective == SIGMOID:
            one = np.float32(1.0)
            base = np.array([-_c_logf(float(one / base[0] - one))], dtype=np.float32)
        return base

    def _sigmoid(self, margin: np.ndarray) -> np.ndarray:
        """XGBoost's ``1 / (expf(min(-x, 88.7)) + 1 + 1e-16)`` in float32."""
        e = self._expf(np.minimum(-margin, np.float32(88.7)))
        return np.float32(1.0) / (e + np.float32(1.0) + np.float32(1e-16))

    def _softmax(self, margins: np.ndarray) -> np.ndarray:
        """XGBoost's softmax: ``expf`` of each margin less the row's largest, over their sum taken in double."""
        e = self._expf(margins - margins.max(axis=1, keepdims=True))
        total = np.cumsum(e.astype(np.float64), axis=1)[:, -1:]  # one after the other, in double
        return e / total.astype(np.float32)

    def _expf(self, x: np.ndarray) -> np.ndarray:
        assert self.expf is not None
        return np.array([self.expf(v) for v in x.ravel().tolist()], dtype=np.float32).reshape(x.shape)


#: what the walk reads of each tree in the model's JSON; the rest (gains, hessians, weights) is dropped as it is read
TREE_KEYS = frozenset(
    {
        "left_children",
        "right_children",
        "split_indices",
        "split_conditions",
        "default_left",
        "parents",
        "categories",
        "categories_nodes",
        "categories_segments",
        "categories_sizes",
    }
)


def _tree_arrays(obj: dict[str, Any]) -> dict[str, Any]:
    """A tree of the model's JSON as the walk reads it: its lists as numpy arrays (a JSON object of another kind as is).

    Called by the parser on each object as it finishes it, so that one tree's
    Python lists live at a time: parsed whole, a model of 700 trees held about
    150 MB of lists for 15 MB of arrays.
    """
    if "left_children" not in obj:
        return obj
    return {k: np.asarray(v) if isinstance(v, list) else v for k, v in obj.items() if k in TREE_KEYS}


def _read_model(booster: Any) -> dict[str, Any]:
    """The ``learner`` of the Booster's JSON, each tree's lists read into arrays (see :func:`_tree_arrays`)."""
    text = booster.save_raw("json").decode()  # the bytes go before the parse: one copy of the model at a time
    return json.loads(text, object_hook=_tree_arrays)["learner"]


class _TooManyCategories(Exception):
    """The categorical nodes and codes of a model would need a table above :data:`MAX_TABLE`."""


def _depth(parents: np.ndarray, roots: np.ndarray) -> int:
    """The most levels below a root, from each node's parent, numbered within its tree (out of range at a root)."""
    sizes = np.diff(np.r_[roots, len(parents)])
    root = (parents < 0) | (parents >= np.repeat(sizes, sizes))  # XGBoost writes 2**31 - 1 for none
    parent = np.where(root, -1, parents + np.repeat(roots, sizes))
    depth = np.zeros(len(parents), dtype=np.intp)
    has_parent = parent >= 0
    for _ in range(len(parents)):
        new = np.where(has_parent, depth[np.maximum(parent, 0)] + 1, 0)
        if np.array_equal(new, depth):
            break
        depth = new
    return int(depth.max()) if len(depth) else 0


def _c_function(name: str) -> Callable[[float], float] | None:
    """The C library's single-precision ``name`` (``expf``, ``logf``), the one XGBoost calls, or None."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        function = getattr(library, name)
    except (OSError, AttributeError):
        return None
    function.restype, function.argtypes = ctypes.c_float, [ctypes.c_float]
    return function


def _c_expf() -> Callable[[float], float] | None:
    return _c_function("expf")


def _c_logf(x: float) -> float:
    logf = _c_function("logf")
    return float(np.log(np.float32(x))) if logf is None else logf(x)


__all__ = ["XGBoostTrees", "booster_op"]
