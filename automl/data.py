"""Checking the user's X and y, inferring the task, and sorting columns by kind."""

from __future__ import annotations

import datetime
import logging
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.exceptions import DataConversionWarning

from automl.exceptions import DataError, DataWarning

logger = logging.getLogger(__name__)

#: an object/string column with more distinct values than this share of rows,
#: all distinct, is treated as an identifier and ignored
ID_MIN_ROWS = 20


@dataclass(frozen=True)
class ColumnInfo:
    """How one input column is used.

    Parameters
    ----------
    name : str
        The column's name in the user's table.
    kind : {"numeric", "categorical", "datetime", "drop"}
        How the column is prepared; ``"drop"`` columns are ignored.
    safe : str
        Name used inside the pipeline (letters, digits and ``_`` only, unique).
    reason : str
        Why the column is dropped, or how it was converted; empty otherwise.
    source : {"number", "bool", "string", "category", "datetime", "timedelta", "object"}
        What the column held.
    """

    name: str
    kind: str
    safe: str
    reason: str = ""
    source: str = "number"


@dataclass(frozen=True)
class Schema:
    """The kind of every input column, decided once on the training table."""

    columns: tuple[ColumnInfo, ...]

    def __repr__(self) -> str:
        kinds = {}
        for c in self.columns:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        return f"Schema({len(self.columns)} columns: " + ", ".join(f"{n} {k}" for k, n in kinds.items()) + ")"

    def names(self, kind: str) -> list[str]:
        """Original names of the columns of one kind."""
        return [c.name for c in self.columns if c.kind == kind]

    @property
    def kept(self) -> tuple[ColumnInfo, ...]:
        """Columns that are not dropped."""
        return tuple(c for c in self.columns if c.kind != "drop")

    @property
    def input_names(self) -> list[str]:
        """Names of all input columns, in training order."""
        return [c.name for c in self.columns]


def _safe_names(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for n in names:
        base = re.sub(r"[^0-9A-Za-z_]+", "_", n).strip("_") or "col"
        if base[0].isdigit():
            base = "c_" + base
        cand, i = base, 1
        while cand in seen:
            i += 1
            cand = f"{base}_{i}"
        seen.add(cand)
        out.append(cand)
    return out


def as_frame(X: Any, argname: str = "X") -> pd.DataFrame:
    """Turn X into a DataFrame with unique string column names, or raise :class:`DataError`."""
    if isinstance(X, pd.DataFrame):
        df = X
    elif isinstance(X, pd.Series):
        raise DataError(
            f"{argname} is a pandas Series; pass a DataFrame: {argname}.to_frame() for one column, "
            f"{argname}.to_frame().T for one row"
        )
    else:
        if hasattr(X, "toarray") and hasattr(X, "nnz"):
            raise DataError(f"{argname} is a sparse matrix; pass a dense array or a DataFrame")
        try:
            arr = np.asarray(X, dtype=None if not isinstance(X, list) else object)
        except Exception as exc:
            raise DataError(
                f"{argname} could not be read as a 2-D table ({exc}); pass a DataFrame or a 2-D array"
            ) from exc
        if arr.ndim == 1:
            raise DataError(
                f"{argname} is 1-dimensional; pass a 2-D table. Reshape your data with {argname}.reshape(-1, 1) "
                "for a single feature"
            )
        if arr.ndim != 2:
            raise DataError(
                f"{argname} must be 2-D, got an array with {arr.ndim} dimensions; "
                "pass one row per sample, one column per feature"
            )
        df = pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])])
        if arr.dtype == object:
            df = df.infer_objects()
    if df.shape[1] == 0:
        raise DataError(
            f"{argname} has 0 feature(s) (shape=({df.shape[0]}, 0)) while a minimum of 1 is required; "
            "pass a table with at least one column"
        )
    names = [str(c) for c in df.columns]
    dup = sorted(n for n, count in Counter(names).items() if count > 1)
    if dup:
        clash = [c for c in df.columns if str(c) in dup]
        how = "" if all(isinstance(c, str) for c in clash) else f" once made strings (the names are {clash[:10]!r})"
        raise DataError(f"{argname} has duplicate column names {dup}{how}; rename them so each is unique")
    if list(df.columns) != names:
        df = df.set_axis(names, axis=1)
    return df


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


def is_duration(dtype: Any) -> bool:
    """True for numpy and pyarrow duration (timedelta) dtypes."""
    return ptypes.is_timedelta64_dtype(dtype) or getattr(dtype, "kind", "") == "m"


def _is_nested(v: Any) -> bool:
    return isinstance(v, (list, tuple, dict, set, np.ndarray))


