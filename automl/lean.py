"""Lean forms for plugins: how a fitted step or model answers without its per-call checks.

The pipelines the library builds predict through lean forms where they can
(:mod:`automl.pipeline.lean_predict`): a ``prepare`` step as a function of a
numpy array, a model as a function of the stacked array. A plugin's fitted
transformer offers one by defining ``lean_op()`` and a plugin's model by
defining ``lean_op(method)``; each returns a function of a numpy array (or
None for none). The result must equal, element for element, what the step's
own ``transform`` or the model's own ``method`` returns: ensembles check this
on their first call and keep the member's own path when it does not hold.

A model after a transformer that outputs pandas ``category`` columns receives,
in lean form, their codes as floats (NaN for a missing value or a value
outside the categories), as :func:`category_codes` gives them.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from automl.lean_blocks import MIN_ROWS as BLOCK_ROWS
from automl.lean_blocks import LeafBlocks

logger = logging.getLogger(__name__)

#: a lean form: a numpy array in, the step's output (or the model's answer) for it out
LeanOp = Callable[[np.ndarray], np.ndarray]

#: up to this many rows, the lean forms take a table's few-row paths (one pass over all cells, no thread start-up)
FEW_ROWS = 32


class CodeLookup:
    """Positions of strings in a fixed list, found in a dict.

    ``codes(column)`` gives each value's position, ``-1`` for a value outside
    the list or a missing one (the caller tells them apart when it must): what
    ``pandas.Index(values).get_indexer(column)`` gives, three to eight times
    faster on object columns of any length (pandas 3 first infers the
    column's type).
    """

    def __init__(self, values: list[str]) -> None:
        self.positions = {v: i for i, v in enumerate(values)}

    def codes(self, column: np.ndarray) -> np.ndarray:
        """The position of each value of ``column`` (an object array), ``-1`` where there is none."""
        p = self.positions
        return np.array([p.get(v, -1) if isinstance(v, str) else -1 for v in column.tolist()], dtype=np.intp)


class TableCodes:
    """Positions of strings in fixed lists, a list a column: a few rows' cells all looked up in one pass.

    ``codes(X)`` gives each cell's position in its column's list, ``-1`` for a
    value outside the list or a missing one, shape of X. One row of a table of
    forty categorical columns is forty dict lookups in one comprehension, not
    forty calls and forty small arrays. :meth:`shared` gives equal lists one
    instance, so that the lean forms of equal encoders (an ensemble's members
    encode the same columns, often with the same categories) can look a
    call's values up once (see :class:`CodesOp`).
    """

    _shared: weakref.WeakValueDictionary[tuple[tuple[str, ...], ...], TableCodes] = weakref.WeakValueDictionary()
    _shared_lock = threading.Lock()

    def __init__(self, columns: list[list[str]]) -> None:
        self.columns = [CodeLookup(list(values)) for values in columns]
        self._positions = [c.positions for c in self.columns]

    @classmethod
    def shared(cls, columns: list[list[str]]) -> TableCodes:
        """The instance for these lists: the same object for equal lists while any lean form holds it."""
        key = tuple(tuple(values) for values in columns)
        with cls._shared_lock:
            table = cls._shared.get(key)
            if table is None:
                table = cls._shared[key] = cls([list(values) for values in key])
        return table

    def codes(self, X: np.ndarray) -> np.ndarray:
        """The position of each cell of ``X`` (an object array, a column per list), ``-1`` where there is none."""
        if len(X) <= FEW_ROWS:
            positions = self._positions
            rows = X.tolist()
            cells = [
                p.get(v, -1) if isinstance(v, str) else -1 for row in rows for p, v in zip(positions, row, strict=True)
            ]
            return np.array(cells, dtype=np.intp).reshape(X.shape)
        out = np.empty(X.shape, dtype=np.intp)
        for j, lookup in enumerate(self.columns):
            out[:, j] = lookup.codes(X[:, j])
        return out


class CodesOp:
    """A lean form whose work starts from the codes of its input in a :class:`TableCodes`.

    ``op(X)`` is ``op.from_codes(op.codes_table.codes(X), X)``; whoever runs
    several such forms on the same columns in one call (the members of an
    ensemble, :meth:`automl.pipeline.lean_predict.LeanMember.inputs`) can find
    the codes once for all whose ``codes_table`` is the same object.
    ``from_codes`` does not write to the codes.
    """

    codes_table: TableCodes

    def from_codes(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The output for X, whose codes in :attr:`codes_table` are ``codes``."""
        raise NotImplementedError

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return self.from_codes(self.codes_table.codes(X), X)


class _CategoryCodes(CodesOp):
    def __init__(self, categories: list[list[str]]) -> None:
        self.codes_table = TableCodes.shared([list(cats) for cats in categories])

    def from_codes(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        out = codes.astype(np.float64)
        out[codes < 0] = np.nan
        return out


def category_codes(categories: list[list[str]]) -> LeanOp:
    """Codes of strings in fixed categories, as floats with NaN for any other value (or a missing one).

    What LightGBM reads from a pandas ``category`` column; the lean form of
    :class:`~automl.builtins.encoders.CategoryEncoder` (a :class:`CodesOp`).
    """
    return _CategoryCodes(categories)


#: rough costs of numpy on this kind of work: a level of the walk (its fixed part), a tree on a level, a node decided
_LEVEL_SECONDS, _TREE_SECONDS, _NODE_SECONDS = 6e-6, 1e-8, 6e-9


class StackedTrees:
    """The nodes of many trees in one set of arrays, walked together one level per pass.

    On a few rows, a model's own predict spends more on its per-call overhead
    (checks, a thread pool, a call per tree) than on its trees. Stacking every
    tree's nodes into one set of arrays lets all trees take one step in one
    numpy operation, so the walk costs a few operations per level, whatever
    the number of trees. A subclass fills the arrays (:meth:`link` numbers
    them) and says how a number compares with a threshold (:meth:`below`) and,
    when some nodes split on a category, how those decide
    (:meth:`category_goes_left`); :meth:`leaves` gives the leaf each row
    reaches in each tree, from which the subclass adds up its values in the
    model's own order and precision.

    Attributes
    ----------
    feature : ndarray of int
        The column each node reads (any column at a leaf).
    missing_left : ndarray of bool
        Whether a missing value (NaN) goes left at each node.
    next : ndarray of int
        ``next[2 * node + goes_left]`` is the node a value goes to; both entries
        of a leaf are the leaf itself, so a tree that is done stays where it is.
    roots : ndarray of int
        Each tree's first node.
    depth : int
        The most levels of any tree: the number of passes.
    threshold : ndarray
        Each node's threshold, for :meth:`below`.
    categorical_nodes : ndarray of int or None
        The nodes that split on a category (None when none does), and
        ``categorical``, a boolean per node, the same set.
    """

    feature: np.ndarray
    missing_left: np.ndarray
    next: np.ndarray
    roots: np.ndarray
    depth: int
    threshold: np.ndarray
    categorical_nodes: np.ndarray | None = None
    categorical: np.ndarray
    #: category codes below this are decided each on its own; any code at or above it as one
    code_limit: int = 256

    def leaves(self, X: np.ndarray) -> np.ndarray:
        """The leaf each row of X reaches in each tree: shape (rows, trees).

        A few rows go through LightGBM's compiled walk where the trees can be
        written for it (:meth:`at_most`; :class:`automl.lean_native.NativeLeaves`,
        built on the first call). Otherwise the rows' walks are laid end to end
        in flat arrays (a row after another), whose reads are cheaper than a
        two-dimensional index; one row of a model of few nodes and deep trees
        is decided at every node at once instead (:meth:`_leaves_of_one`).
        """
        n_rows, n_columns = X.shape
        if n_rows <= FEW_ROWS:
            native = self._native()
            found = None if native is None else native(X)
            if found is not None:
                return found
        flat = np.ascontiguousarray(X).ravel()
        if n_rows == 1 and self._whole_is_cheaper():
            return self._leaves_of_one(flat)
        node = np.tile(self.roots, n_rows)
        starts = None if n_rows == 1 else np.repeat(np.arange(n_rows) * n_columns, len(self.roots))
        missing = np.isnan(flat).any()
        for _ in range(self.depth):
            column = self.feature[node]
            x = flat[column if starts is None else starts + column]
            left = self.goes_left(node, x)
            if missing:
                left = np.where(np.isnan(x), self.missing_left[node], left)
            node = self.next[2 * node + left]
        return node.reshape(n_rows, len(self.roots))

    def _leaves_of_one(self, row: np.ndarray) -> np.ndarray:
        """The leaves of one row: where it goes at every node, decided at once; then each path, one read a level."""
        lefts, rights = self._children()
        x = row[self.feature]
        left = self.goes_left_everywhere(x)
        if np.isnan(row).any():
            left = np.where(np.isnan(x), self.missing_left, left)
        after = np.where(left, lefts, rights)
        node = self.roots
        for _ in range(self.depth):
            node = after[node]
        return node[None, :]

    def _native(self) -> Any:
        """The trees' :class:`~automl.lean_native.NativeLeaves`, built on first use; None where there is none."""
        native = self.__dict__.get("_native_leaves")
        if native is None:
            from automl.lean_native import NativeLeaves

            try:
                native = NativeLeaves(self)
            except Exception:  # noqa: BLE001  (trees it cannot write, a LightGBM that refuses them: the numpy walk)
                logger.debug("stacked trees not walked by LightGBM", exc_info=True)
                native = False
            self.__dict__["_native_leaves"] = native
        return native or None

    def at_most(self) -> np.ndarray | None:
        """Each node's largest double that goes left, where the model's comparison amounts to one; None otherwise.

        A number goes left when, read as a double, it is at most this value:
        for a model that sends ``x <= threshold`` left, the threshold itself.
        Only then are the trees walked by LightGBM (:meth:`leaves`); a
        subclass that compares otherwise says what its comparison amounts to,
        or leaves the default, None.
        """
        return None

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_native_leaves", None)  # a C handle: built again after a copy
        return state

    def _whole_is_cheaper(self) -> bool:
        """Whether deciding every node costs less than the level-by-level walk, by rough costs of numpy's operations.

        The level walk costs a few operations a level, each with a fixed
        overhead and a share a tree; the whole decision costs a share a node.
        The choice changes the time, never the leaves.
        """
        whole = self.__dict__.get("_whole")
        if whole is None:
            levels = self.depth * (_LEVEL_SECONDS + _TREE_SECONDS * len(self.roots))
            whole = self.__dict__["_whole"] = len(self.feature) * _NODE_SECONDS < levels
        return bool(whole)

    def _children(self) -> tuple[np.ndarray, np.ndarray]:
        """Every node's left child and right child, each in one contiguous array (built on first use)."""
        arrays = self.__dict__.get("_children_of")
        if arrays is None:
            arrays = self.__dict__["_children_of"] = (self.next[1::2].copy(), self.next[0::2].copy())
        return arrays

    def goes_left(self, node: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Whether the value ``x`` read at each ``node`` goes left (NaN is decided by ``missing_left`` afterwards)."""
        left = self.below(x, self.threshold[node])
        if self.categorical_nodes is not None:
            on = np.flatnonzero(self.categorical[node])  # the nodes on a category decide by their sets
            if len(on):
                left[on] = self.category_goes_left(node[on], x[on])
        return left

    def goes_left_everywhere(self, x: np.ndarray) -> np.ndarray:
        """:meth:`goes_left` at every node, ``x[i]`` read at node ``i``, without the reads by node."""
        left = self.below(x, self.threshold)
        on = self.categorical_nodes
        if on is not None:
            left[on] = self.category_goes_left(on, x[on])
        return left

    def mark_categorical(self, nodes: np.ndarray, n_nodes: int) -> None:
        """Record the nodes that split on a category: ``categorical_nodes``, ``categorical`` and ``category_rows``.

        ``category_rows[node]`` is the node's row among ``nodes`` (0 for any
        other node), for a subclass's per-node category tables.
        """
        self.categorical_nodes = np.asarray(nodes, dtype=np.intp)
        self.categorical = np.zeros(n_nodes, dtype=bool)
        self.categorical[self.categorical_nodes] = True
        self.category_rows = np.zeros(n_nodes, dtype=np.intp)
        self.category_rows[self.categorical_nodes] = np.arange(len(self.categorical_nodes))

    def below(self, x: np.ndarray, threshold: np.ndarray) -> np.ndarray:
        """Whether numbers ``x`` go left at nodes of thresholds ``threshold``, as the model compares them."""
        raise NotImplementedError

    def category_goes_left(self, node: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Whether the categorical nodes ``node`` send category codes ``codes`` left."""
        raise NotImplementedError

    @staticmethod
    def index_type(n_nodes: int) -> type[np.signedinteger]:
        """The integer type that numbers ``n_nodes`` nodes in the walk: 32 bits where ``2 * n_nodes`` fits in them.

        A forest can hold millions of nodes; half the bytes a node number is
        half the memory of the walk's links.
        """
        return np.int32 if 2 * n_nodes + 1 < np.iinfo(np.int32).max else np.intp

    @staticmethod
    def link(sizes: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The stacked numbering of trees whose nodes are numbered from 0 in each tree.

        Parameters
        ----------
        sizes : ndarray of int
            Nodes of each tree.
        left, right : ndarray of int
            Each node's children, numbered within its tree; negative at a leaf.

        Returns
        -------
        next : ndarray of int
            ``next`` as the walk reads it (right at ``2 * node``, left at ``2 * node + 1``),
            of :meth:`index_type`.
        leaf : ndarray of bool
            Which nodes are leaves.
        roots : ndarray of int
            Each tree's first node.
        """
        index = StackedTrees.index_type(len(left))
        roots = np.r_[0, np.cumsum(sizes)[:-1]].astype(index)
        shift = np.repeat(roots, sizes)
        pairs = np.empty((len(left), 2), dtype=index)
        np.add(right, shift, out=pairs[:, 0], casting="unsafe")
        np.add(left, shift, out=pairs[:, 1], casting="unsafe")
        leaf = left < 0
        own = np.flatnonzero(leaf)
        pairs[own, 0] = own
        pairs[own, 1] = own
        return pairs.ravel(), leaf, roots


def is_lightgbm(model: Any) -> bool:
    """Whether ``model`` is a fitted LightGBM scikit-learn model."""
    return type(model).__module__.startswith("lightgbm") and hasattr(model, "booster_")


def lightgbm_op(model: Any, method: str) -> LeanOp | None:
    """A fitted LightGBM scikit-learn model's ``method`` through its Booster, as the wrapper calls it.

    On a DataFrame of ``category`` columns the wrapper builds the array of
    float codes (NaN for a missing or unknown value) that the lean form of
    the encoder gives; on an array, it checks it and passes it on.
    """
    booster = model.booster_
    if getattr(model, "objective_", None) is not None and callable(model.objective_):
        return None
    one = single_row_predictor(booster)
    blocks: list[LeafBlocks | None] = []  # found on the first big batch: LightGBM's leaves, block by block

    def raw(X: np.ndarray) -> np.ndarray:
        if one is not None and X.shape == (1, one.n_features) and X.dtype == np.float64:
            return one(X)
        if X.shape[0] >= BLOCK_ROWS and X.dtype == np.float64:
            if not blocks:
                found = LeafBlocks.of(booster)
                blocks.append(found if found is not None and found.first(X) else None)
            if blocks[0] is not None:
                return blocks[0].predict(X)
        return booster.predict(X, **_threads(X))

    raw.releases_gil = True  # type: ignore[attr-defined]  (its trees are walked in LightGBM's code)
    if method == "predict_proba":
        binary = getattr(model, "n_classes_", 0) == 2

        def proba(X: np.ndarray) -> np.ndarray:
            p = raw(X)
            return np.vstack((1.0 - p, p)).transpose() if binary else p

        proba.releases_gil = True  # type: ignore[attr-defined]
        return proba
    if method == "predict" and not hasattr(model, "classes_"):
        return raw
    return None


class _SingleRow:
    """LightGBM's fast prediction of one row: its configuration is parsed once, not on every call.

    ``Booster.predict`` builds a predictor from a parameter string on each call,
    which on one row costs several times the trees. LightGBM's C API keeps one
    for single rows (``LGBM_BoosterPredictForMatSingleRowFast``); it runs the
    same prediction function, so the values are those of ``Booster.predict``
    with the same iterations and ``num_threads=1``. The handle is not safe to
    share between threads: calls take a lock. With ``leaves=True`` it gives
    the leaf each tree sends the row to (LightGBM's ``pred_leaf``), of every
    tree.
    """

    def __init__(self, booster: Any, leaves: bool = False) -> None:
        from lightgbm.basic import _C_API_DTYPE_FLOAT64, _C_API_PREDICT_LEAF_INDEX, _LIB, _c_str, _safe_call

        self._lib, self._check = _LIB, _safe_call
        self._booster = booster  # the handle reads the booster's trees: it must live as long
        self.n_features = booster.num_feature()
        self._n_out = booster.num_trees() if leaves else booster.num_model_per_iteration()
        self._lock = threading.Lock()
        self._handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_C_API_PREDICT_LEAF_INDEX if leaves else 0),  # leaves, or the normal prediction
                ctypes.c_int(0),  # from the first iteration
                ctypes.c_int(0 if leaves else booster.best_iteration),  # as Booster.predict: the best one, or all (0)
                ctypes.c_int(_C_API_DTYPE_FLOAT64),
                ctypes.c_int32(self.n_features),
                _c_str("num_threads=1"),
                ctypes.byref(self._handle),
            )
        )

    def __call__(self, X: np.ndarray) -> np.ndarray:
        out = self.of_row(X[0])
        return out if self._n_out == 1 else out.reshape(1, -1)  # the shape Booster.predict gives one row

    def of_row(self, row: np.ndarray) -> np.ndarray:
        """The output for one row of the booster's features, a flat array."""
        row = np.ascontiguousarray(row, dtype=np.float64)  # the C library reads doubles one after the other
        out = np.empty(self._n_out, dtype=np.float64)
        n = ctypes.c_int64(0)
        with self._lock:
            self._check(
                self._lib.LGBM_BoosterPredictForMatSingleRowFast(
                    self._handle,
                    ctypes.c_void_p(row.ctypes.data),
                    ctypes.byref(n),
                    ctypes.c_void_p(out.ctypes.data),
                )
            )
        return out

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None and handle.value:
            self._lib.LGBM_FastConfigFree(handle)

    def __deepcopy__(self, memo: dict[int, Any]) -> _SingleRow:
        return self  # one handle, freed once

    def __reduce__(self) -> Any:
        raise TypeError("a LightGBM single-row predictor holds a C handle and is not pickled; build it again")


def single_row_predictor(booster: Any, leaves: bool = False) -> _SingleRow | None:
    """A :class:`_SingleRow` for a fitted LightGBM Booster (its leaves with ``leaves``), or None where it has none."""
    try:
        return _SingleRow(booster, leaves)
    except Exception:  # noqa: BLE001  (an older or newer LightGBM: Booster.predict answers, as always)
        return None


#: a thread of a split batch takes at least this many rows (on fewer, starting it costs about what it saves)
SPLIT_ROWS = 512


def split_rows(op: LeanOp, X: np.ndarray) -> np.ndarray:
    """``op(X)``, with the rows of a batch split between the cores this process may use, one thread each.

    For an ``op`` that answers each row on its own and releases the GIL while
    it works (a tree library's predict on a thread of its own): every row's
    answer is the one ``op`` gives it on the whole batch. The cores are
    OpenMP's count, so ``OMP_NUM_THREADS`` and ``threadpoolctl`` limits (one a
    worker, in a search) hold; each thread takes at least :data:`SPLIT_ROWS`
    rows, so a smaller batch runs in one call.
    """
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    n = min(_openmp_effective_n_threads(), len(X) // SPLIT_ROWS)
    if n < 2:
        return op(X)
    with ThreadPoolExecutor(n, thread_name_prefix="automl-rows") as pool:
        return np.concatenate(list(pool.map(op, np.array_split(X, n))))


def _threads(X: np.ndarray) -> dict[str, int]:
    """One thread for a few rows (no pool to start); for more, the Booster's default: OpenMP's, every core.

    Not the model's ``n_jobs`` (the search's one thread a worker, which its
    scikit-learn wrapper passes on): LightGBM splits the rows between its
    threads, so each row's answer is the same with any number of them.
    """
    return {"num_threads": 1} if len(X) <= FEW_ROWS else {}


__all__ = [
    "FEW_ROWS",
    "CodeLookup",
    "CodesOp",
    "LeanOp",
    "StackedTrees",
    "TableCodes",
    "category_codes",
    "is_lightgbm",
    "lightgbm_op",
    "split_rows",
]
