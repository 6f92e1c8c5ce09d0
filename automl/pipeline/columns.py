"""The ``prepare`` step: a ColumnTransformer that, once fitted, transforms without its per-call overhead.

scikit-learn's ColumnTransformer checks and routes its input on every call
(feature names, metadata routing, a joblib dispatch, the output container)
which costs milliseconds on one row, more than the transformers themselves.
Once fitted, the work is: give each branch its columns and stack what the
branches return. :func:`branches` and :func:`stack` do exactly that, for any
fitted ColumnTransformer whose output is a dense array or a DataFrame, so
that ensembles can also share a branch between members
(:mod:`automl.pipeline.ensemble`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_is_fitted

from automl.lean import FEW_ROWS
from automl.pipeline.cleaning import frame_dtypes
from automl.pipeline.lean import transform_op

#: a branch: its name, its fitted transformer and the input columns it reads
Branch = tuple[str, Any, list[str]]


def branches(ct: ColumnTransformer) -> list[Branch] | None:
    """The fitted branches of ``ct`` with the columns each reads, or None when it must run as scikit-learn runs it.

    None for a ColumnTransformer that is not fitted on a DataFrame, weights
    its branches, may return a sparse matrix or outputs something other than
    numpy or pandas.
    """
    names_in = getattr(ct, "feature_names_in_", None)
    positions = getattr(ct, "_transformer_to_input_indices", None)
    if names_in is None or positions is None or ct.transformer_weights or getattr(ct, "sparse_output_", True):
        return None
    if _get_output_config("transform", ct)["dense"] not in ("default", "pandas"):
        return None
    out = []
    for name, trans, columns in ct.transformers_:
        if isinstance(trans, str) and trans == "drop":
            continue
        if isinstance(trans, str) or np.isscalar(columns) or name not in positions:
            return None  # a scalar selection gives 1-D input: leave it to scikit-learn
        labels = [str(n) for n in names_in[positions[name]]]
        if labels:
            out.append((name, trans, labels))
    return out


def stack(ct: ColumnTransformer, Xs: list[Any], X: pd.DataFrame) -> Any:
    """What ``ct.transform(X)`` returns, from the outputs ``Xs`` of its branches (in :func:`branches` order)."""
    if not Xs:
        return np.zeros((len(X), 0))
    Xs = [x.toarray() if sparse.issparse(x) else x for x in Xs]
    if _get_output_config("transform", ct)["dense"] != "pandas":
        return np.hstack(Xs)
    if all(isinstance(x, pd.DataFrame) for x in Xs):
        out = pd.concat([x.set_axis(range(x.shape[1]), axis=1) for x in Xs], axis=1)
        out.columns = ct.get_feature_names_out()
        out.index = X.index
        return out
    return pd.DataFrame(np.hstack(Xs), columns=ct.get_feature_names_out(), index=X.index)


def _run(trans: Any, op: Any, X: pd.DataFrame, labels: list[str], values: np.ndarray | None) -> Any:
    """``trans.transform(X[labels])``, in lean form on the branch's float or object values when it has one.

    ``values`` are the branch's columns already read (see :func:`few_rows_values`), or None.
    """
    if op is not None:
        if values is None:
            values = X[labels].to_numpy()
        if values.dtype == np.float64 or values.dtype == object:
            return op(values)
    return trans.transform(X[labels])


def few_rows_values(X: pd.DataFrame, positions: list[np.ndarray]) -> list[np.ndarray | None]:
    """The values of the columns at each of ``positions`` in ``X``, from one conversion of a few rows.

    The values ``X.iloc[:, p].to_numpy()`` gives for columns that are all
    float64 or all object (not necessarily in its memory layout: the lean forms
    of branches work element by element); None for other selections. Selecting
    columns by name costs half a millisecond a call in pandas 3, more than a
    lean branch's own work on one row.
    """
    dtypes = frame_dtypes(X)
    table = None
    out: list[np.ndarray | None] = []
    for pos in positions:
        kinds = set(dtypes[pos].tolist())
        if kinds != _FLOATS and kinds != _OBJECTS:
            out.append(None)
            continue
        if table is None:
            table = X.to_numpy(dtype=object)
        out.append(np.array(table[:, pos], dtype=np.float64) if kinds == _FLOATS else table[:, pos])
    return out


_FLOATS = {np.dtype(np.float64)}
_OBJECTS = {np.dtype(object)}


class PrepareColumns(ColumnTransformer):
    """A ColumnTransformer (same parameters and attributes) whose fitted ``transform`` skips the per-call overhead.

    A fitted one given a DataFrame with the columns it was fitted on runs each
    branch on its columns and stacks the results, which is what
    ColumnTransformer does after checking its input; anything else (an array,
    missing columns) goes through ColumnTransformer itself, with its checks and
    messages.
    """

    def transform(self, X: Any, **params: Any) -> Any:
        """Transform X by each branch and stack the results (see :class:`~sklearn.compose.ColumnTransformer`)."""
        parts = self._branches() if not params and isinstance(X, pd.DataFrame) else None
        if (
            parts is None
            or not X.columns.is_unique
            or not all(c in X.columns for _, _, labels in parts for c in labels)
        ):
            return super().transform(X, **params)
        check_is_fitted(self)
        if len(X) > FEW_ROWS:  # on many rows the checks cost little; the lean forms are not worth finding
            return stack(self, [trans.transform(X[labels]) for _, trans, labels in parts], X)
        ops = self._lean_ops(parts)
        read = few_rows_values(X, self._positions(X.columns, parts))
        done = [_run(trans, op, X, labels, v) for (_, trans, labels), op, v in zip(parts, ops, read, strict=True)]
        return stack(self, done, X)

    def _positions(self, columns: pd.Index, parts: list[Branch]) -> list[np.ndarray]:
        """Positions in ``columns`` of each branch's columns (found again only for other columns)."""
        cached = self.__dict__.get("_positions_cache")
        if cached is None or cached[1] is not parts or not (cached[0] is columns or cached[0].equals(columns)):
            positions = [columns.get_indexer(labels) for _, _, labels in parts]
            cached = self.__dict__["_positions_cache"] = (columns, parts, positions)
        return cached[2]

    def _lean_ops(self, parts: list[Branch]) -> list[Any]:
        """Each branch's lean form (:mod:`automl.pipeline.lean`), for array output only (found once, not pickled)."""
        cached = self.__dict__.get("_lean_cache")
        if cached is None or cached[0] is not parts:
            pandas = _get_output_config("transform", self)["dense"] == "pandas"
            ops = [None if pandas else transform_op(trans) for _, trans, _ in parts]
            cached = self.__dict__["_lean_cache"] = (parts, ops)
        return cached[1]

    def _branches(self) -> list[Branch] | None:
        """:func:`branches` of this fit and output setting, found once (not pickled; a new fit finds them again)."""
        fitted = getattr(self, "transformers_", None)
        if fitted is None:
            return None
        key = (fitted, _get_output_config("transform", self)["dense"])
        cached = self.__dict__.get("_branches_cache")
        if cached is None or cached[0][0] is not key[0] or cached[0][1] != key[1]:
            cached = self.__dict__["_branches_cache"] = (key, branches(self))
        return cached[1]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_branches_cache", None)
        state.pop("_lean_cache", None)
        state.pop("_positions_cache", None)
        return state


__all__ = ["Branch", "PrepareColumns", "branches", "stack"]
