"""Choosing the evaluation folds from the ``cv`` argument."""

from __future__ import annotations

import logging
import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.budget import use_holdout
from automl.evaluation.group_folds import group_splits
from automl.evaluation.time_folds import time_splits
from automl.exceptions import DataError, DataWarning

logger = logging.getLogger(__name__)

Splits = list[tuple[np.ndarray, np.ndarray]]

DEFAULT_FOLDS = 5
#: up to this many rows, ``cv="auto"`` repeats the k folds twice to cut noise in model selection
REPEAT_ROWS = 1000


def _kfold(k: int, y_codes: np.ndarray, task: str, seed: int | None, repeats: int = 1) -> tuple[Splits, str]:
    n = len(y_codes)
    if n < 2:
        raise DataError(f"X has {n} row(s); at least 2 are needed to evaluate a model")
    if k > n:
        warnings.warn(f"cv={k} folds but X has only {n} rows; using {n} folds", DataWarning, stacklevel=5)
        k = n
    stratify = task != "regression"
    if stratify:
        counts = np.bincount(y_codes.astype(int))
        smallest = int(counts[counts > 0].min())
        if smallest < k and smallest >= 2:
            warnings.warn(
                f"the rarest class of y has {smallest} rows, fewer than the {k} folds; using {smallest} folds",
                DataWarning,
                stacklevel=5,
            )
            k = smallest
        elif smallest < 2:
            warnings.warn(
                "a class of y has a single row, so folds cannot be stratified; using unstratified folds",
                DataWarning,
                stacklevel=5,
            )
            stratify = False
    splits: Splits = []
    for r in range(repeats):
        rs = None if seed is None else seed + r
        splitter: Any = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=rs)
        splits += [(tr, va) for tr, va in splitter.split(np.zeros(n), y_codes if stratify else None)]
    desc = f"{k}-fold" + (" stratified" if stratify else "") + (f" x{repeats}" if repeats > 1 else "")
    return splits, desc


