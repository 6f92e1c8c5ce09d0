"""A big LightGBM model's batch predictions through blocks of trees that stay in the CPU's cache.

LightGBM predicts a batch row by row, each row walking every tree: a model
of thousands of deep trees (megabytes of nodes) is read again from memory
for every row, and a few thousand rows take about as long each as one row
alone. :class:`LeafBlocks` asks LightGBM for the leaves of a block of a few
dozen trees at a time (``pred_leaf`` with ``start_iteration`` and
``num_iteration``), so that the block's nodes stay in cache while every row
walks them, and adds up the leaves' values itself, in LightGBM's order: from
0.0, tree after tree, each class its own sum. The output transformation is
LightGBM's too (the sigmoid and softmax with the C library's ``exp``,
through ``math.exp``). Only the objectives whose transformation is written
here are taken (regression, binary, multiclass); linear trees, averaged
(random forest) models and anything LightGBM writes differently stay with
``Booster.predict``. The first batch is checked against ``Booster.predict``
on its first rows, and any difference (or error) leaves the model on its
own path for good.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: leaves of one block of trees (a few hundred kB of nodes: a core's cache holds them while every row walks them)
BLOCK_LEAVES = 2048
#: a model with fewer leaves than this stays in cache anyway: it is predicted whole
MIN_LEAVES = 16384
#: fewer rows than this are predicted whole (each block's call has a fixed cost)
MIN_ROWS = 256
#: rows of the first batch compared with ``Booster.predict``
CHECK_ROWS = 64


class LeafBlocks:
    """Batch predictions of a fitted LightGBM Booster, block of trees by block, the values LightGBM gives.

    The blocks are asked of a booster of their own, read from the model's
    text: LightGBM keeps the iterations of a booster's last prediction in the
    booster, and its single-row predictor (:class:`automl.lean._SingleRow`)
    walks those, so a block asked of the fitted booster would leave the next
    row of any thread walking the last block's trees alone. For the same
    reason a lock lets one block's call run at a time (two batches in two
    threads take turns; each call uses every core already).

    Parameters
    ----------
    booster : lightgbm.Booster
        The fitted booster; its trees up to the iteration ``Booster.predict``
        uses by default (the best one, or all).
    """

    def __init__(self, booster: Any) -> None:
        import lightgbm

        iterations = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
        text = booster.model_to_string(num_iteration=iterations)
        self.original = booster
        self.per_iteration = booster.num_model_per_iteration()
        self.output = _output_of(text)
        values = _leaf_values(text)
        if len(values) != iterations * self.per_iteration:
            raise ValueError("the model text does not list one tree per iteration and class")
        sizes = np.array([len(v) for v in values])
        self.n_leaves = int(sizes.sum())
        if self.n_leaves < MIN_LEAVES:
            raise ValueError(f"{self.n_leaves} leaves stay in cache: the model is predicted whole")
        self.values = np.concatenate(values)
        self.offsets = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.intp)
        self.blocks = _blocks(sizes.reshape(iterations, self.per_iteration).sum(axis=1))
        self.booster = lightgbm.Booster(model_str=text)  # only for a model big enough to use it
        self._lock = threading.Lock()
        self.checked = False

    @classmethod
    def of(cls, booster: Any) -> LeafBlocks | None:
        """The blocks of a big booster whose output is written here, else None."""
        try:
            return cls(booster)
        except Exception:  # noqa: BLE001  (a small model, an objective or a model text this module does not read)
            logger.debug("LightGBM model predicted whole", exc_info=True)
            return None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """What ``Booster.predict(X)`` gives (X: a float64 array of the booster's features)."""
        raw = np.zeros((X.shape[0], self.per_iteration))
        for start, count in self.blocks:
            with self._lock:
                leaves = self.booster.predict(X, pred_leaf=True, start_iteration=start, num_iteration=count)
            first = start * self.per_iteration
            trees = leaves.shape[1]
            values = self.values[leaves.astype(np.intp) + self.offsets[first : first + trees]]
            for j in range(trees):  # one tree after the other, each added to its class's sum
                raw[:, j % self.per_iteration] += values[:, j]
        return self.output(raw)

    def first(self, X: np.ndarray) -> bool:
        """On the first batch: whether the blocks give ``Booster.predict``'s values on its first rows."""
        head = np.ascontiguousarray(X[:CHECK_ROWS])
        try:
            same = np.array_equal(self.predict(head), self.original.predict(head))
        except Exception:  # noqa: BLE001  (the booster's own path answers)
            logger.debug("LightGBM blocks failed; predicting whole", exc_info=True)
            same = False
        if not same:
            logger.debug("LightGBM blocks differ from Booster.predict; predicting whole")
        self.checked = True
        return same


def _blocks(leaves_per_iteration: np.ndarray) -> list[tuple[int, int]]:
    """(first iteration, iterations) of consecutive blocks of at most :data:`BLOCK_LEAVES` leaves (one at least)."""
    blocks, start, total = [], 0, 0
    for i, leaves in enumerate(leaves_per_iteration.tolist()):
        if i > start and total + leaves > BLOCK_LEAVES:
            blocks.append((start, i - start))
            start, total = i, 0
        total += leaves
    blocks.append((start, len(leaves_per_iteration) - start))
    return blocks


def _leaf_values(text: str) -> list[np.ndarray]:
    """Each tree's leaf values (the index ``pred_leaf`` gives), in the model's order, from its text."""
    values = []
    for line in text.splitlines():
        if line.startswith("leaf_value="):
            values.append(np.array(line[len("leaf_value=") :].split(), dtype=np.float64))
        elif line.startswith("is_linear=") and line.strip() != "is_linear=0":
            raise ValueError("linear trees: a leaf's output depends on the row")
        elif line.startswith("average_output"):
            raise ValueError("an averaged (random forest) model")
    return values


def _output_of(text: str) -> Any:
    """LightGBM's transformation of the raw sums for the model's objective (ValueError for others)."""
    objective = next((line[len("objective=") :] for line in text.splitlines() if line.startswith("objective=")), "")
    name, *options = objective.split()
    if name == "regression" and not options:
        return lambda raw: raw[:, 0]
    if name == "binary" and len(options) == 1 and options[0].startswith("sigmoid:"):
        return _Sigmoid(float(options[0][len("sigmoid:") :]))
    if name in ("multiclass", "softmax") and len(options) == 1 and options[0].startswith("num_class:"):
        return _softmax
    raise ValueError(f"LightGBM objective {objective!r}")


class _Sigmoid:
    """``1 / (1 + exp(-sigmoid * x))`` with the C library's ``exp``, as LightGBM's binary objective converts."""

    def __init__(self, sigmoid: float) -> None:
        self.sigmoid = sigmoid

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + _exp(-self.sigmoid * raw[:, 0]))


def _softmax(raw: np.ndarray) -> np.ndarray:
    """LightGBM's softmax: exp(x - max) with the C library's ``exp``, summed class after class, then divided."""
    shifted = raw - raw.max(axis=1, keepdims=True)
    exps = _exp(shifted)
    total = np.zeros(raw.shape[0])
    for k in range(raw.shape[1]):
        total = total + exps[:, k]
    return exps / total[:, None]


def _exp(x: np.ndarray) -> np.ndarray:
    """The C library's ``exp`` of each element (numpy's own may differ in the last bit)."""
    return np.fromiter(map(math.exp, x.ravel().tolist()), dtype=np.float64, count=x.size).reshape(x.shape)


__all__ = ["LeafBlocks"]
