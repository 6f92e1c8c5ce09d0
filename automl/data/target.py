"""The target: reading y, inferring the task, and the one check of y for the task chosen."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.exceptions import DataConversionWarning

from automl.context import TASKS
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


def resolve_task(task: str, y: pd.Series) -> str:
    """The task to solve: ``task`` when it names one, else inferred from ``y``.

    ``"classification"`` takes binary or multiclass from the number of classes;
    a target of many distinct numbers is then classes if they are whole numbers
    (:func:`encode_target` refuses them otherwise, and suggests a regression).
    """
    if task in TASKS:
        return task
    guess = infer_task(y)
    if task == "classification" and guess == "regression":
        guess = "binary" if y.nunique() <= 2 else "multiclass"
    return guess


@dataclass(frozen=True)
class Target:
    """The target, checked for its task.

    Attributes
    ----------
    values : ndarray
        y in the user's labels (classification) or as float (regression).
    codes : ndarray
        Class indices 0..k-1 for classification; the float target for regression.
    classes : ndarray or None
        Sorted class labels; None for regression.
    """

    values: np.ndarray
    codes: np.ndarray
    classes: np.ndarray | None


def encode_target(y: pd.Series, task: str) -> Target:
    """Check y for ``task`` and encode it; the one place where y is judged.

    Raises
    ------
    DataError
        A regression target that is not numbers or holds infinite values; class
        labels of mixed or unusable types; a single class; more than two
        classes for ``task="binary"``.
    """
    if task == "regression":
        try:
            values = pd.to_numeric(y, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as exc:
            raise DataError(
                f"y holds non-numeric values ({exc}); a regression target must be numbers: convert it, "
                "or use AutoMLClassifier for class labels"
            ) from exc
        if not np.all(np.isfinite(values)):
            raise DataError("y holds infinite values; replace or drop them")
        return Target(values, values, None)
    values = class_labels(y)
    try:
        classes, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:
        kinds = sorted({type(v).__name__ for v in values})
        raise DataError(f"y mixes value types {kinds}; give every class label the same type") from exc
    if len(classes) < 2:
        raise DataError(
            f"y has only one class ({getattr(classes[0], 'item', lambda: classes[0])()!r} on every row); "
            "classification needs at least two: "
            "pass rows of another class, or use task='regression' for a numeric target"
        )
    if task == "binary" and len(classes) > 2:
        raise DataError(f"task='binary' but y has {len(classes)} classes; use task='multiclass'")
    return Target(values, codes.astype(np.int64), classes)


def known_target(y: pd.Series, classes: np.ndarray | None) -> np.ndarray:
    """Encode a target to score a fitted model on: class indices in ``classes``, or floats (``classes`` None).

    Raises
    ------
    DataError
        When y holds a class not seen in training.
    """
    if classes is None:
        return pd.to_numeric(y).to_numpy(dtype=float)
    values = np.asarray(y.to_numpy(), dtype=classes.dtype)
    pos = np.clip(np.searchsorted(classes, values), 0, len(classes) - 1)
    if not np.array_equal(classes[pos], values):
        unknown = sorted({str(v) for v in values[classes[pos] != values]})[:5]
        raise DataError(
            f"y holds classes {unknown} not seen in training (classes_ is {classes.tolist()[:20]}); "
            "score on rows of the training classes"
        )
    return pos


def check_sample_weight(sample_weight: Any, n_rows: int) -> np.ndarray:
    """``sample_weight`` as floats, one per row, or raise :class:`DataError` naming it."""
    weights = np.asarray(sample_weight, dtype=float)
    if weights.shape != (n_rows,):
        raise DataError(f"sample_weight has shape {weights.shape} but X has {n_rows} rows; pass one weight per row")
    if not np.all(np.isfinite(weights)) or (weights < 0).any():
        raise DataError("sample_weight holds negative, NaN or infinite values; pass weights >= 0")
    return weights


__all__ = [
    "Target",
    "check_sample_weight",
    "check_y",
    "class_labels",
    "drop_missing_target",
    "encode_target",
    "infer_task",
    "known_target",
    "resolve_task",
]
