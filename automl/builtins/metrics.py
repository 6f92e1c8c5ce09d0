"""Built-in metrics: the short names users pass as ``AutoML(metric=...)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from automl.markers import hookimpl
from automl.specs import MetricSpec


def _binary_auc(positive: np.ndarray, score: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Area under the ROC curve of one score for a boolean target, ties counted half.

    The same value as :func:`sklearn.metrics.roc_auc_score` without its input
    validation, which costs far more than the sort on the small tables greedy
    ensemble selection scores hundreds of times.
    """
    score = np.asarray(score, dtype=float)
    if not np.all(np.isfinite(score)):
        raise ValueError("Input contains NaN or infinity.")
    w = np.ones(len(score)) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    order = np.argsort(score, kind="mergesort")
    s, pos, w = score[order], np.asarray(positive, dtype=bool)[order], w[order]
    # one group of rows per distinct score: positive and negative weight in each
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    pos_cum = np.cumsum(np.where(pos, w, 0.0))[last]
    neg_cum = np.cumsum(np.where(pos, 0.0, w))[last]
    n_pos, n_neg = pos_cum[-1], neg_cum[-1]
    if not (n_pos > 0 and n_neg > 0):  # undefined with one class, NaN as in scikit-learn
        return float("nan")
    pos_g = np.diff(pos_cum, prepend=0.0)
    neg_g = np.diff(neg_cum, prepend=0.0)
    neg_below = neg_cum - neg_g
    return float(np.sum(pos_g * (neg_below + 0.5 * neg_g)) / (n_pos * n_neg))


def _roc_auc(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2:
        return _binary_auc(np.asarray(y) == 1, proba[:, 1], sample_weight)
    present = np.unique(y)
    p = proba[:, present]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-15, None)
    if len(present) == 2:
        return _binary_auc(np.asarray(y) == present[1], p[:, 1], sample_weight)
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=present, sample_weight=sample_weight)


def _log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Mean negative log probability of the true class, probabilities clipped to [1e-15, 1] and renormalised."""
    p = np.clip(np.asarray(proba, dtype=float), 1e-15, 1.0)
    if not np.all(np.isfinite(p)):
        raise ValueError("Input contains NaN or infinity.")
    codes = np.asarray(y, dtype=int)
    if codes.size and (codes.min() < 0 or codes.max() >= p.shape[1]):
        raise ValueError(f"y contains class indices outside 0..{p.shape[1] - 1}")
    true_p = p[np.arange(len(codes)), codes] / p.sum(axis=1)
    return float(np.average(-np.log(true_p), weights=sample_weight))


def _f1(y: np.ndarray, labels: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    average = "binary" if max(int(np.max(y, initial=0)), int(np.max(labels, initial=0))) <= 1 else "macro"
    return skm.f1_score(y, labels, average=average, zero_division=0.0, sample_weight=sample_weight)


def _rmse(y: np.ndarray, pred: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    return float(np.sqrt(np.average((np.asarray(y, dtype=float) - pred) ** 2, weights=sample_weight)))


_METRICS: tuple[tuple[str, Callable[..., float], bool, str, str], ...] = (
    ("roc_auc", _roc_auc, True, "proba", "classification"),
    ("log_loss", _log_loss, False, "proba", "classification"),
    ("accuracy", skm.accuracy_score, True, "label", "classification"),
    ("balanced_accuracy", skm.balanced_accuracy_score, True, "label", "classification"),
    ("f1", _f1, True, "label", "classification"),
    ("rmse", _rmse, False, "value", "regression"),
    ("mae", skm.mean_absolute_error, False, "value", "regression"),
    ("r2", skm.r2_score, True, "value", "regression"),
)


@hookimpl
def automl_register_metrics(register):
    """Register roc_auc, log_loss, accuracy, balanced_accuracy, f1, rmse, mae and r2."""
    for name, func, greater, needs, tasks in _METRICS:
        register(MetricSpec(name=name, func=func, greater_is_better=greater, needs=needs, tasks=tasks))
