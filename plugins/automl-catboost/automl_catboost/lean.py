"""CatBoost models on numbers in lean form: a few rows walked in the stacked trees, CatBoost's own values.

On one row, ``CatBoost.predict`` spends about 0.25 ms building a Pool and
calling its calcer: more than the trees. A model whose trees split on
numbers only (oblivious trees of ``FloatFeature`` splits) is a set of full
binary trees: each level of a tree asks one question, ``x > border`` on the
float32 value, and the leaf's number is the answers' bits, the first split's
the lowest. :class:`CatBoostTrees` stacks them for
:class:`automl.lean.StackedTrees` (and so LightGBM's compiled walk), and
adds up the leaves' values tree after tree in double, then the bias, as
CatBoost's ``RawFormulaVal`` (a model whose scale is not 1 is not walked).

A binary ``Logloss`` classifier's probability is ``1 / (1 + exp(-raw))``
with the C library's ``exp`` (numpy's differs in the last bit), and one
minus it for the first class, as CatBoost computes them. Anything else
(categorical, one-hot or CTR splits, more than two classes, more than one
output, missing values treated as larger than any border) keeps CatBoost's
own path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np
from automl.lean import StackedTrees

#: regression losses whose prediction is the raw formula value (others, such as Poisson, take its exponent)
RAW_LOSSES = frozenset({"RMSE", "MAE", "Quantile", "Expectile", "Huber", "MAPE"})


class CatBoostTrees(StackedTrees):
    """A fitted CatBoost model's oblivious trees as full binary trees, stacked; calling it gives the raw values.

    Parameters
    ----------
    model : dict
        CatBoost's JSON of the model (``save_model(format="json")``).

    Raises
    ------
    ValueError
        For a model this walk does not do.
    """

    def __init__(self, model: dict[str, Any]) -> None:
        trees = model["oblivious_trees"]
        scale, bias = model["scale_and_bias"]
        if len(bias) != 1 or not trees:
            raise ValueError("one output only")
        if float(scale) != 1.0:  # a shrunk or summed model: how CatBoost rounds scale * sum + bias is not checked
            raise ValueError("a scale other than 1")
        self.bias = float(bias[0])
        if any(f.get("nan_value_treatment") == "AsTrue" for f in _floats(model)):  # CatBoost's nan_mode="Max"
            raise ValueError("missing values above every border")
        parts = [_tree(t) for t in trees]
        sizes = np.array([len(p[0]) for p in parts])
        left = np.concatenate([p[0] for p in parts])
        right = np.concatenate([p[1] for p in parts])
        self.next, leaf, self.roots = self.link(sizes, left, right)
        self.feature = np.where(leaf, 0, np.concatenate([p[2] for p in parts]))
        self.threshold = np.where(leaf, np.inf, np.concatenate([p[3] for p in parts]))
        self.missing_left = np.ones(len(leaf), dtype=bool)  # NaN > border is false: the answer 0, left
        self.value = np.zeros(len(leaf))
        self.value[leaf] = np.concatenate([p[4] for p in parts])
        self.depth = max(len(t["splits"]) for t in trees)

    @classmethod
    def of(cls, booster: Any) -> CatBoostTrees | None:
        """The stacked trees of a fitted ``CatBoost`` model, or None when this walk does not do it."""
        try:
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "model.json")
                booster.save_model(path, format="json")
                with open(path, encoding="utf-8") as f:
                    model = json.load(f)
            return cls(model)
        except Exception:  # noqa: BLE001  (a model CatBoost cannot write as JSON, or one this walk does not do)
            return None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """``RawFormulaVal``: each row's leaf values added tree after tree in double, then the bias."""
        values = self.value[self.leaves(np.asarray(X, dtype=np.float32))]
        return np.cumsum(values, axis=1)[:, -1] + self.bias

    def proba(self, X: np.ndarray) -> np.ndarray:
        """A binary ``Logloss`` model's ``predict_proba``: ``1 / (1 + exp(-raw))`` with the C library's ``exp``, and
        one minus it, as CatBoost computes them."""
        exp = c_exp()
        assert exp is not None
        p = np.array([1.0 / (1.0 + exp(-v)) for v in self(X).tolist()], dtype=np.float64)
        return np.column_stack([1.0 - p, p])

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        return x <= threshold  # a float32 value not above the border: the split's answer is 0

    def at_most(self) -> np.ndarray:
        return self.threshold


def _floats(model: dict[str, Any]) -> list[dict[str, Any]]:
    info = model["features_info"]
    if info.get("categorical_features") or info.get("ctrs") or info.get("text_features"):
        raise ValueError("categorical features")
    return list(info.get("float_features", []))


def _tree(tree: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """One oblivious tree as a full binary tree, nodes level after level: children, features, borders, and the
    leaves' values in leaf order.

    The node at level ``l`` and place ``p`` (the answers so far, the first the
    lowest bit) is ``2**l - 1 + p``; its left child (answer 0) keeps ``p``,
    its right child adds ``2**l``; at the last level ``p`` is CatBoost's leaf.
    """
    splits = tree["splits"]
    if any(s.get("split_type") != "FloatFeature" for s in splits):
        raise ValueError("a split on something other than a number")
    depth = len(splits)
    values = np.asarray(tree["leaf_values"], dtype=np.float64)
    if len(values) != 2**depth:
        raise ValueError("more than one value a leaf")
    n = 2 ** (depth + 1) - 1
    left, right = np.full(n, -1), np.full(n, -1)
    feature, border = np.zeros(n, dtype=np.intp), np.full(n, np.inf)
    for level, split in enumerate(splits):
        places = np.arange(2**level)
        nodes = 2**level - 1 + places
        below = 2 ** (level + 1) - 1
        left[nodes], right[nodes] = below + places, below + places + 2**level
        feature[nodes] = split["float_feature_index"]
        border[nodes] = float(np.float32(split["border"]))
    return left, right, feature, border, values


@functools.cache
def c_exp() -> Callable[[float], float] | None:
    """The C library's double ``exp``, the one CatBoost's sigmoid calls (numpy's differs in the last bit), or None."""
    try:
        library = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        function = library.exp
    except (OSError, AttributeError):
        return None
    function.restype, function.argtypes = ctypes.c_double, [ctypes.c_double]
    return function