def _column_kind(s: pd.Series, name: str) -> tuple[str, str, str]:
    """Return (kind, source, reason) for one column, or raise DataError."""
    dtype = s.dtype
    if ptypes.is_bool_dtype(dtype):
        return "numeric", "bool", ""
    if isinstance(dtype, pd.CategoricalDtype):
        return "categorical", "category", ""
    if ptypes.is_complex_dtype(dtype):
        raise DataError(
            f"column {name!r} holds complex numbers (Complex data not supported); "
            "split it into real and imaginary columns"
        )
    if ptypes.is_numeric_dtype(dtype):
        return "numeric", "number", ""
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime", "datetime", ""
    if is_duration(dtype):
        return "numeric", "timedelta", "converted to seconds"
    arrow = str(dtype)
    if arrow.endswith("[pyarrow]"):
        if arrow.startswith("dictionary<"):
            return "categorical", "category", ""
        if arrow.startswith(("list<", "large_list<", "fixed_size_list<", "list_view<", "struct<", "map<")):
            raise DataError(
                f"column {name!r} holds nested values (dtype {dtype}); flatten it into scalar columns or drop it"
            )
    if ptypes.is_string_dtype(dtype) or ptypes.is_object_dtype(dtype):
        values = s.dropna()
        if len(values) and ptypes.is_object_dtype(dtype):
            nested = values.map(_is_nested)
            if nested.any():
                raise DataError(
                    f"column {name!r} holds nested values such as {values[nested].iloc[0]!r}; "
                    "flatten it into scalar columns or drop it"
                )
            kinds = {type(v) for v in values.iloc[:1000]}
            if kinds and all(issubclass(k, (datetime.date, np.datetime64)) for k in kinds):
                return "datetime", "datetime", ""
            if kinds and all(issubclass(k, (datetime.timedelta, np.timedelta64)) for k in kinds):
                return "numeric", "timedelta", "converted to seconds"
            if kinds and all(issubclass(k, (bool, np.bool_)) for k in kinds):
                return "numeric", "bool", ""
            if kinds and all(issubclass(k, (int, float, np.integer, np.floating)) for k in kinds):
                if not any(issubclass(k, (bool, np.bool_)) for k in kinds):
                    return "numeric", "number", ""
            if not all(issubclass(k, str) for k in kinds):
                try:
                    values.astype(str)
                except Exception as exc:
                    raise DataError(
                        f"column {name!r} holds values of unsupported type {sorted(k.__name__ for k in kinds)}: {exc}"
                    ) from exc
                return "categorical", "object", "mixed types read as strings"
        if len(values):
            parsed = pd.to_numeric(values, errors="coerce")
            if parsed.notna().all():
                return "numeric", "string", "numbers written as text"
        return "categorical", "string", ""
    raise DataError(f"column {name!r} has unsupported dtype {dtype}; convert it to numbers or strings")


def infer_schema(X: pd.DataFrame) -> Schema:
    """Decide how every column of a training table is used.

    Constant and all-missing columns are dropped; string columns whose values are
    all distinct (identifiers) are dropped; every other column is numeric,
    categorical or datetime.
    """
    n = len(X)
    infos: list[ColumnInfo] = []
    safes = _safe_names(list(X.columns))
    for name, safe in zip(X.columns, safes, strict=True):
        s = X[name]
        if s.isna().all():  # whatever its dtype
            infos.append(
                ColumnInfo(name=name, kind="drop", safe=safe, reason="all values are missing", source="object")
            )
            continue
        kind, source, reason = _column_kind(s, name)
        n_unique = s.nunique(dropna=False)
        if n_unique <= 1:
            kind, reason = "drop", "constant"
        elif kind == "categorical" and source != "category":
            nonnull = s.dropna()
            if len(nonnull) >= ID_MIN_ROWS and nonnull.nunique() == len(nonnull) and len(nonnull) > 0.9 * n:
                kind, reason = "drop", "every value is distinct (an identifier)"
        infos.append(ColumnInfo(name=name, kind=kind, safe=safe, reason=reason, source=source))
    schema = Schema(tuple(infos))
    for c in schema.columns:
        if c.kind == "drop":
            logger.info("column %r ignored: %s", c.name, c.reason)
    if not schema.kept:
        raise DataError(
            "X has no usable column: every column is constant, empty or an identifier "
            f"({', '.join(f'{c.name!r}: {c.reason}' for c in schema.columns[:10])}); "
            "pass at least one column whose values vary"
        )
    return schema


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


__all__ = [
    "ColumnInfo",
    "Schema",
    "as_frame",
    "check_y",
    "class_labels",
    "drop_missing_target",
    "infer_schema",
    "infer_task",
    "is_duration",
]
