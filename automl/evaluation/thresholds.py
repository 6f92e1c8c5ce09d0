"""Decision thresholds for binary metrics that depend on one (f1, balanced accuracy, ...)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from automl.evaluation.cross_validation import Problem
from automl.evaluation.metrics import Metric

logger = logging.getLogger(__name__)


def needs_threshold(metric: Metric, task: str) -> bool:
    """True for a binary task scored on predicted labels."""
    return task == "binary" and metric.spec is not None and metric.spec.needs == "label"


def tune_threshold(
    oof: np.ndarray,
    y_codes: np.ndarray,
    metric: Metric,
    n_candidates: int = 200,
    weights: np.ndarray | None = None,
) -> tuple[float, float]:
    """Pick the probability threshold of the positive class that maximises ``metric`` out of fold.

    Parameters
    ----------
    oof : ndarray of shape (n, 2)
        Out-of-fold class probabilities.
    y_codes : ndarray
        True class indices (0 or 1).
    metric : Metric
        A label metric (``needs == "label"``).
    n_candidates : int
        Thresholds tried: quantiles of the probabilities, and 0.5.
    weights : ndarray, optional
        Weight of each row in the metric (``sample_weight``).

    Returns
    -------
    (threshold, score)
        The best threshold and the metric there (natural units).
    """
    rows = np.isfinite(oof).all(axis=1)
    p, y = oof[rows, 1], y_codes[rows]
    w = {} if weights is None else {"sample_weight": weights[rows]}
    candidates = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_candidates)))
    candidates = np.union1d(candidates, [0.5])
    best_t, best = 0.5, -np.inf
    for t in candidates:
        labels = (p >= t).astype(int)
        value = metric.objective(float(metric.spec.func(y, labels, **w)))
        # prefer the threshold closest to 0.5 among equals
        if value > best + 1e-12 or (abs(value - best) <= 1e-12 and abs(t - 0.5) < abs(best_t - 0.5)):
            best_t, best = float(t), value
    return best_t, metric.objective(best)


def with_threshold(pipeline: Any, threshold: float, X: Any, y: Any) -> Pipeline:
    """Wrap a fitted binary classifier so that ``predict`` uses ``threshold``."""
    model = FixedThresholdClassifier(FrozenEstimator(pipeline), threshold=threshold, response_method="predict_proba")
    model.fit(X, y)
    return Pipeline([("thresholded", model)])


def better_threshold(oof: np.ndarray | None, problem: Problem) -> float | None:
    """The decision threshold to use with out-of-fold probabilities ``oof``, or None to keep the most probable class.

    Only for a binary task scored on labels, and only when the tuned threshold
    scores better out of fold than taking the most probable class.
    """
    metric = problem.metric
    if oof is None or not needs_threshold(metric, problem.task):
        return None
    threshold, tuned = tune_threshold(oof, problem.y_codes, metric, weights=problem.weights)
    rows = np.flatnonzero(np.isfinite(oof).all(axis=1))  # the rows validated (all of them, unless a holdout)
    untuned = metric.score(problem.y_codes[rows], oof[rows], problem.classes, sample_weight=problem.weights_of(rows))
    if metric.objective(tuned) > metric.objective(untuned):
        logger.info("decision threshold %.3g: %s %.5g out of fold", threshold, metric.name, tuned)
        return threshold
    return None


def decide(proba: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Class indices decided from probabilities as ``predict`` decides them.

    The most probable class, or for a binary task with a tuned ``threshold``
    the positive class when its probability reaches it. ``proba`` is
    (n_rows, n_classes), or (n_rows,) for the positive class of a binary task.
    """
    proba = np.asarray(proba)
    if proba.ndim == 1:
        return (proba >= (0.5 if threshold is None else threshold)).astype(int)
    if threshold is not None and proba.shape[1] == 2:
        return (proba[:, 1] >= threshold).astype(int)
    return np.argmax(proba, axis=1)


__all__ = ["better_threshold", "decide", "needs_threshold", "tune_threshold", "with_threshold"]
