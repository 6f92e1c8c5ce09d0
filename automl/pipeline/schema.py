"""The columns of a table: reading X as a DataFrame, and the kind of every column (the ``Schema`` a pipeline keeps)."""

from __future__ import annotations

import datetime
import logging
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from automl.exceptions import DataError

logger = logging.getLogger(__name__)

#: an object/string column with more distinct values than this share of rows,
#: all distinct, is treated as an identifier and ignored
ID_MIN_ROWS = 20
#: a string column is free text when its values hold at least this many words on average ...
TEXT_MIN_WORDS = 3.0
#: ... and at least this share of its values are distinct (labels repeat; sentences rarely do)
TEXT_MIN_DISTINCT = 0.3
#: the kinds a user may give a column (``AutoML(column_kinds={...})``)
KINDS = ("numeric", "categorical", "text", "drop")


@dataclass(frozen=True)
class ColumnInfo:
    """How one input column is used.

    Parameters
    ----------
    name : str
        The column's name in the user's table.
    kind : {"numeric", "categorical", "text", "datetime", "drop"}
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
    def prepared_kinds(self) -> tuple[str, ...]:
        """The kinds of column the preprocessors receive: numeric (numbers and dates), categorical, text."""
        kinds = {"datetime": "numeric", "numeric": "numeric", "categorical": "categorical", "text": "text"}
        present = {kinds[c.kind] for c in self.kept}
        return tuple(k for k in ("numeric", "categorical", "text") if k in present)

    def without_text(self, reason: str) -> Schema:
        """The schema with its text columns dropped for ``reason``."""
        return Schema(tuple(replace(c, kind="drop", reason=reason) if c.kind == "text" else c for c in self.columns))

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


def looks_like_text(values: pd.Series) -> bool:
    """Whether the non-missing strings ``values`` are free text: several words each, and mostly distinct.

    Labels (``"New York"``, ``"part-time"``) repeat or hold one or two words;
    sentences hold :data:`TEXT_MIN_WORDS` words or more on average and rarely repeat.
    """
    if len(values) < ID_MIN_ROWS:
        return False
    sample = values.iloc[:2000].astype(str)
    words = sample.str.split().str.len().mean()
    return bool(words >= TEXT_MIN_WORDS and sample.nunique() >= TEXT_MIN_DISTINCT * len(sample))


def _automatic_kind(s: pd.Series, name: str, n: int) -> tuple[str, str, str]:
    """(kind, source, reason) of one column by its values alone."""
    if s.isna().all():  # whatever its dtype
        return "drop", "object", "all values are missing"
    kind, source, reason = _column_kind(s, name)
    if s.nunique(dropna=False) <= 1:
        return "drop", source, "constant"
    if kind == "categorical" and source != "category":
        nonnull = s.dropna()
        if looks_like_text(nonnull):
            return "text", source, "free text"
        if len(nonnull) >= ID_MIN_ROWS and nonnull.nunique() == len(nonnull) and len(nonnull) > 0.9 * n:
            return "drop", source, "every value is distinct (an identifier)"
    return kind, source, reason


def _given_kind(name: str, kind: str, automatic: tuple[str, str, str]) -> tuple[str, str, str]:
    """(kind, source, reason) of a column whose kind the user gave; DataError when its values cannot have it."""
    if kind not in KINDS:
        raise DataError(f"column_kinds[{name!r}] = {kind!r}: use one of {', '.join(KINDS)}")
    auto_kind, source, _ = automatic
    if kind == "drop":
        return "drop", source, "dropped by column_kinds"
    if kind == "numeric" and auto_kind not in ("numeric", "drop"):
        raise DataError(
            f"column_kinds[{name!r}] = 'numeric', but column {name!r} holds values that are not numbers "
            f"(it reads as {auto_kind}); convert it with pd.to_numeric first"
        )
    if auto_kind == "datetime" and kind != "datetime":
        raise DataError(f"column_kinds[{name!r}] = {kind!r}, but column {name!r} holds dates")
    if kind == "numeric":
        return "numeric", source, ""
    return kind, "object" if source == "number" and kind == "text" else source, f"{kind} by column_kinds"


def infer_schema(X: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> Schema:
    """Decide how every column of a training table is used.

    Constant and all-missing columns are dropped; string columns whose values are
    all distinct (identifiers) are dropped; string columns of several words per
    value, mostly distinct, are free text (:func:`looks_like_text`); every other
    column is numeric, categorical or datetime.

    Parameters
    ----------
    X : DataFrame
        The training table.
    kinds : mapping, optional
        Column name -> ``"numeric"``, ``"categorical"``, ``"text"`` or ``"drop"``, overriding the
        automatic choice (e.g. a numeric code that is a category, a short text).

    Raises
    ------
    DataError
        When ``kinds`` names a column that does not exist, or a kind its values cannot have.
    """
    n = len(X)
    kinds = dict(kinds or {})
    unknown = [k for k in kinds if k not in X.columns]
    if unknown:
        raise DataError(f"column_kinds names {unknown}, which X does not hold; its columns: {list(X.columns)[:20]}")
    infos: list[ColumnInfo] = []
    safes = _safe_names(list(X.columns))
    for name, safe in zip(X.columns, safes, strict=True):
        automatic = _automatic_kind(X[name], name, n)
        kind, source, reason = _given_kind(name, kinds[name], automatic) if name in kinds else automatic
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


__all__ = ["ID_MIN_ROWS", "KINDS", "ColumnInfo", "Schema", "as_frame", "infer_schema", "is_duration", "looks_like_text"]
