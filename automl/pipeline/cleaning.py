"""The first step of every pipeline: align the input table and give each column one clean dtype."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from automl.exceptions import DataError, DataWarning
from automl.lean import FEW_ROWS
from automl.pipeline.schema import ColumnInfo, Schema, as_frame, infer_schema, is_duration
from automl.specs import MISSING

_DATE_PARTS = ("year", "month", "day", "dayofweek", "hour", "epoch_days")
#: the pandas accessor of each part whose output name differs from it
_DATE_ACCESSORS = {"dayofweek": "day_of_week"}


def _to_float(s: pd.Series, info: ColumnInfo) -> np.ndarray:
    if info.source == "timedelta" or is_duration(s.dtype):
        try:
            if not isinstance(s.dtype, np.dtype) or s.dtype == object:
                # pyarrow durations (their total_seconds overflows) and Python timedeltas
                s = pd.to_timedelta(s.astype(object) if s.dtype != object else s).astype("timedelta64[ns]")
            return s.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
        except (ValueError, TypeError, AttributeError) as exc:
            raise DataError(
                f"column {info.name!r} held durations in training but its values cannot be read as durations "
                f"({exc}); convert it to timedeltas (pd.to_timedelta) before predicting"
            ) from exc
    if ptypes.is_bool_dtype(s.dtype) or ptypes.is_numeric_dtype(s.dtype):
        if ptypes.is_complex_dtype(s.dtype):
            raise DataError(
                f"column {info.name!r} holds complex numbers (Complex data not supported); "
                "it held real numbers in training"
            )
        return s.astype("float64").to_numpy(dtype=float, na_value=np.nan)
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    values = s.where(s.notna(), None)
    if info.source == "bool":
        mapped = values.map(lambda v: np.nan if v is None else float(bool(v)) if isinstance(v, (bool, np.bool_)) else v)
        values = mapped
    parsed = pd.to_numeric(values, errors="coerce")
    bad = parsed.isna() & s.notna()
    if bad.any() and info.source != "string":
        example, count = s[bad].iloc[0], int(bad.sum())
        held, to = ("booleans", "True/False") if info.source == "bool" else ("numbers", "numbers")
        raise DataError(
            f"column {info.name!r} held {held} in training but now holds {example!r} "
            f"({count} such value{'s' if count > 1 else ''}); convert it to {to} before predicting"
        )
    return parsed.to_numpy(dtype=float, na_value=np.nan)


try:  # pandas 3: a frame from its blocks, in one step
    from pandas.api.internals import create_dataframe_from_blocks as _from_blocks
except ImportError:  # pragma: no cover - pandas 2
    _from_blocks = None


def frame_dtypes(df: pd.DataFrame) -> np.ndarray:
    """The dtypes of ``df``'s columns as one array.

    Read from the frame's blocks where pandas has them: ``df.dtypes`` builds a
    Series, which on a few rows costs more than the rows.
    """
    get = getattr(getattr(df, "_mgr", None), "get_dtypes", None)
    dtypes = get() if callable(get) else None
    if isinstance(dtypes, np.ndarray) and len(dtypes) == df.shape[1]:
        return dtypes
    return df.dtypes.to_numpy()


def _plain_number(dtype: Any) -> bool:
    """True for numpy bool, integer and float dtypes (converted to float64 in one block)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


#: up to this many plain numeric columns are read one by one: selecting them together costs more on few rows
_ONE_BY_ONE = 32


def numeric_values(df: pd.DataFrame, infos: Sequence[ColumnInfo]) -> tuple[np.ndarray, list[str]]:
    """Float64 values of numeric columns, and the names of the columns that held infinite values.

    Columns of numpy numeric dtypes are converted together, which keeps wide
    tables fast; the others (nullable, pyarrow, object, timedelta) one by one.
    Infinite values become NaN: the models treat them as missing.

    Parameters
    ----------
    df : DataFrame
        The table, with the columns named in ``infos``.
    infos : sequence of ColumnInfo
        The numeric columns to convert.

    Returns
    -------
    values : ndarray of shape (n_rows, len(infos))
        Column-major float64 values.
    infinite : list of str
        Names of the columns that held ``inf`` or ``-inf``.
    """
    dtypes = df.dtypes
    values = np.empty((len(df), len(infos)), dtype=float, order="F")
    plain = [i for i, c in enumerate(infos) if _plain_number(dtypes[c.name])]
    if len(plain) > _ONE_BY_ONE:
        values[:, plain] = df[[infos[i].name for i in plain]].to_numpy(dtype=float)
    done = set(plain) if len(plain) > _ONE_BY_ONE else set()
    for i, c in enumerate(infos):
        if i not in done:
            s = df[c.name]
            values[:, i] = s.to_numpy() if i in plain else _to_float(s, c)
    return values, _infinite_to_nan(values, infos)


