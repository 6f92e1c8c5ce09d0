"""Searching a large table on a sample of its rows; the final model is refit on all of them.

A trial on 500,000 rows would leave time for a handful of trials. The search
instead trains every trial on a sample sized to the time budget (at least
10,000 rows) and scores it on a validation set of bounded size; the refit of
the final pipeline uses every row, and its cost is planned from the sample's
timings scaled to the full table.
"""

from __future__ import annotations

import numpy as np

from automl.budget import sample_rows, validation_rows
from automl.evaluation.folds import split_rows
from automl.evaluation.group_folds import take_groups
from automl.evaluation.time_folds import take_latest, take_spread


def _take(idx: np.ndarray, size: int, y_codes: np.ndarray, task: str, seed: int | None) -> np.ndarray:
    if size >= len(idx):
        return idx
    kept, _ = split_rows(idx, y_codes, task, seed, train_size=size)
    return kept


def subsample_holdout(
    splits: list[tuple[np.ndarray, np.ndarray]],
    y_codes: np.ndarray,
    task: str,
    n_columns: int,
    time_budget: float | None,
    seed: int | None,
    *,
    groups: np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Shrink a single holdout split to what the budget allows; return it and a description ('' if unchanged).

    Parameters
    ----------
    splits : list of one (train, valid) pair
        The holdout split.
    y_codes : ndarray
        Class indices or regression targets (for stratified samples).
    task : str
        The task.
    n_columns : int
        Width of the table.
    time_budget : float or None
        Seconds for the whole fit.
    seed : int or None
        Sampling seed.
    groups : ndarray or None
        Group of each row: the samples are made of whole groups.
    time : ndarray or None
        Time of each row: trials train on the most recent rows before the
        holdout, and are scored on rows spread over the holdout's period.
    """
    if len(splits) != 1:
        return splits, ""
    train, valid = splits[0]
    size = sample_rows(len(train), n_columns, time_budget)
    n_valid = validation_rows(len(valid), size)
    if size >= len(train) and n_valid >= len(valid):
        return splits, ""
    if time is not None:
        train_s, valid_s = take_latest(train, size, time), take_spread(valid, n_valid, time)
    elif groups is not None:
        train_s, valid_s = take_groups(train, size, groups, seed), take_groups(valid, n_valid, groups, seed)
    else:
        train_s, valid_s = _take(train, size, y_codes, task, seed), _take(valid, n_valid, y_codes, task, seed)
    return [(train_s, valid_s)], f"trials train on {len(train_s):,} of {len(train):,} rows"


__all__ = ["subsample_holdout"]
