"""After the search: pick the final model (an ensemble or the best pipeline) and refit it on all rows."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from automl.ensemble import EnsembleClassifier, EnsembleRegressor, greedy_selection
from automl.evaluation import Problem
from automl.search import Search
from automl.trial import TrialConfig, TrialResult

logger = logging.getLogger(__name__)

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


@dataclass
class Final:
    """The final model and the leaderboard row it corresponds to."""

    pipeline: Any
    config: TrialConfig | None
    result: TrialResult | None


def _rows(results: list[TrialResult]) -> np.ndarray:
    oof = results[0].oof
    assert oof is not None
    finite = np.isfinite(oof)
    return finite.all(axis=1) if finite.ndim == 2 else finite


def ensemble_result(
    ranked: list[TrialResult],
    problem: Problem,
    n_iterations: int = 25,
    stop_at: float = math.inf,
    clock: Callable[[], float] = time.monotonic,
) -> TrialResult | None:
    """Greedy selection over the best trials' out-of-fold predictions.

    Returns a leaderboard row (model ``"ensemble"``, ``members`` trial -> weight)
    when the ensemble beats the best single pipeline out of fold, else None.
    """
    cands = _candidates(ranked)
    if len(cands) < 2:
        return None
    rows = _rows(cands)
    if rows.sum() < 2:
        return None
    metric = problem.metric
    usable = [r for r in cands if np.isfinite(r.oof[rows]).all()]
    if len(usable) < 2:
        return None
    y = problem.y_codes[rows]
    sel = greedy_selection(
        [r.oof[rows] for r in usable], y, metric, problem.classes, n_iterations, stop_at=stop_at, clock=clock
    )
    if len(sel.weights) < 2 or not sel.score > sel.best_single_score:
        return None
    blend = sum(w * usable[i].oof for i, w in sel.weights.items())
    fold_scores = []
    for _, valid in problem.splits:
        fold_scores.append(metric.score(problem.y_codes[valid], blend[valid], problem.classes))
    # the leaderboard ranks by the mean of the fold scores: the ensemble must win there too
    if not metric.objective(float(np.mean(fold_scores))) > metric.objective(ranked[0].mean):
        return None
    members = {usable[i].number: round(w, 4) for i, w in sel.weights.items()}
    result = TrialResult(
        number=-1,
        config=None,
        status="ok",
        fold_scores=[float(s) for s in fold_scores],
        fit_seconds=sum(usable[i].fit_seconds for i in sel.weights),
        predict_seconds=sum(usable[i].predict_seconds for i in sel.weights),
        oof=blend,
        members=members,
    )
    result.member_results = [usable[i] for i in sel.weights]  # type: ignore[attr-defined]
    result.member_weights = list(sel.weights.values())  # type: ignore[attr-defined]
    return result


def finalize(
    search: Search,
    ranked: list[TrialResult],
    build: Callable[[TrialConfig, int], Any],
    n_workers: int,
    use_ensemble: bool = True,
) -> Final | None:
    """Refit the ensemble if it wins and fits in the time left, else the best pipeline.

    The best pipeline's refit starts first, on all threads, so that a fitted
    model exists whatever happens next; the ensemble is chosen while it runs,
    and its other members are refitted in parallel.

    Parameters
    ----------
    search : Search
        The finished search (its pool and clock are used).
    ranked : list of TrialResult
        Successful trials, best first.
    build : callable
        ``build(config, n_threads)`` for all rows.
    n_workers : int
        Threads for the best pipeline's refit.
    use_ensemble : bool
        Consider an ensemble at all.
    """
    jobs = search.fits(build)
    try:
        return _choose(search, jobs, ranked, n_workers, use_ensemble)
    finally:
        jobs.stop()


def _choose(
    search: Search,
    jobs: Any,
    ranked: list[TrialResult],
    n_workers: int,
    use_ensemble: bool,
) -> Final | None:
    problem = search.problem
    budget = search.budget
    if not ranked:
        return None
    best = ranked[0]
    jobs.submit(best.number, best.config, n_workers)
    ens = None
    if use_ensemble:
        limit = budget.now() + max(0.05, 0.25 * budget.remaining()) if math.isfinite(budget.deadline) else math.inf
        ens = ensemble_result(ranked, problem, stop_at=limit, clock=budget.now)
    if ens is not None:
        members: list[TrialResult] = ens.member_results  # type: ignore[attr-defined]
        weights: list[float] = ens.member_weights  # type: ignore[attr-defined]
        others = [m for m in members if m is not best]
        todo = [m for m in others if m.number not in search.prefit]
        need = sum(search.refit_estimate(m) for m in todo) / max(1, min(len(todo), n_workers))
        if need < budget.remaining():
            for m in others:
                jobs.submit(m.number, m.config, 1)
            jobs.wait([m.number for m in members])
            if all(m.number in jobs.done for m in members):
                fitted = [(f"trial_{m.number}", jobs.done[m.number][0]) for m in members]
                cls = EnsembleRegressor if problem.task == "regression" else EnsembleClassifier
                model = cls.from_fitted(fitted, weights)
                logger.info("final model: ensemble of %d pipelines %s", len(members), ens.members)
                return Final(Pipeline([("ensemble", model)]), None, ens)
            logger.info("ensemble members did not all refit in time; using the best pipeline")
        else:
            logger.info("ensemble skipped: its refit needs about %.1fs", need)
    jobs.wait([best.number])
    if best.number in jobs.done:
        return Final(jobs.done[best.number][0], best.config, best)
    # the best pipeline could not be refitted: the next ones, while time lasts
    for r in ranked[1:]:
        if r.number in jobs.done or r.number in search.prefit:
            pipeline = jobs.done[r.number][0] if r.number in jobs.done else search.prefit[r.number]
            return Final(pipeline, r.config, r)
    for r in ranked[1:3]:
        jobs.submit(r.number, r.config, n_workers)
        jobs.wait([r.number])
        if r.number in jobs.done:
            return Final(jobs.done[r.number][0], r.config, r)
    return None


__all__ = ["ENSEMBLE_CANDIDATES", "Final", "ensemble_result", "finalize"]