def _infinite_to_nan(values: np.ndarray, infos: Sequence[ColumnInfo]) -> list[str]:
    """Set the infinite ``values`` to NaN, in place; return the names of their columns."""
    inf = np.isinf(values)
    if not inf.any():
        return []
    values[inf] = np.nan
    return [c.name for c, bad in zip(infos, inf.any(axis=0), strict=True) if bad]


def infinite_columns(df: pd.DataFrame, infos: Sequence[ColumnInfo]) -> list[str]:
    """Names of the numeric columns that hold ``inf`` or ``-inf``, read one column at a time.

    Unlike :func:`numeric_values` this builds no float copy of the whole table.
    """
    dtypes = df.dtypes
    out = []
    for c in infos:
        s = df[c.name]
        values = s.to_numpy() if _plain_number(dtypes[c.name]) else _to_float(s, c)
        if values.dtype.kind == "f" and np.isinf(values).any():
            out.append(c.name)
    return out


def infinite_message(names: Sequence[str], argname: str = "X") -> str:
    """The :class:`DataWarning` text for columns that hold infinite values."""
    shown = list(names[:20]) + (["..."] if len(names) > 20 else [])
    return (
        f"{argname} holds infinite values in {len(names)} column(s) {shown}; they are treated as missing "
        f"values. To silence this, replace them first, e.g. {argname}.replace([np.inf, -np.inf], np.nan)"
    )


def _to_datetime(s: pd.Series, info: ColumnInfo) -> pd.Series:
    if (ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype)) and s.notna().any():
        raise DataError(
            f"column {info.name!r} held dates in training but now holds numbers of dtype {s.dtype}; "
            "convert it to dates (pd.to_datetime) before predicting"
        )
    try:
        with warnings.catch_warnings():
            # strings of dates in no single format are parsed one by one: that is fine here
            warnings.filterwarnings("ignore", message="Could not infer format", category=UserWarning)
            d = pd.to_datetime(s, errors="raise", utc=True)
            if not isinstance(d.dtype, pd.DatetimeTZDtype):  # pyarrow timestamps: use numpy's
                d = d.astype("datetime64[us, UTC]")
    except Exception as exc:
        raise DataError(
            f"column {info.name!r} held dates in training but its values cannot be read as dates ({exc}); "
            "convert it to dates (pd.to_datetime) before predicting"
        ) from exc
    return d.dt.tz_convert(None)


@dataclass(frozen=True)
class _Layout:
    floats: pd.Index
    strings: pd.Index
    #: positions that put the float and string blocks side by side into output order (None: already in order)
    order: np.ndarray | None
    #: the output columns, and where in them the float and the string columns go
    names: pd.Index
    places: tuple[np.ndarray, np.ndarray]


