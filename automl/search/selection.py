"""Greedy ensemble selection (Caruana et al., 2004) over the trials' out-of-fold predictions."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

import numpy as np

from automl.evaluation.cross_validation import Problem
from automl.evaluation.metrics import Metric
from automl.search.trial import TrialResult, ranked


@dataclass(frozen=True)
class Blend:
    """An ensemble the selection accepted: its leaderboard row, and its members with their weights."""

    result: TrialResult
    members: list[TrialResult]
    weights: list[float]

    @property
    def numbers(self) -> list[int]:
        """The members' trial numbers."""
        return [m.number for m in self.members]


@dataclass
class Selection:
    """The outcome of greedy selection: member index -> weight, and the pooled score."""

    weights: dict[int, float]
    score: float
    best_single_score: float


def _pooled(
    metric: Metric, y: np.ndarray, pred: np.ndarray, classes: np.ndarray | None, weights: np.ndarray | None
) -> float:
    return metric.objective(metric.score(y, pred, classes, sample_weight=weights))


def greedy_selection(
    oofs: Sequence[np.ndarray],
    y_codes: np.ndarray,
    metric: Metric,
    classes: np.ndarray | None,
    n_iterations: int = 25,
    stop_at: float = math.inf,
    clock: Callable[[], float] = time.monotonic,
    weights: np.ndarray | None = None,
) -> Selection:
    """Select members with replacement to optimise the metric of their average.

    Parameters
    ----------
    oofs : sequence of ndarray
        Out-of-fold predictions of each candidate, on the same rows.
    y_codes : ndarray
        True class indices or values of those rows.
    metric : Metric
        Optimised where greater (after :meth:`Metric.objective`) is better.
    classes : ndarray or None
        Class labels (classification).
    n_iterations : int
        Members drawn; weights are the draw counts over the best prefix.
    stop_at : float
        Stop drawing when ``clock()`` passes this time.
    clock : callable
        The clock ``stop_at`` refers to.
    weights : ndarray, optional
        Weight of each row in the metric (``sample_weight``).

    Returns
    -------
    Selection
    """
    singles = [_pooled(metric, y_codes, p, classes, weights) for p in oofs]
    start = int(np.argmax(singles))
    counts: Counter[int] = Counter({start: 1})
    total = np.array(oofs[start], dtype=float)
    best_score, best_counts = singles[start], Counter(counts)
    for it in range(2, n_iterations + 1):
        if clock() > stop_at:
            break
        scores = [_pooled(metric, y_codes, (total + p) / it, classes, weights) for p in oofs]
        j = int(np.argmax(scores))
        total = total + oofs[j]
        counts[j] += 1
        if scores[j] > best_score + 1e-12:
            best_score, best_counts = scores[j], Counter(counts)
    n = sum(best_counts.values())
    return Selection({i: c / n for i, c in sorted(best_counts.items())}, best_score, singles[start])


#: candidates considered for the ensemble: the best successful trials overall ...
ENSEMBLE_CANDIDATES = 12


#: ... and the best few of every model, so the ensemble can blend different kinds of model
ENSEMBLE_PER_MODEL = 3


def _candidates(ranked: list[TrialResult]) -> list[TrialResult]:
    """The best trials overall and the best of each model, best first."""
    per_model: dict[str, int] = {}
    chosen = []
    for i, r in enumerate(ranked):
        if r.oof is None:
            continue
        seen = per_model.get(r.model, 0)
        if i < ENSEMBLE_CANDIDATES or seen < ENSEMBLE_PER_MODEL:
            chosen.append(r)
            per_model[r.model] = seen + 1
    return chosen


def drop_unusable_oof(results: Sequence[TrialResult], metric: Metric, limit: float | None = None) -> int:
    """Forget the out-of-fold predictions no final ensemble can use; return how many were dropped.

    An ensemble draws its members from the best trials overall and the best of
    each model (:func:`_candidates`); a trial that has fallen out of both never
    comes back, since later trials only push it further down. With a latency
    ``limit``, the candidates among the trials within it, and the fastest
    trial, keep theirs too.
    """
    best_first = ranked(results, metric)
    keep = {id(r) for r in _candidates(best_first)}
    if limit is not None:
        within = [r for r in best_first if r.row_seconds is not None and r.row_seconds <= limit]
        keep |= {id(r) for r in _candidates(within)}
        measured = [r for r in best_first if r.row_seconds is not None]
        if measured:
            keep.add(id(min(measured, key=lambda r: r.row_seconds)))
    dropped = 0
    for r in results:
        if r.oof is not None and id(r) not in keep:
            r.oof = None
            dropped += 1
    return dropped


def _rows(oof: np.ndarray) -> np.ndarray:
    """Mask of the rows an out-of-fold prediction covers (the others are NaN)."""
    finite = np.isfinite(oof)
    return finite.all(axis=1) if finite.ndim == 2 else finite


def _fold_scores(problem: Problem, pred: np.ndarray) -> list[float]:
    """The metric, natural units, on each validation fold of out-of-fold predictions ``pred``."""
    metric, y = problem.metric, problem.y_codes
    return [
        float(metric.score(y[v], pred[v], problem.classes, sample_weight=problem.weights_of(v)))
        for _, v in problem.splits
    ]


def ensemble_result(
    ranked: list[TrialResult],
    problem: Problem,
    n_iterations: int = 25,
    stop_at: float = math.inf,
    clock: Callable[[], float] = time.monotonic,
    allowed: Container[int] | None = None,
) -> Blend | None:
    """Greedy selection over the best trials' out-of-fold predictions.

    Returns the ensemble, whose leaderboard row has model ``"ensemble"`` and
    ``members`` trial -> weight, when it beats the best single pipeline out of
    fold, else None.
    ``allowed`` restricts the members to these trial numbers (those whose refit
    fits in the time left); the ensemble must still beat the best of all trials.
    """
    cands = _candidates(ranked if allowed is None else [r for r in ranked if r.number in allowed])
    if len(cands) < 2:
        return None
    assert cands[0].oof is not None
    rows = _rows(cands[0].oof)
    if rows.sum() < 2:
        return None
    metric = problem.metric
    usable = [r for r in cands if np.isfinite(r.oof[rows]).all()]
    if len(usable) < 2:
        return None
    y = problem.y_codes[rows]
    oofs = [r.oof[rows] for r in usable]
    weights = problem.weights_of(np.flatnonzero(rows))
    sel = greedy_selection(
        oofs, y, metric, problem.classes, n_iterations, stop_at=stop_at, clock=clock, weights=weights
    )
    if len(sel.weights) < 2 or not sel.score > sel.best_single_score:
        return None
    blend = sum(w * usable[i].oof for i, w in sel.weights.items())
    fold_scores = _fold_scores(problem, blend)
    # the leaderboard ranks by the mean of the fold scores: the ensemble must win there too
    if not metric.objective(float(np.mean(fold_scores))) > metric.objective(ranked[0].mean):
        return None
    members = {usable[i].number: round(w, 4) for i, w in sel.weights.items()}
    result = TrialResult(
        number=-1,
        config=None,
        status="ok",
        fold_scores=fold_scores,
        fit_seconds=sum(usable[i].fit_seconds for i in sel.weights),
        predict_seconds=sum(usable[i].predict_seconds for i in sel.weights),
        oof=blend,
        members=members,
    )
    return Blend(result, [usable[i] for i in sel.weights], list(sel.weights.values()))


__all__ = ["ENSEMBLE_CANDIDATES", "Blend", "Selection", "drop_unusable_oof", "ensemble_result", "greedy_selection"]