def split_rows(
    idx: np.ndarray,
    y_codes: np.ndarray,
    task: str,
    seed: int | None,
    *,
    train_size: int | None = None,
    test_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Split the rows ``idx`` in two sorted parts of ``train_size`` and ``test_size`` rows (as train_test_split).

    Stratified by class for classification when every class present has 2 rows or more.
    """
    strat = None
    if task != "regression":
        _, counts = np.unique(y_codes[idx], return_counts=True)
        if counts.min() >= 2:
            strat = y_codes[idx]
    first, second = train_test_split(idx, train_size=train_size, test_size=test_size, random_state=seed, stratify=strat)
    return np.sort(first), np.sort(second)


def _holdout(fraction: float, y_codes: np.ndarray, task: str, seed: int | None) -> tuple[Splits, str]:
    n = len(y_codes)
    n_valid = max(1, int(round(fraction * n)))
    if n - n_valid < 1:
        raise DataError(f"cv={fraction} leaves no training rows out of {n}")
    return [split_rows(np.arange(n), y_codes, task, seed, test_size=n_valid)], f"holdout {fraction:.0%}"


def _drop_single_class_folds(splits: Splits, desc: str, y_codes: np.ndarray) -> tuple[Splits, str]:
    """Leave out the folds whose training part holds a single class: no classifier can learn from them.

    Raises
    ------
    DataError
        When every fold is like that (a table with too few rows of each class).
    """
    codes = y_codes.astype(int)
    usable = [(tr, va) for tr, va in splits if len(np.unique(codes[tr])) >= 2]
    if len(usable) == len(splits):
        return splits, desc
    counts = np.bincount(codes)
    if not usable:
        raise DataError(
            f"y has too few rows of each class to evaluate a classifier (rows per class: {counts.tolist()}): "
            "every training fold would hold a single class. Pass more rows, at least 2 of every class"
        )
    warnings.warn(
        f"{len(splits) - len(usable)} of {len(splits)} folds would train on a single class of y "
        f"(rows per class: {counts.tolist()}); they are left out. Pass more rows of the rare classes",
        DataWarning,
        stacklevel=4,
    )
    return usable, f"{desc}, {len(usable)} of {len(splits)} folds used"


def make_splits(
    cv: Any,
    y_codes: np.ndarray,
    task: str,
    seed: int | None,
    n_columns: int = 1,
    time_budget: float | None = None,
    *,
    groups: np.ndarray | None = None,
    time: np.ndarray | None = None,
) -> tuple[Splits, str]:
    """Turn ``cv`` into a list of (train indices, validation indices).

    Parameters
    ----------
    cv : "auto", int, float, "holdout", a scikit-learn splitter or an iterable of splits
        ``"auto"``: 5-fold (stratified for classification; repeated twice up to
        1,000 rows), or a 20% holdout above 100,000 rows, or above 2,000 rows
        when rows x columns exceed 3,000 per second of time budget. An int k: k folds.
        A float in (0, 1) or ``"holdout"``: one holdout split of that share (20% for ``"holdout"``).
    y_codes : ndarray
        Class indices or regression targets.
    task : str
        Stratify for classification.
    seed : int or None
        Shuffling seed.
    n_columns : int
        Width of the table, to judge its size against the budget.
    time_budget : float or None
        Seconds for the whole fit.
    groups : ndarray or None
        Group of each row: no fold splits a group
        (:func:`automl.evaluation.group_folds.group_splits`).
    time : ndarray or None
        Time of each row: folds train on the past and validate on the future
        (:func:`automl.evaluation.time_folds.time_splits`). ``cv="time"``
        without it means the rows are in time order already.

    A binary target needs 2 rows of each class (else :class:`~automl.DataError`).
    Folds whose training part would hold a single class (a classification
    table with very few rows of some class) are left out with a
    :class:`~automl.DataWarning`; if no fold is left, :class:`~automl.DataError`.
    """
    if task == "binary":
        counts = np.bincount(y_codes.astype(int))
        if counts.min() < 2:
            raise DataError(
                f"y has {counts.tolist()} rows of its two classes: a binary classifier needs at least 2 rows of "
                "each class to be evaluated (one to train on, one to validate). Pass more rows of the rare class"
            )
    if time_ordered(cv, time):
        if groups is not None:
            raise ValueError(
                "groups and time together are not supported: folds are either by group or by time; pass one of them"
            )
        when = np.arange(len(y_codes), dtype=float) if time is None else time
        splits, desc = time_splits(cv, when, n_columns=n_columns, time_budget=time_budget, folds=DEFAULT_FOLDS)
    elif groups is not None:
        splits, desc = group_splits(
            cv,
            y_codes,
            task,
            groups,
            seed,
            n_columns=n_columns,
            time_budget=time_budget,
            folds=DEFAULT_FOLDS,
            repeat_rows=REPEAT_ROWS,
        )
    else:
        splits, desc = _splits(cv, y_codes, task, seed, n_columns, time_budget)
    _check_parts(splits)
    if task != "regression":
        splits, desc = _drop_single_class_folds(splits, desc, y_codes)
    return splits, desc


def _splits(
    cv: Any, y_codes: np.ndarray, task: str, seed: int | None, n_columns: int, time_budget: float | None
) -> tuple[Splits, str]:
    n = len(y_codes)
    if isinstance(cv, str):
        if cv == "auto":
            if use_holdout(n, n_columns, time_budget):
                return _holdout(0.2, y_codes, task, seed)
            return _kfold(DEFAULT_FOLDS, y_codes, task, seed, repeats=2 if n <= REPEAT_ROWS else 1)
        if cv == "holdout":
            return _holdout(0.2, y_codes, task, seed)
        raise ValueError(
            f"cv={cv!r} is not understood; use 'auto', 'holdout', an int >= 2, a float in (0, 1) "
            "or a scikit-learn splitter"
        )
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv={cv} must be at least 2 folds")
        return _kfold(int(cv), y_codes, task, seed)
    if isinstance(cv, numbers.Real) and not isinstance(cv, bool):
        if not 0 < cv < 1:
            raise ValueError(f"cv={cv} as a float must be a holdout share strictly between 0 and 1")
        return _holdout(float(cv), y_codes, task, seed)
    if hasattr(cv, "split"):
        try:
            splits = [(np.asarray(tr), np.asarray(va)) for tr, va in cv.split(np.zeros((n, 1)), y_codes)]
        except ValueError as exc:
            if "groups" in str(exc):
                raise ValueError(f"cv={type(cv).__name__} needs groups: pass fit(X, y, groups=...)") from exc
            raise
        desc = type(cv).__name__
    else:
        try:
            splits = [(np.asarray(tr), np.asarray(va)) for tr, va in cv]
        except TypeError as exc:
            raise ValueError(f"cv of type {type(cv).__name__} is not understood") from exc
        desc = f"{len(splits)} given splits"
    return splits, desc


def time_ordered(cv: Any, time: np.ndarray | None) -> bool:
    """Whether the folds are time-ordered: ``fit(..., time=...)``, or ``cv="time"`` for rows in order already."""
    return time is not None or (isinstance(cv, str) and cv == "time")


def _check_parts(splits: Splits) -> None:
    if not splits:
        raise ValueError("cv produced no splits")
    for tr, va in splits:
        if len(tr) == 0 or len(va) == 0:
            raise ValueError("cv produced a split with an empty training or validation part")


__all__ = ["Splits", "make_splits", "split_rows", "time_ordered"]