class TableCleaner(TransformerMixin, BaseEstimator):
    """Align a table to the training columns and give each column one clean dtype.

    Numeric, boolean and timedelta columns become float64 (NaN for missing);
    categorical and string columns become ``object`` strings (NaN for missing);
    datetime columns become numeric parts (year, month, day, day of week, hour,
    days since 1970). Constant, empty and identifier columns are dropped. A
    categorical column without a single value in the rows ``fit`` sees (a small
    cross-validation fold can be like that) has its missing values written as
    ``"__missing__"``, because encoders drop or reject a column that is all
    missing. At predict time, columns are matched by name (extra ones ignored,
    order free); a numpy array is accepted when its width matches. Infinite
    numbers are treated as missing, with a :class:`~automl.DataWarning`.

    Parameters
    ----------
    schema : Schema, optional
        How each column is used. When None, it is inferred from the table given to ``fit``.

    Attributes
    ----------
    schema_ : Schema
        The schema used.
    empty_ : tuple of str
        The categorical columns that had no value in ``fit``.
    feature_names_out_ : ndarray of str
        Names of the output columns.
    """

    def __init__(self, schema: Schema | None = None) -> None:
        self.schema = schema

    def fit(self, X: Any, y: Any = None) -> TableCleaner:
        """Learn the column layout of X."""
        df = as_frame(X)
        self.schema_ = self.schema if self.schema is not None else infer_schema(df)
        if self.schema_.input_names != list(df.columns):
            missing = [n for n in self.schema_.input_names if n not in df.columns]
            if missing:
                raise DataError(f"X lacks columns {missing} that the schema names")
        self.n_features_in_ = df.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(df.columns, dtype=object)
        self.empty_ = tuple(c.name for c in self.schema_.kept if c.kind == "categorical" and df[c.name].isna().all())
        self.date_parts_: dict[str, tuple[str, ...]] = {}
        for c in self.schema_.kept:
            if c.kind == "datetime":
                d = _to_datetime(df[c.name], c)
                parts = [p for p in _DATE_PARTS if p != "hour" or (d.dt.hour.fillna(0) != 0).any()]
                self.date_parts_[c.name] = tuple(parts)
        names: list[str] = []
        kinds: list[str] = []
        for c in self.schema_.kept:
            if c.kind == "datetime":
                names += [f"{c.safe}_{p}" for p in self.date_parts_[c.name]]
                kinds += ["numeric"] * len(self.date_parts_[c.name])
            else:
                names.append(c.safe)
                kinds.append(c.kind)
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.kinds_out_ = tuple(kinds)
        return self

    def _align(self, X: Any) -> pd.DataFrame:
        """X as a DataFrame that holds the training columns (by name; others are ignored, order is free)."""
        names = self.schema_.input_names
        if isinstance(X, pd.DataFrame):
            df = as_frame(X)
            if list(df.columns) != names:
                missing = [n for n in names if n not in df.columns]
                if missing:
                    raise DataError(
                        f"X lacks {len(missing)} column(s) seen in training: {missing[:20]}; "
                        "pass a table with the training columns (extra columns are ignored)"
                    )
            return df
        df = as_frame(X)
        if df.shape[1] != len(names):
            raise DataError(
                f"X has {df.shape[1]} columns but {len(names)} were seen in training; "
                "pass a DataFrame with the training column names, or an array of the same width"
            )
        return df.set_axis(names, axis=1)

    def transform(self, X: Any) -> pd.DataFrame:
        """Return the cleaned table, columns in the order of ``get_feature_names_out()``.

        Infinite numeric values become NaN (missing), with a :class:`DataWarning`
        naming their columns. The table is built in two blocks (floats, strings)
        and each input column is read once, so that a call on a few rows costs
        little more than the pandas objects it returns.
        """
        values, strings = self.blocks(X)
        index = pd.RangeIndex(len(values))
        layout = self._layout()
        if _from_blocks is not None:  # pandas 3: the frame is the two blocks, placed in output order, not copied
            parts = [(values.T, layout.places[0])] if len(layout.floats) else []
            if strings is not None:
                parts.append((strings.T, layout.places[1]))
            return _from_blocks(parts, index=index, columns=layout.names)
        blocks = [pd.DataFrame(values, columns=layout.floats, index=index, copy=False)] if len(layout.floats) else []
        if strings is not None:
            blocks.append(pd.DataFrame(strings, columns=layout.strings, index=index, dtype=object))
        res = blocks[0] if len(blocks) == 1 else pd.concat(blocks, axis=1)
        return res if layout.order is None else res.iloc[:, layout.order]

    def blocks(self, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
        """The cleaned table as two arrays: float64 columns, and object columns of strings (None when there are none).

        ``transform`` is these blocks side by side in output order; the names of
        their columns are :meth:`block_columns`. The checks, errors and
        warnings are those of ``transform``.
        """
        check_is_fitted(self, "schema_")
        df = self._align(X)
        kept = self.schema_.kept
        numeric = [c for c in kept if c.kind == "numeric"]
        strings = [c for c in kept if c.kind in ("categorical", "text")]
        if len(df) <= FEW_ROWS and len(numeric) + len(strings) == len(kept):
            few = self._few_rows(df, numeric, strings)
            if few is not None:
                return few
        values, infinite = numeric_values(df, numeric)
        if infinite:
            warnings.warn(infinite_message(infinite), DataWarning, stacklevel=3)
        dates = [c for c in kept if c.kind == "datetime"]
        if dates:
            parts = [self._date_parts(df[c.name], c) for c in dates]
            values = np.column_stack([values, *parts]) if numeric else np.column_stack(parts)
        return values, (self._strings(df, strings) if strings else None)

    def _few_rows(
        self, df: pd.DataFrame, numeric: list[ColumnInfo], strings: list[ColumnInfo]
    ) -> tuple[np.ndarray, np.ndarray | None] | None:
        """:meth:`blocks` of a few rows from one object array of the table, or None unless every number is numpy's.

        Reading a few rows column by column costs more in pandas than the
        values; one conversion of the whole table gives the same values (a
        numpy number becomes the same float64 either way).
        """
        positions = self._positions(df.columns, numeric, strings)
        dtypes = frame_dtypes(df)
        if not all(_plain_number(dtype) for dtype in dtypes[positions[: len(numeric)]]):
            return None
        table = df.to_numpy(dtype=object)
        values = np.array(table[:, positions[: len(numeric)]], dtype=np.float64)
        infinite = _infinite_to_nan(values, numeric)
        if infinite:
            warnings.warn(infinite_message(infinite), DataWarning, stacklevel=4)
        if not strings:
            return values, None
        return values, self._as_strings(table[:, positions[len(numeric) :]], strings)

    def _positions(self, columns: pd.Index, numeric: list[ColumnInfo], strings: list[ColumnInfo]) -> np.ndarray:
        """Positions in ``columns`` of the numeric then the string columns (kept for the same columns)."""
        cached = self.__dict__.get("_positions_cache")
        if cached is None or not (cached[0] is columns or cached[0].equals(columns)):
            cached = (columns, columns.get_indexer([c.name for c in [*numeric, *strings]]))
            self.__dict__["_positions_cache"] = cached
        return cached[1]

    def block_columns(self) -> tuple[list[str], list[str]]:
        """Names of the columns of the two :meth:`blocks`: the float columns, the string columns."""
        check_is_fitted(self, "schema_")
        layout = self._layout()
        return list(layout.floats), list(layout.strings)

    def _layout(self) -> _Layout:
        """Column names of the float and string blocks and how to order them (computed once, not pickled)."""
        layout = self.__dict__.get("_layout_cache")
        if layout is None:
            kept = self.schema_.kept
            floats = [c.safe for c in kept if c.kind == "numeric"]
            for c in kept:
                if c.kind == "datetime":
                    floats += [f"{c.safe}_{p}" for p in self.date_parts_[c.name]]
            strings = [c.safe for c in kept if c.kind in ("categorical", "text")]
            both = pd.Index(floats + strings, dtype=object)
            names = pd.Index(self.feature_names_out_, dtype=object)
            order = None if both.equals(names) else both.get_indexer(names)
            place = np.arange(len(both)) if order is None else np.argsort(order)
            places = (place[: len(floats)], place[len(floats) :])
            layout = _Layout(pd.Index(floats, dtype=object), pd.Index(strings, dtype=object), order, names, places)
            self.__dict__["_layout_cache"] = layout
        return layout

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_layout_cache", None)
        state.pop("_positions_cache", None)
        return state

    def _strings(self, df: pd.DataFrame, infos: Sequence[ColumnInfo]) -> np.ndarray:
        """The categorical and text columns as one object array of strings, NaN (or ``MISSING``) for missing values."""
        out = np.empty((len(df), len(infos)), dtype=object)
        for i, c in enumerate(infos):
            out[:, i] = df[c.name].astype(object).to_numpy()
        return self._as_strings(out, infos)

    def _as_strings(self, out: np.ndarray, infos: Sequence[ColumnInfo]) -> np.ndarray:
        """The values of ``out`` (an object array of the columns ``infos``) as strings, NaN or ``MISSING``."""
        mask = pd.isna(out)
        out[~mask] = [str(v) for v in out[~mask]]
        out[mask] = np.nan
        empty = getattr(self, "empty_", ())  # pipelines pickled before empty_ have none
        for i, c in enumerate(infos):
            if c.name in empty:
                out[mask[:, i], i] = MISSING
        return out

    def _date_parts(self, s: pd.Series, info: ColumnInfo) -> np.ndarray:
        """The numeric parts of one datetime column, one column per part."""
        d = _to_datetime(s, info)
        out = np.empty((len(s), len(self.date_parts_[info.name])), order="F")
        for i, p in enumerate(self.date_parts_[info.name]):
            if p == "epoch_days":
                v = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
            else:
                v = getattr(d.dt, _DATE_ACCESSORS.get(p, p))
            out[:, i] = v.to_numpy(dtype=float, na_value=np.nan)
        return out

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the cleaned columns."""
        check_is_fitted(self, "schema_")
        return self.feature_names_out_.copy()

    def columns_of_kind(self, kind: str) -> list[str]:
        """Output names of the columns of one kind (``"numeric"``, ``"categorical"`` or ``"text"``)."""
        check_is_fitted(self, "schema_")
        return [n for n, k in zip(self.feature_names_out_, self.kinds_out_, strict=True) if k == kind]


__all__ = ["TableCleaner", "frame_dtypes", "infinite_columns", "infinite_message", "numeric_values"]
