"""What the user says about the rows besides X and y: their weights, their groups, their time.

``fit(X, y, sample_weight=..., groups=..., time=...)`` gives one value per row
of ``X``. They are checked here, each error naming its argument, and follow the
rows through the dropping of rows without a target.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from automl.data.target import check_sample_weight
from automl.exceptions import DataError


@dataclass(frozen=True)
class RowInfo:
    """Per-row facts beyond X and y, aligned with the rows of X.

    Attributes
    ----------
    weights : ndarray of float or None
        Weight of each row in every fit and every score.
    groups : ndarray of int or None
        Group of each row (codes): folds never split a group.
    time : ndarray of float or None
        When each row happened (numbers; datetimes as nanoseconds): folds
        train on the past and validate on the future.
    time_name : str
        What ``time`` was: a column's name, or ``"time"`` for an array.
    """

    weights: np.ndarray | None = None
    groups: np.ndarray | None = None
    time: np.ndarray | None = None
    time_name: str = "time"

    @property
    def order(self) -> np.ndarray | None:
        """Row positions sorted by time (ties keep the caller's order); None without time."""
        return None if self.time is None else np.argsort(self.time, kind="stable")

    def take(self, keep: np.ndarray) -> RowInfo:
        """The same facts for the rows selected by the boolean mask ``keep``."""
        return replace(
            self,
            **{k: None if v is None else v[keep] for k, v in self._arrays().items()},
        )

    def _arrays(self) -> dict[str, np.ndarray | None]:
        return {"weights": self.weights, "groups": self.groups, "time": self.time}


def check_rows(X: pd.DataFrame, sample_weight: Any = None, groups: Any = None, time: Any = None) -> RowInfo:
    """Check the per-row arguments of ``fit`` against ``X``; raise :class:`DataError` naming the one at fault."""
    weights = None if sample_weight is None else check_sample_weight(sample_weight, len(X))
    codes = None if groups is None else check_groups(groups, len(X))
    when, name = (None, "time") if time is None else check_time(X, time)
    return RowInfo(weights=weights, groups=codes, time=when, time_name=name)


def check_positive_total(weights: np.ndarray | None) -> None:
    """Raise :class:`DataError` when the weights of the rows that will be used add up to zero."""
    if weights is not None and not weights.sum() > 0:
        raise DataError("sample_weight is zero on every row with a target; at least one row needs a weight > 0")


def check_groups(groups: Any, n_rows: int) -> np.ndarray:
    """``groups`` as integer codes, one per row, or raise :class:`DataError` naming it."""
    if isinstance(groups, str):
        raise DataError(
            f"groups={groups!r}: pass one group label per row (an array or a Series, e.g. X[{groups!r}]), "
            "not a column name"
        )
    values = pd.Series(np.asarray(groups, dtype=object).reshape(-1) if np.ndim(groups) else [groups])
    if np.ndim(groups) != 1 or len(values) != n_rows:
        raise DataError(f"groups has shape {np.shape(groups)} but X has {n_rows} rows; pass one group label per row")
    missing = values.isna().to_numpy()
    if missing.any():
        raise DataError(f"groups is missing on {int(missing.sum())} of {n_rows} rows; give every row a group")
    codes, _ = pd.factorize(values.astype(str) if values.map(type).nunique() > 1 else values)
    return codes.astype(np.int64)


def check_time(X: pd.DataFrame, time: Any) -> tuple[np.ndarray, str]:
    """The time of each row as sortable floats, from a column name of ``X`` or an array; and what it was."""
    if isinstance(time, str):
        if time not in X.columns:
            shown = ", ".join(map(repr, list(X.columns)[:20]))
            raise DataError(f"time={time!r} is not a column of X; its columns are {shown}")
        values, name = X[time], f"column {time!r}"
    else:
        if np.ndim(time) != 1 or len(time) != len(X):
            raise DataError(f"time has shape {np.shape(time)} but X has {len(X)} rows; pass one time per row")
        values, name = pd.Series(np.asarray(time) if not isinstance(time, pd.Series) else time.to_numpy()), "time"
    return _sortable(values.reset_index(drop=True), name), name


def _sortable(values: pd.Series, name: str) -> np.ndarray:
    """Numbers as floats, datetimes (or strings that read as dates) as nanoseconds since the epoch."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(f"{name} holds booleans; pass times: numbers, dates or datetimes")
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    else:
        try:
            with warnings.catch_warnings():  # "Could not infer format": each value is then read on its own
                warnings.simplefilter("ignore", UserWarning)
                stamps = pd.to_datetime(values, errors="raise", utc=_has_zones(values))
        except (ValueError, TypeError) as exc:
            raise DataError(f"{name} cannot be read as times ({exc}); pass numbers, dates or datetimes") from exc
        out = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(float)
        out[stamps.isna().to_numpy()] = np.nan
    missing = ~np.isfinite(out)
    if missing.any():
        raise DataError(f"{name} is missing on {int(missing.sum())} of {len(out)} rows; give every row a time")
    return out


def _has_zones(values: pd.Series) -> bool:
    return isinstance(values.dtype, pd.DatetimeTZDtype) or any(
        getattr(v, "tzinfo", None) is not None for v in values.head(50)
    )


__all__ = ["RowInfo", "check_groups", "check_positive_total", "check_rows", "check_time"]
