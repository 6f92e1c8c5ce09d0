"""Stacked trees walked by LightGBM's compiled predictor: the leaves of a few rows without a numpy pass per level.

:class:`~automl.lean.StackedTrees` walks every tree one level per numpy pass,
about ten operations a level whatever the trees; a forest or boosted model of
depth 20 costs 0.3 to 0.6 ms a row that way. LightGBM's C library walks a row
through hundreds of trees in tens of microseconds, and its single-row
predictor gives the leaf each tree reaches. :class:`NativeLeaves` writes any
stacked trees as a LightGBM model (its text format), so that the library does
the walk, and maps its leaves back to the stacked nodes: the leaves are the
numpy walk's, and the model adds up their values as before.

The trees keep their own decisions, each written as one LightGBM understands:

- a number goes left when, as a double, it is at most the node's
  :meth:`~automl.lean.StackedTrees.at_most` (what the model's own comparison
  amounts to on the values it reads), a NaN to the node's missing side;
- a category goes left when its code is in the node's set of codes, which is
  read from the model's own decision on every code below ``code_limit``;
  a missing, a negative and a larger code are given codes of their own
  above those, each in the set where the model sends it left.

Rows whose values LightGBM would read otherwise are left to the numpy walk:
a number it takes for zero (``1e-35`` in size or less, not zero) or a
fractional category code.
"""

from __future__ import annotations

import numpy as np

from automl.lean import StackedTrees, single_row_predictor

#: stacked trees of more nodes are not written out (LightGBM's copy of the trees takes about 70 bytes a node)
MAX_NODES = 600_000
#: nodes times codes of the category sets at most (the sets are read from the model's decision on each code)
MAX_CATEGORY_CELLS = 64_000_000
#: category decisions read at once when the sets are written (a block of nodes times codes)
CATEGORY_BLOCK = 1_000_000
#: LightGBM reads a value at most this small as zero (its ``kZeroThreshold``, the float 1e-35)
ZERO = float(np.float32(1e-35))


class NativeLeaves:
    """The leaves of stacked trees found by LightGBM's single-row predictor.

    Parameters
    ----------
    trees : StackedTrees
        Trees whose :meth:`~automl.lean.StackedTrees.at_most` gives their
        numeric decisions as doubles.

    Raises
    ------
    ValueError
        When the trees cannot be written so (too many nodes or category
        cells, a column read both as a number and as a category, nodes out of
        their tree's order, no LightGBM single-row predictor).
    """

    def __init__(self, trees: StackedTrees) -> None:
        bounds = trees.at_most()
        if bounds is None or len(trees.feature) > MAX_NODES:
            raise ValueError("these trees are not written as a LightGBM model")
        tree = _Layout(trees)
        self.n_columns = int(trees.feature.max()) + 1
        self.code_limit = int(trees.code_limit)
        self._category_columns = tree.category_columns.tolist()
        text = _model_text(tree, bounds, _category_sets(trees, tree), self.n_columns)
        import lightgbm

        booster = lightgbm.Booster(model_str=text)
        del text
        self._predict = single_row_predictor(booster, leaves=True)
        if self._predict is None:
            raise ValueError("this LightGBM has no single-row predictor")
        self._leaf_nodes = np.flatnonzero(tree.leaf)
        self._first_leaf = tree.first_leaf

    def __call__(self, X: np.ndarray) -> np.ndarray | None:
        """The stacked leaf each row of X reaches in each tree, shape (rows, trees); None for rows it leaves alone."""
        if X.shape[1] < self.n_columns:
            return None
        found = []
        rows = np.asarray(X[:, : self.n_columns], dtype=np.float64)
        for values in rows.tolist():  # a few rows: Python numbers cost less than numpy calls
            row = self._row(values)
            if row is None:
                return None
            found.append(self._predict.of_row(row))
        return self._leaf_nodes[self._first_leaf + np.array(found).astype(np.intp)]

    def _row(self, values: list[float]) -> np.ndarray | None:
        """One row as the written trees read it (category codes of their own), or None for a value they do not read.

        LightGBM reads a number of size up to ``1e-35`` as zero; a fractional or
        infinite category code is left to the numpy walk.
        """
        for v in values:
            if -ZERO <= v <= ZERO and v != 0:
                return None
        limit = self.code_limit
        for j in self._category_columns:
            v = values[j]
            if v != v:
                values[j] = limit  # missing
            elif not v.is_integer():
                return None
            elif v < 0 or v >= limit:
                values[j] = limit + 1 if v < 0 else limit + 2
        return np.array(values, dtype=np.float64)


