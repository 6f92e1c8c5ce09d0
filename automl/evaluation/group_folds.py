"""Folds that never split a group: rows of one patient, customer or store are all trained on or all validated."""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, StratifiedGroupKFold

from automl.budget import use_holdout
from automl.exceptions import DataError, DataWarning

Splits = list[tuple[np.ndarray, np.ndarray]]


def group_splits(
    cv: Any,
    y_codes: np.ndarray,
    task: str,
    groups: np.ndarray,
    seed: int | None,
    *,
    n_columns: int,
    time_budget: float | None,
    folds: int,
    repeat_rows: int,
) -> tuple[Splits, str]:
    """Turn ``cv`` into group-clean (train, validation) splits.

    ``"auto"``: ``folds`` group folds (stratified by class for classification,
    repeated twice up to ``repeat_rows`` rows), fewer with a warning when there
    are fewer groups, or a group holdout of 20% on a large table. An int k:
    k group folds. A float or ``"holdout"``: a share of the groups held out. A
    scikit-learn splitter receives the groups.

    Raises
    ------
    DataError
        When there are too few groups for the folds asked (the message says how many there are).
    """
    n, n_groups = len(y_codes), len(np.unique(groups))
    if n_groups < 2:
        raise DataError(f"groups has {n_groups} distinct group; at least 2 are needed to validate on unseen groups")
    if isinstance(cv, str) and cv in ("auto", "holdout"):
        if cv == "holdout" or use_holdout(n, n_columns, time_budget):
            return _group_holdout(0.2, y_codes, task, groups, seed)
        k = folds
        if n_groups < k:
            warnings.warn(
                f"groups has {n_groups} distinct groups, fewer than the {k} folds of cv='auto'; "
                f"using {n_groups} folds (one group validated in each)",
                DataWarning,
                stacklevel=6,
            )
            k = n_groups
        return _group_kfold(k, y_codes, task, groups, seed, repeats=2 if n <= repeat_rows else 1)
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv={cv} must be at least 2 folds")
        if n_groups < cv:
            raise DataError(
                f"groups has {n_groups} distinct groups but cv={cv} folds need at least {cv}; "
                f"pass cv={n_groups} or fewer, or more groups"
            )
        return _group_kfold(int(cv), y_codes, task, groups, seed)
    if isinstance(cv, numbers.Real) and not isinstance(cv, bool):
        if not 0 < cv < 1:
            raise ValueError(f"cv={cv} as a float must be a holdout share strictly between 0 and 1")
        return _group_holdout(float(cv), y_codes, task, groups, seed)
    if hasattr(cv, "split"):
        splits = [(np.asarray(tr), np.asarray(va)) for tr, va in cv.split(np.zeros((n, 1)), y_codes, groups)]
        return splits, f"{type(cv).__name__} with groups"
    raise ValueError(
        f"cv of type {type(cv).__name__} is not understood with groups; use 'auto', 'holdout', an int >= 2, "
        "a float in (0, 1) or a scikit-learn group splitter (GroupKFold, ...)"
    )


def _group_kfold(
    k: int, y_codes: np.ndarray, task: str, groups: np.ndarray, seed: int | None, repeats: int = 1
) -> tuple[Splits, str]:
    stratify = task != "regression"
    splits: Splits = []
    for r in range(repeats):
        rs = None if seed is None else seed + r
        kind = StratifiedGroupKFold if stratify else GroupKFold
        splitter: Any = kind(k, shuffle=True, random_state=rs)
        with warnings.catch_warnings():  # a class with fewer groups than folds: scikit-learn's own warning
            warnings.simplefilter("ignore", UserWarning)
            splits += [(tr, va) for tr, va in splitter.split(np.zeros(len(y_codes)), y_codes, groups)]
    desc = f"{k}-fold by group" + (" stratified" if stratify else "") + (f" x{repeats}" if repeats > 1 else "")
    return splits, desc


def _group_holdout(
    fraction: float, y_codes: np.ndarray, task: str, groups: np.ndarray, seed: int | None
) -> tuple[Splits, str]:
    n_groups = len(np.unique(groups))
    k = max(2, int(round(1 / fraction)))
    if task != "regression" and k <= n_groups:  # one fold of a stratified group split: classes kept in proportion
        splitter: Any = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            tr, va = next(splitter.split(np.zeros(len(y_codes)), y_codes, groups))
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        tr, va = next(splitter.split(np.zeros(len(y_codes)), y_codes, groups))
    return [(np.sort(tr), np.sort(va))], f"holdout {fraction:.0%} of groups"


def take_groups(idx: np.ndarray, size: int, groups: np.ndarray, seed: int | None) -> np.ndarray:
    """About ``size`` of the rows ``idx``, as whole groups drawn at random (at least ``size`` unless all are taken)."""
    if size >= len(idx):
        return idx
    labels, counts = np.unique(groups[idx], return_counts=True)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(len(labels))
    enough = int(np.searchsorted(np.cumsum(counts[shuffled]), size)) + 1
    chosen = labels[shuffled[:enough]]
    return np.sort(idx[np.isin(groups[idx], chosen)])


__all__ = ["group_splits", "take_groups"]
