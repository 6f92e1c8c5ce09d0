"""Time-ordered folds: train on the past, validate on the future, never shuffle.

The rows are put in time order (ties keep the caller's order), split with an
expanding window (scikit-learn's :class:`~sklearn.model_selection.TimeSeriesSplit`,
or any splitter the user gives, applied to the rows in time order), and the
positions mapped back to the caller's rows: predictions come back in the
caller's order. Training rows at the same time as the first validation row are
left out, so that no fold trains on its own validation period.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.model_selection import TimeSeriesSplit

from automl.budget import use_holdout
from automl.exceptions import DataError

Splits = list[tuple[np.ndarray, np.ndarray]]


def time_splits(
    cv: Any, time: np.ndarray, *, n_columns: int, time_budget: float | None, folds: int
) -> tuple[Splits, str]:
    """Turn ``cv`` into (train, validation) splits where every training row comes before every validation row.

    ``"auto"`` or ``"time"``: ``folds`` expanding-window folds, or the latest 20%
    of the rows held out on a large table. An int k: k folds. A float or
    ``"holdout"``: the latest share held out. A scikit-learn splitter (e.g.
    ``TimeSeriesSplit(5, gap=10)`` for a gap of 10 rows between training and
    validation) splits the rows in time order.

    Raises
    ------
    DataError
        When the table has too few rows, or too few distinct times, for the folds.
    """
    n = len(time)
    order = np.argsort(time, kind="stable")
    if isinstance(cv, str) and cv in ("auto", "time", "holdout"):
        if cv == "holdout" or use_holdout(n, n_columns, time_budget):
            return _latest(0.2, order, time)
        splitter: Any = TimeSeriesSplit(folds)
    elif isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv={cv} must be at least 2 folds")
        splitter = TimeSeriesSplit(int(cv))
    elif isinstance(cv, numbers.Real) and not isinstance(cv, bool):
        if not 0 < cv < 1:
            raise ValueError(f"cv={cv} as a float must be a holdout share strictly between 0 and 1")
        return _latest(float(cv), order, time)
    elif hasattr(cv, "split"):
        splitter = cv
    else:
        raise ValueError(
            f"cv of type {type(cv).__name__} is not understood with time; use 'time', 'auto', 'holdout', an int "
            ">= 2, a float in (0, 1) or a scikit-learn splitter such as TimeSeriesSplit(5, gap=10)"
        )
    try:
        sorted_splits = list(splitter.split(np.zeros((n, 1))))
    except ValueError as exc:
        raise DataError(f"X has {n} rows, too few for time-ordered folds: {exc}") from exc
    splits = _past_only([(order[tr], order[va]) for tr, va in sorted_splits], time)
    if not splits:
        raise DataError(
            f"no time-ordered fold has training rows before its validation rows ({len(np.unique(time))} distinct "
            "times); pass more distinct times or fewer folds"
        )
    gap = getattr(splitter, "gap", 0)
    return splits, f"{len(splits)} time-ordered folds (expanding window{f', gap {gap} rows' if gap else ''})"


def _past_only(splits: Splits, time: np.ndarray) -> Splits:
    """Each split with its training rows strictly before its first validation time; splits left empty dropped."""
    out: Splits = []
    for tr, va in splits:
        tr = tr[time[tr] < time[va].min()]
        if len(tr) and len(va):
            out.append((tr, va))
    return out


def _latest(fraction: float, order: np.ndarray, time: np.ndarray) -> tuple[Splits, str]:
    """Hold out the latest ``fraction`` of the rows; train on the rows before them."""
    n = len(order)
    n_valid = max(1, int(round(fraction * n)))
    splits = _past_only([(order[: n - n_valid], order[n - n_valid :])], time)
    if not splits:
        raise DataError(f"cv={fraction} leaves no training rows before the latest {n_valid} of {n} rows")
    return splits, f"holdout of the latest {fraction:.0%}"


def take_latest(train: np.ndarray, size: int, time: np.ndarray) -> np.ndarray:
    """The ``size`` most recent of the rows ``train``, in time order."""
    if size >= len(train):
        return train
    return train[np.argsort(time[train], kind="stable")][-size:]


def take_spread(valid: np.ndarray, size: int, time: np.ndarray) -> np.ndarray:
    """``size`` of the rows ``valid`` evenly spread over their period, in time order."""
    if size >= len(valid):
        return valid
    ordered = valid[np.argsort(time[valid], kind="stable")]
    return ordered[np.linspace(0, len(ordered) - 1, size).round().astype(int)]


__all__ = ["take_latest", "take_spread", "time_splits"]
