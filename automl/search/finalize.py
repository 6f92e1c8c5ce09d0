"""After the search: pick the final model (an ensemble or the best pipeline) and refit it on all rows."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor
from automl.search.loop import REFIT_MARGIN, Search, parallel_seconds
from automl.search.selection import ensemble_result
from automl.search.trial import TrialConfig, TrialResult

logger = logging.getLogger(__name__)


@dataclass
class Final:
    """The final model and the leaderboard row it corresponds to."""

    pipeline: Any
    config: TrialConfig | None
    result: TrialResult | None


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
        jobs.stop(quiet=True)  # what still runs is no longer needed


def _refit_need(search: Search, ens: TrialResult, best: TrialResult, n_workers: int) -> float:
    """Seconds to refit an ensemble's members other than the best, in parallel, skipping those refit already."""
    todo = [m for m in ens.member_results if m is not best and m.number not in search.prefit]  # type: ignore[attr-defined]
    return parallel_seconds([search.refit_estimate(m) for m in todo], n_workers)


def _affordable(
    search: Search,
    ranked: list[TrialResult],
    best: TrialResult,
    n_workers: int,
    seconds: float,
    wanted: Sequence[TrialResult] = (),
) -> set[int]:
    """Trial numbers whose refits, in parallel as :func:`_refit_need` counts them, fit in ``seconds``.

    Those refit already and the best come first, then the ``wanted`` ones in their
    order (the members of the ensemble that could not be refit whole, heaviest
    weight first), skipping any that do not fit, then the quickest of the rest.
    """
    chosen = {best.number, *(r.number for r in ranked if r.number in search.prefit)}
    wanted_numbers = {r.number for r in wanted}
    rest = sorted((r for r in ranked if r.number not in wanted_numbers), key=search.refit_estimate)
    costs: list[float] = []
    for r in [*wanted, *rest]:
        if r.number in chosen:
            continue
        cost = search.refit_estimate(r)
        if parallel_seconds([*costs, cost], n_workers) > seconds:
            if r.number in wanted_numbers:
                continue
            break
        chosen.add(r.number)
        costs.append(cost)
    return chosen


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
    ens = None
    limit = budget.now() + max(0.05, 0.1 * budget.remaining()) if math.isfinite(budget.deadline) else math.inf
    if use_ensemble:
        ens = ensemble_result(ranked, problem, stop_at=limit, clock=budget.now)
    if ens is not None and _refit_need(search, ens, best, n_workers) >= REFIT_MARGIN * budget.remaining():
        # too slow to refit: the best ensemble of the pipelines that can be refit in time
        by_weight = sorted(zip(ens.member_weights, ens.member_results, strict=True), key=lambda wm: -wm[0])  # type: ignore[attr-defined]
        wanted = [m for _, m in by_weight]
        affordable = _affordable(search, ranked, best, n_workers, 0.8 * budget.remaining(), wanted)
        ens = ensemble_result(ranked, problem, stop_at=limit, clock=budget.now, allowed=affordable)
    # every core for the best pipeline's refit, unless other refits share them: more
    # threads than cores slow a model down far more than they speed it up
    others = len(jobs.running) + (len(ens.members) - 1 if ens is not None else 0)
    jobs.submit(best.number, best.final_config, max(1, n_workers - others))
    if ens is not None:
        members: list[TrialResult] = ens.member_results  # type: ignore[attr-defined]
        weights: list[float] = ens.member_weights  # type: ignore[attr-defined]
        others = [m for m in members if m is not best]
        need = _refit_need(search, ens, best, n_workers)
        if need < budget.remaining():
            for m in others:
                jobs.submit(m.number, m.final_config, 1)
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
        jobs.submit(r.number, r.final_config, n_workers)
        jobs.wait([r.number])
        if r.number in jobs.done:
            return Final(jobs.done[r.number][0], r.config, r)
    return None


__all__ = ["Final", "finalize"]
