"""Scoring one pipeline by cross-validation, fold by fold.

These functions run inside a worker process (see :mod:`automl.workers`) but are
plain functions of their arguments, so they are tested in-process too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.base import clone

from automl.evaluation.latency import ROW_CALLS, row_seconds
from automl.evaluation.metrics import Metric
from automl.pipeline.build import fit_weighted

#: ``on_fold(fold, score)``: True goes on, False prunes, :data:`KEEP` stops and keeps the folds done
FoldCallback = Callable[[int, float], bool | Literal["keep"]]
#: the answer of ``on_fold`` that stops an evaluation but keeps its folds when they validate every row
KEEP: Literal["keep"] = "keep"


class TrialPruned(Exception):
    """The search asked to stop this trial after a fold."""


@dataclass
class Problem:
    """The data a worker evaluates pipelines on, sent to it once.

    Parameters
    ----------
    X : DataFrame
        Training table as the user gave it (columns checked).
    y : ndarray
        Target in the user's labels.
    y_codes : ndarray
        Class indices (0..k-1) for classification, the float target for regression.
    classes : ndarray or None
        Sorted class labels; None for regression.
    splits : list of (train_idx, valid_idx)
        The evaluation folds.
    metric : Metric
        The metric to compute on each validation fold.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    measure_latency : bool
        Measure the single-row latency of the first fold's model.
    weights : ndarray or None
        Weight of each row (``sample_weight``): passed to every fit and every score.
    order : ndarray or None
        Row positions in time order when the rows are time-ordered: the final
        refit sees the rows in that order.
    """

    X: pd.DataFrame
    y: np.ndarray
    y_codes: np.ndarray
    classes: np.ndarray | None
    splits: list[tuple[np.ndarray, np.ndarray]]
    metric: Metric
    task: str
    measure_latency: bool = False
    weights: np.ndarray | None = None
    order: np.ndarray | None = None

    def weights_of(self, rows: np.ndarray) -> np.ndarray | None:
        """The weights of ``rows``, or None when the rows are unweighted."""
        return None if self.weights is None else self.weights[rows]


@dataclass
class Evaluation:
    """What evaluating one pipeline produced."""

    fold_scores: list[float] = field(default_factory=list)
    oof: np.ndarray | None = None
    fit_seconds: list[float] = field(default_factory=list)
    predict_seconds: list[float] = field(default_factory=list)
    #: per fold, the ``learned_params_`` the fitted model reported (see :func:`learned_params`)
    learned: list[dict[str, Any]] = field(default_factory=list)
    #: single-row prediction latency of the first fold's model, when the problem asks for it
    row_seconds: float | None = None


def learned_params(estimator: Any) -> dict[str, Any]:
    """What a fitted model learned about its own settings, to reuse in its final refit.

    A model that sizes itself on held-out rows (a number of trees found by early
    stopping) may set ``learned_params_``, a dict of parameters for its
    component's ``build``; the engine passes their median over the folds to the
    final refit, which then needs no rows held out. For a pipeline, its last step's.
    """
    last = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    found = getattr(last, "learned_params_", None)
    return dict(found) if isinstance(found, dict) else {}


def median_params(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """One value per learned parameter over the folds: the median of numbers (an int stays an int), else the mode.

    Parameters
    ----------
    per_fold : list of dict
        :func:`learned_params` of each fold's model.
    """
    out: dict[str, Any] = {}
    for name in dict.fromkeys(k for d in per_fold for k in d):
        values = [d[name] for d in per_fold if name in d]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            mid = float(np.median(values))
            out[name] = int(round(mid)) if all(isinstance(v, int) for v in values) else mid
        else:
            out[name] = max(values, key=values.count)
    return out


def predictions(estimator: Any, X: pd.DataFrame, task: str, classes: np.ndarray | None) -> np.ndarray:
    """Predict in the form metrics use: class probabilities aligned to ``classes``, or values.

    Raises
    ------
    ValueError
        When the estimator returns the wrong shape, NaN or infinite values.
    """
    n = len(X)
    if task == "regression":
        pred = np.asarray(estimator.predict(X), dtype=float).reshape(-1) if n else np.zeros(0)
        if pred.shape != (n,):
            raise ValueError(f"predict returned shape {pred.shape}, expected ({n},)")
        if not np.all(np.isfinite(pred)):
            raise ValueError("predict returned NaN or infinite values")
        return pred
    assert classes is not None
    k = len(classes)
    model_classes = np.asarray(getattr(estimator, "classes_", classes))
    if hasattr(estimator, "predict_proba"):
        proba = np.asarray(estimator.predict_proba(X), dtype=float)
        if proba.ndim != 2 or proba.shape != (n, len(model_classes)):
            raise ValueError(f"predict_proba returned shape {proba.shape}, expected ({n}, {len(model_classes)})")
        if not np.all(np.isfinite(proba)):
            raise ValueError("predict_proba returned NaN or infinite values")
    else:
        labels = np.asarray(estimator.predict(X))
        proba = (labels.reshape(-1, 1) == model_classes.reshape(1, -1)).astype(float)
    if len(model_classes) == k and np.array_equal(model_classes, classes):
        return proba
    # a fold that lacked some class: put columns where they belong
    out = np.zeros((n, k))
    pos = np.searchsorted(classes, model_classes)
    out[:, pos] = proba
    return out


def evaluate(
    estimator: Any,
    problem: Problem,
    on_fold: FoldCallback | None = None,
    fold_indices: Sequence[int] | None = None,
) -> Evaluation:
    """Fit a clone of ``estimator`` on each training fold and score it on the validation fold.

    Parameters
    ----------
    estimator : estimator
        Unfitted pipeline.
    problem : Problem
        Data, folds and metric.
    on_fold : callable, optional
        ``on_fold(fold, score)`` after each fold but the last; returning False
        stops the evaluation with :class:`TrialPruned`. Returning :data:`KEEP`
        stops it too, but returns the folds done when they validate every row
        that all the folds validate (a whole pass of repeated folds, see
        :func:`covering_folds`); otherwise it raises :class:`TrialPruned` too.
        It is not called after the last fold: a finished evaluation is never
        thrown away.
    fold_indices : sequence of int, optional
        Evaluate only these folds (default: all).

    Returns
    -------
    Evaluation
    """
    X, y = problem.X, problem.y
    k = 0 if problem.classes is None else len(problem.classes)
    oof = np.zeros((len(X), k) if k else len(X))
    seen = np.zeros(len(X))
    out = Evaluation()
    folds = list(range(len(problem.splits)) if fold_indices is None else fold_indices)
    validated = np.zeros(len(X), dtype=bool)
    for i in folds:
        validated[problem.splits[i][1]] = True
    for n_done, i in enumerate(folds, start=1):
        train, valid = problem.splits[i]
        est = clone(estimator)
        t0 = time.perf_counter()
        fit_weighted(est, X.iloc[train], y[train], problem.weights_of(train))
        t1 = time.perf_counter()
        pred = predictions(est, X.iloc[valid], problem.task, problem.classes)
        t2 = time.perf_counter()
        score = problem.metric.score(
            problem.y_codes[valid], pred, problem.classes, X.iloc[valid], sample_weight=problem.weights_of(valid)
        )
        if not np.isfinite(score):
            raise ValueError(f"the metric {problem.metric.name} is {score} on fold {i}")
        out.fit_seconds.append(t1 - t0)
        out.predict_seconds.append(t2 - t1)
        out.fold_scores.append(float(score))
        out.learned.append(learned_params(est))
        if problem.measure_latency and out.row_seconds is None:
            out.row_seconds = row_seconds(est, X.iloc[valid[:ROW_CALLS]], problem.task)
        oof[valid] += pred
        seen[valid] += 1
        if on_fold is None or n_done == len(folds):
            continue
        answer = on_fold(i, float(score))
        if answer == KEEP:
            if not (seen > 0)[validated].all():
                raise TrialPruned(f"stopped after fold {i}, before every row was validated")
            break
        if not answer:
            raise TrialPruned(f"pruned after fold {i}")
    # rows validated more than once (repeated folds) get their mean prediction
    with np.errstate(invalid="ignore", divide="ignore"):
        out.oof = oof / (seen[:, None] if oof.ndim == 2 else seen)
    return out


def covering_folds(splits: Sequence[tuple[np.ndarray, np.ndarray]]) -> int:
    """How many of the first folds validate every row that all of ``splits`` validate.

    For k folds repeated r times this is k: after one whole pass, every row
    has an out-of-fold prediction, so an evaluation stopped there is complete
    (if noisier). For plain k folds it is k.
    """
    if not splits:
        return 0
    every = np.unique(np.concatenate([valid for _, valid in splits]))
    covered = np.zeros(int(every.max()) + 1, dtype=bool)
    for n, (_, valid) in enumerate(splits, start=1):
        covered[valid] = True
        if covered[every].all():
            return n
    return len(splits)


def fit_full(estimator: Any, problem: Problem) -> tuple[Any, float]:
    """Fit ``estimator`` on every row of ``problem`` (weighted, in time order if so); return it and the seconds."""
    rows = np.arange(len(problem.X)) if problem.order is None else problem.order
    X = problem.X if problem.order is None else problem.X.iloc[rows]
    t0 = time.perf_counter()
    fit_weighted(estimator, X, problem.y[rows], problem.weights_of(rows))
    return estimator, time.perf_counter() - t0


__all__ = [
    "Evaluation",
    "Problem",
    "KEEP",
    "TrialPruned",
    "covering_folds",
    "evaluate",
    "fit_full",
    "learned_params",
    "median_params",
    "predictions",
]
