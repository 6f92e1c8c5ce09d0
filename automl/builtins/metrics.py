"""Built-in metrics: the short names users pass as ``AutoML(metric=...)``."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import metrics as skm

from automl.markers import hookimpl
from automl.specs import MetricSpec


def _roc_auc(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y, proba[:, 1], sample_weight=sample_weight)
    present = np.unique(y)
    p = proba[:, present]
    p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-15, None)
    if len(present) == 2:
        return skm.roc_auc_score(y == present[1], p[:, 1], sample_weight=sample_weight)
    return skm.roc_auc_score(y, p, multi_class="ovr", labels=present, sample_weight=sample_weight)


def _log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    p = np.clip(proba, 1e-15, 1.0)
    return skm.log_loss(
        y, p / p.sum(axis=1, keepdims=True), labels=np.arange(proba.shape[1]), sample_weight=sample_weight
    )


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
