"""The first step of every pipeline: align the input table and give each column one clean dtype."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from automl.data import ColumnInfo, Schema, as_frame, infer_schema
from automl.exceptions import DataError

_DATE_PARTS = ("year", "month", "day", "dayofweek", "hour", "epoch_days")
#: the pandas accessor of each part whose output name differs from it
_DATE_ACCESSORS = {"dayofweek": "day_of_week"}


def _to_float(s: pd.Series, info: ColumnInfo) -> np.ndarray:
    if ptypes.is_timedelta64_dtype(s.dtype):
        return s.dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
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
        example = s[bad].iloc[0]
        raise DataError(
            f"column {info.name!r} held numbers in training but now holds {example!r} "
            f"({int(bad.sum())} such values); convert it to numbers before predicting"
        )
    return parsed.to_numpy(dtype=float, na_value=np.nan)


def _to_str(s: pd.Series) -> np.ndarray:
    arr = s.astype(object).to_numpy()
    mask = pd.isna(arr)
    out = np.empty(len(arr), dtype=object)
    out[mask] = np.nan
    out[~mask] = [str(v) for v in arr[~mask]]
    return out


def _to_datetime(s: pd.Series, info: ColumnInfo) -> pd.Series:
    try:
        d = pd.to_datetime(s, errors="raise", utc=True)
    except Exception as exc:
        raise DataError(
            f"column {info.name!r} held dates in training but its values cannot be read as dates: {exc}"
        ) from exc
    return d.dt.tz_convert(None)


class TableCleaner(TransformerMixin, BaseEstimator):
    """Align a table to the training columns and give each column one clean dtype.

    Numeric, boolean and timedelta columns become float64 (NaN for missing);
    categorical and string columns become ``object`` strings (NaN for missing);
    datetime columns become numeric parts (year, month, day, day of week, hour,
    days since 1970). Constant, empty and identifier columns are dropped.
    At predict time, columns are matched by name (extra ones ignored, order free);
    a numpy array is accepted when its width matches.

    Parameters
    ----------
    schema : Schema, optional
        How each column is used. When None, it is inferred from the table given to ``fit``.
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
        names = self.schema_.input_names
        if isinstance(X, pd.DataFrame):
            df = as_frame(X)
            missing = [n for n in names if n not in df.columns]
            if missing:
                raise DataError(
                    f"X lacks {len(missing)} column(s) seen in training: {missing[:20]}; "
                    "pass a table with the training columns (extra columns are ignored)"
                )
            return df[names] if list(df.columns) != names else df
        df = as_frame(X)
        if df.shape[1] != len(names):
            raise DataError(
                f"X has {df.shape[1]} columns but {len(names)} were seen in training; "
                "pass a DataFrame with the training column names, or an array of the same width"
            )
        return df.set_axis(names, axis=1)

    def transform(self, X: Any) -> pd.DataFrame:
        """Return the cleaned table: float64 numeric columns, then object categorical ones."""
        check_is_fitted(self, "schema_")
        df = self._align(X)
        out: dict[str, Any] = {}
        for c in self.schema_.kept:
            s = df[c.name]
            if c.kind == "numeric":
                out[c.safe] = _to_float(s, c)
            elif c.kind == "categorical":
                # an explicit object Series: pandas 3 would infer its "str" dtype from a bare array
                out[c.safe] = pd.Series(_to_str(s), dtype=object)
            else:  # datetime
                d = _to_datetime(s, c)
                for p in self.date_parts_[c.name]:
                    if p == "epoch_days":
                        v = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
                    else:
                        v = getattr(d.dt, _DATE_ACCESSORS.get(p, p))
                    out[f"{c.safe}_{p}"] = v.to_numpy(dtype=float, na_value=np.nan)
        res = pd.DataFrame(out, index=pd.RangeIndex(len(df)))
        return res[list(self.feature_names_out_)]

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the cleaned columns."""
        check_is_fitted(self, "schema_")
        return self.feature_names_out_.copy()

    def columns_of_kind(self, kind: str) -> list[str]:
        """Output names of the columns of one kind (``"numeric"`` or ``"categorical"``)."""
        check_is_fitted(self, "schema_")
        return [n for n, k in zip(self.feature_names_out_, self.kinds_out_, strict=True) if k == kind]


__all__ = ["TableCleaner"]