class _Layout:
    """How the stacked nodes become LightGBM trees: each tree's internal nodes and leaves numbered in node order."""

    def __init__(self, trees: StackedTrees) -> None:
        n = len(trees.feature)
        nodes = np.arange(n)
        self.starts = np.asarray(trees.roots, dtype=np.intp)
        if self.starts[0] != 0 or (np.diff(self.starts) <= 0).any():
            raise ValueError("the stacked trees are not laid out tree after tree")
        self.sizes = np.diff(np.r_[self.starts, n])
        right, left = trees.next[0::2].astype(np.intp), trees.next[1::2].astype(np.intp)
        self.leaf = (left == nodes) & (right == nodes)
        tree_of = np.repeat(np.arange(len(self.starts)), self.sizes)
        internal = ~self.leaf
        n_internal = np.bincount(tree_of, weights=internal, minlength=len(self.starts)).astype(np.intp)
        n_leaves = self.sizes - n_internal
        if (n_leaves != n_internal + 1).any():
            raise ValueError("a tree has nodes its root does not reach")
        if (internal[self.starts] != (n_internal > 0)).any():
            raise ValueError("a tree does not start at its root")
        self.first_internal = np.r_[0, np.cumsum(n_internal)[:-1]]
        self.first_leaf = np.r_[0, np.cumsum(n_leaves)[:-1]]
        # a node's number in its own LightGBM tree: internal nodes 0, 1, ...; leaves ~0, ~1, ...
        number = np.where(
            internal,
            np.cumsum(internal) - 1 - self.first_internal[tree_of],
            ~(np.cumsum(self.leaf) - 1 - self.first_leaf[tree_of]),
        )
        self.internal = np.flatnonzero(internal)
        self.tree_of_internal = tree_of[self.internal]
        self.feature = trees.feature[self.internal].astype(np.intp)
        self.missing_left = np.asarray(trees.missing_left, dtype=bool)[self.internal]
        self.left, self.right = number[left[self.internal]], number[right[self.internal]]
        self.n_internal, self.n_leaves = n_internal, n_leaves
        on = trees.categorical_nodes
        self.categorical = np.zeros(n, dtype=bool)
        if on is not None:
            self.categorical[on] = True
        cat = self.categorical[self.internal]
        self.category_columns = np.unique(self.feature[cat])
        if np.isin(self.category_columns, self.feature[~cat]).any():
            raise ValueError("a column is read both as a number and as a category")


def _category_sets(trees: StackedTrees, tree: _Layout) -> np.ndarray | None:
    """Each categorical node's set of codes that go left, as LightGBM's bitset words: (nodes, words), uint32.

    Codes ``0 .. code_limit - 1`` go where the model's own decision sends
    them; ``code_limit`` stands for a missing value (the node's missing side),
    ``code_limit + 1`` for a negative code, ``code_limit + 2`` for a code at or
    above the limit. The decisions are read a block of nodes at a time.
    """
    if trees.categorical_nodes is None or not len(trees.categorical_nodes):
        return None
    on = np.sort(trees.categorical_nodes)  # the sets in node order, as the trees are written
    limit = int(trees.code_limit)
    if len(on) * (limit + 3) > MAX_CATEGORY_CELLS:
        raise ValueError("too many category codes to write out")
    codes = np.r_[np.arange(limit), -1, limit].astype(np.float64)
    bits = np.zeros((len(on), -(-(limit + 3) // 32) * 32), dtype=bool)
    block = max(1, CATEGORY_BLOCK // len(codes))
    for start in range(0, len(on), block):
        nodes = np.asarray(on[start : start + block])
        left = trees.category_goes_left(np.repeat(nodes, len(codes)), np.tile(codes, len(nodes)))
        left = np.asarray(left, dtype=bool).reshape(len(nodes), len(codes))
        rows = bits[start : start + block]
        rows[:, :limit] = left[:, :limit]
        rows[:, limit] = trees.missing_left[nodes]
        rows[:, limit + 1 : limit + 3] = left[:, limit:]
    return np.packbits(bits, axis=1, bitorder="little").view("<u4")


def _model_text(tree: _Layout, bounds: np.ndarray, sets: np.ndarray | None, n_columns: int) -> str:
    """The trees in LightGBM's model text: a model to find leaves with, every leaf's value zero."""
    categorical = tree.categorical[tree.internal]
    decision = np.where(categorical, 1, 8 + 2 * tree.missing_left.astype(np.intp))  # NaN is missing; its side
    bounds = np.asarray(bounds, dtype=np.float64)[tree.internal]
    names = " ".join(f"c{j}" for j in range(n_columns))
    lines = ["tree", "version=v4", "num_class=1", "num_tree_per_iteration=1", "label_index=0"]
    lines += [f"max_feature_idx={n_columns - 1}", "objective=regression", f"feature_names={names}"]
    lines += ["feature_infos=" + " ".join("none" for _ in range(n_columns)), ""]
    first_set = 0  # the sets of each tree's categorical nodes follow those of the trees before it
    for t in range(len(tree.starts)):
        a = int(tree.first_internal[t])
        nodes = slice(a, a + int(tree.n_internal[t]))
        cats = categorical[nodes]
        n_cats = int(cats.sum())
        lines += [f"Tree={t}", f"num_leaves={int(tree.n_internal[t]) + 1}", f"num_cat={n_cats}"]
        if tree.n_internal[t]:
            threshold = [repr(v) for v in bounds[nodes].tolist()]
            for k, j in enumerate(np.flatnonzero(cats).tolist()):
                threshold[j] = str(k)  # a categorical node's threshold: its set's number in the tree
            lines += [f"split_feature={_joined(tree.feature[nodes])}", "threshold=" + " ".join(threshold)]
            lines += [f"decision_type={_joined(decision[nodes])}"]
            lines += [f"left_child={_joined(tree.left[nodes])}", f"right_child={_joined(tree.right[nodes])}"]
        lines.append("leaf_value=" + " ".join("0" for _ in range(int(tree.n_internal[t]) + 1)))
        if n_cats:
            assert sets is not None
            words = sets.shape[1]
            lines.append("cat_boundaries=" + " ".join(str(words * k) for k in range(n_cats + 1)))
            lines.append(f"cat_threshold={_joined(sets[first_set : first_set + n_cats].ravel())}")
            first_set += n_cats
        lines += ["is_linear=0", "shrinkage=1", "", ""]
    return "\n".join([*lines, "end of trees", ""])


def _joined(values: np.ndarray) -> str:
    """Integers as LightGBM's text writes them: separated by spaces."""
    return " ".join(map(str, values.tolist()))
