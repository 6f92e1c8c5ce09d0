"""The target: reading y, inferring the task, and the one check of y for the task chosen."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.exceptions import DataConversionWarning

from automl.exceptions import DataError, DataWarning


def check_y(y: Any, n_rows: int) -> pd.Series:
    """Return y as a Series aligned to X's rows, or raise :class:`DataError`."""
    if y is None:
        raise DataError("requires y to be passed, but the target y is None; pass the target values, one per row of X")
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise DataError(f"y has {y.shape[1]} columns; pass one target column")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        s = y.reset_index(drop=True)
    else:
        arr = np.asarray(y)
        if arr.ndim == 2 and arr.shape[1] == 1:
            warnings.warn(
                "A column-vector y was passed when a 1d array was expected; it is used as a 1d array",
                DataConversionWarning,
                stacklevel=3,
            )
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise DataError(f"y must be 1-dimensional, got shape {arr.shape}; pass one target column")
        s = pd.Series(arr)
    if len(s) != n_rows:
        raise DataError(f"X has {n_rows} rows but y has {len(s)}; pass one target value per row of X")
    return s


def infer_task(y: pd.Series) -> str:
    """Guess the task from the target values.

    Strings, booleans and categoricals are classification; numbers with two
    distinct values are binary; integers with at most 20 distinct values (and
    no more than a fifth of the rows) are multiclass; everything else is regression.
    """
    values = y.dropna()
    n_unique = values.nunique()
    if n_unique <= 2:
        return "binary"
    if (
        isinstance(y.dtype, pd.CategoricalDtype)
        or not ptypes.is_numeric_dtype(y.dtype)
        or (ptypes.is_bool_dtype(y.dtype))
    ):
        return "multiclass"
    v = values.to_numpy(dtype=float)
    if np.all(np.isfinite(v)) and np.all(v == np.round(v)) and n_unique <= 20 and n_unique <= 0.2 * len(v):
        return "multiclass"
    return "regression"


def _scalar_kinds(values: np.ndarray) -> set[str]:
    """The kinds of Python scalars in an object array: "bool", "int", "float", "str" or type names."""
    kinds = set()
    for v in values:
        if isinstance(v, (bool, np.bool_)):
            kinds.add("bool")
        elif isinstance(v, (int, np.integer)):
            kinds.add("int")
        elif isinstance(v, (float, np.floating)):
            kinds.add("float")
        elif isinstance(v, str):
            kinds.add("str")
        else:
            kinds.add(type(v).__name__)
    return kinds


def class_labels(y: pd.Series) -> np.ndarray:
    """Return the class labels of a classification target as a numpy array scikit-learn accepts.

    Nullable and pyarrow-backed dtypes become plain numpy ones (``Int64`` becomes
    ``int64``, ``boolean`` becomes ``bool``), categoricals take the dtype of their
    categories, and object arrays of one scalar kind take that kind's dtype.

    Parameters
    ----------
    y : Series
        The target without missing values.

    Returns
    -------
    ndarray
        int64, bool, float64 (integer values only) or object (strings and other
        labels of one type).

    Raises
    ------
    DataError
        When the labels mix types (numbers and strings), or are numbers that are
        not integers (a regression target, or labels to write as strings).
    """
    if isinstance(y.dtype, pd.CategoricalDtype):
        y = y.astype(y.cat.categories.dtype)
    dtype = y.dtype
    if ptypes.is_complex_dtype(dtype):
        raise DataError("y holds complex numbers (Complex data not supported); use integers or strings as class labels")
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        values = y.to_numpy()
    elif ptypes.is_bool_dtype(dtype):
        values = y.to_numpy(dtype=bool)
    elif ptypes.is_integer_dtype(dtype):
        values = y.to_numpy(dtype=np.int64)
    elif ptypes.is_float_dtype(dtype):
        values = y.to_numpy(dtype=float)
    else:
        values = np.asarray(y.to_numpy(dtype=object), dtype=object)
        inferred = ptypes.infer_dtype(values, skipna=True)
        if inferred == "boolean":
            values = values.astype(bool)
        elif inferred == "integer":
            values = values.astype(np.int64)
        elif inferred in ("floating", "mixed-integer-float"):
            values = values.astype(float)
        elif inferred != "string" and len(values):
            kinds = sorted(_scalar_kinds(values))
            if len(kinds) > 1:
                raise DataError(f"y mixes value types {kinds}; give every class label the same type")
            raise DataError(f"y holds class labels of type {kinds}; use strings or integers as class labels")
    if values.dtype.kind == "f":
        if not np.all(np.isfinite(values)):
            raise DataError("y holds infinite values; replace or drop them")
        fractional = values[values != np.round(values)]
        if len(fractional):
            n_unique = len(np.unique(values))
            if infer_task(pd.Series(values)) == "regression":
                raise DataError(
                    f"y looks continuous ({n_unique} distinct values, such as {float(fractional[0]):g}): a regression "
                    "target, not class labels; use AutoMLRegressor or AutoML(task='regression')"
                )
            raise DataError(
                f"y holds class labels that are not whole numbers (such as {float(fractional[0]):g}), which the models "
                "cannot use as classes; convert them to strings (y.astype(str)) or integers, "
                "or use task='regression' if y is a quantity"
            )
    return values


def drop_missing_target(X: pd.DataFrame, y: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Drop rows whose target is missing, with a :class:`DataWarning`."""
    missing = y.isna().to_numpy()
    if missing.any():
        if missing.all():
            raise DataError("y has no values: every target value is missing; pass the target values of the rows of X")
        warnings.warn(
            f"y is missing on {int(missing.sum())} of {len(y)} rows; those rows are not used",
            DataWarning,
            stacklevel=3,
        )
        keep = ~missing
        X = X.loc[keep].reset_index(drop=True)
        y = y.loc[keep].reset_index(drop=True)
    return X, y


__all__ = ["check_y", "class_labels", "drop_missing_target", "infer_task"]
