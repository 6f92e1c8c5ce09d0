"""After the search: pick the final model (an ensemble or the best pipeline) and refit it on all rows."""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sklearn.pipeline import Pipeline

from automl import budget as rules
from automl.pipeline.build import TrialConfig
from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor
from automl.search.limit import describe, light_blend, ms, report_cost, within_limit
from automl.search.loop import Search
from automl.search.refits import FitJobs
from automl.search.selection import Blend, ensemble_result
from automl.search.trial import TrialResult
from automl.workers.protocol import FittedFile

logger = logging.getLogger(__name__)

#: a final model whose files hold more bytes than this is read after the idle workers are let go
BIG_MODEL_BYTES = 64 << 20


@dataclass
class Final:
    """The final model and the leaderboard row it corresponds to."""

    pipeline: Any
    config: TrialConfig | None
    result: TrialResult | None


class _Estimates(Protocol):
    """What refit costs are read from: the search's :class:`~automl.search.plan.RefitPlan`."""

    prefit: dict[int, Any]

    def refit_estimate(self, result: TrialResult, threads: int = 1) -> float: ...


def finalize(search: Search, ranked: list[TrialResult]) -> Final | None:
    """Refit the ensemble if it wins and fits in the time left, else the best pipeline.

    The best pipeline's refit starts first, on all threads, so that a fitted
    model exists whatever happens next; the ensemble is chosen while it runs,
    and its other members are refitted in parallel.

    Parameters
    ----------
    search : Search
        The finished search (its pool, clock and refit plan are used).
    ranked : list of TrialResult
        Successful trials, best first.
    """
    jobs = search.fits()
    limit = search.settings.infer_limit
    try:
        if not ranked:
            return None
        everyone = ranked
        if limit is not None:
            ranked = within_limit(ranked, limit)
        blend = _blend(search, ranked) if search.settings.ensemble else None
        # every core for the best pipeline's refit, unless other refits share them: more
        # threads than cores slow a model down far more than they speed it up
        others = len(jobs.running) + (len(blend.members) - 1 if blend is not None else 0)
        jobs.submit(ranked[0].number, ranked[0].final_config, max(1, search.n_workers - others))
        final = _refit_blend(search, jobs, blend, ranked[0]) if blend is not None else None
        final = final or _refit_best(search, jobs, ranked)
        if final is not None:
            final = _measured(search, jobs, ranked, final)
        if limit is not None and final is not None:
            report_cost(search.problem, final.result, _unconstrained(search, everyone), limit)
        return final
    finally:
        jobs.stop(quiet=True)  # what still runs is no longer needed


def _blend(search: Search, ranked: list[TrialResult]) -> Blend | None:
    """The ensemble to refit: the best one, or, if its refit is too slow, the best of those that can be refit."""
    budget, n_workers = search.budget, search.n_workers
    limit = budget.now() + rules.final_choose_seconds(budget.remaining()) if budget.limited else math.inf
    blend = _ensemble(search, ranked, stop_at=limit, clock=budget.now)
    if blend is None or _refit_need(search.plan, blend, ranked[0], n_workers) < rules.REFIT_MARGIN * budget.remaining():
        return blend
    by_weight = sorted(zip(blend.weights, blend.members, strict=True), key=lambda wm: -wm[0])
    seconds = rules.AFFORDABLE_SHARE * budget.remaining()
    affordable = _affordable(search.plan, ranked, ranked[0], n_workers, seconds, [m for _, m in by_weight])
    return _ensemble(search, ranked, stop_at=limit, clock=budget.now, allowed=affordable)


def _ensemble(search: Search, ranked: list[TrialResult], **kwargs: Any) -> Blend | None:
    """The best ensemble of ``ranked``; with a latency limit, one whose members' latencies add up to it."""
    if search.settings.infer_limit is None:
        return ensemble_result(ranked, search.problem, **kwargs)
    return light_blend(ranked, search.problem, search.settings.infer_limit, **kwargs)


def _measured(search: Search, jobs: FitJobs, ranked: list[TrialResult], final: Final) -> Final:
    """With a latency limit: the final model if its refit predicts a row within it, else the next candidates.

    A worker measured each refit pipeline right after fitting it (the final
    model never runs in this process during ``fit``: a plugin's predict could
    hang it). An ensemble counts as the sum of its members' latencies, an upper
    bound since members share their cleaning. An ensemble over the limit gives
    way to the best pipeline, a pipeline to the next one, while time lasts;
    when none fits, the fastest measured is kept, with a warning.
    """
    limit = search.settings.infer_limit
    if limit is None or final.result is None:
        return final
    trials = {r.number: r for r in ranked}
    tried: list[tuple[float, Final]] = []
    while True:
        row = _refit_seconds(jobs, trials, final.result)
        final.result.row_seconds = row
        if row <= limit:
            return final
        logger.info("final model %s takes %s per row, over infer_limit %s", describe(final.result), ms(row), ms(limit))
        tried.append((row, final))
        following = _next_candidate(search, jobs, ranked, final)
        if following is None:
            row, fastest = min(tried, key=lambda t: t[0])
            warnings.warn(
                f"no final model could be refit within infer_limit={limit!r}s per row in the time left; keeping "
                f"the fastest measured, {describe(fastest.result)} at {ms(row)} per row",
                RuntimeWarning,
                stacklevel=4,
            )
            return fastest
        final = following


def _refit_seconds(jobs: FitJobs, trials: dict[int, TrialResult], result: TrialResult) -> float:
    """Single-row latency of a refit final model: its own, or its members' summed; a trial's when not measured."""
    numbers = list(result.members) if result.members else [result.number]
    seconds = 0.0
    for n in numbers:
        measured = jobs.row_seconds.get(n, trials[n].row_seconds if n in trials else None)
        seconds += math.inf if measured is None else measured
    return seconds


def _next_candidate(search: Search, jobs: FitJobs, ranked: list[TrialResult], final: Final) -> Final | None:
    """The pipeline to try after ``final``: the best one after an ensemble, else the next in rank, refit now."""
    current = final.result
    start = (
        0
        if current is None or current.members
        else next((i + 1 for i, r in enumerate(ranked) if r.number == current.number), len(ranked))
    )
    for r in ranked[start : start + 3]:
        started = r.number in jobs.running.values()
        if jobs.finished(r.number) or started or search.budget.remaining() > search.plan.refit_estimate(r):
            final = _refit_now(search, jobs, r)
            if final is not None:
                return final
    return None


def _refit_now(search: Search, jobs: FitJobs, r: TrialResult) -> Final | None:
    """Trial ``r`` refit on all rows on every worker, waiting for it (a refit done or running already is reused)."""
    if not jobs.finished(r.number):
        jobs.submit(r.number, r.final_config, search.n_workers)
        jobs.wait([r.number])
    return Final(_read(search, [jobs.done[r.number][0]])[0], r.config, r) if r.number in jobs.done else None


def _read(search: Search, files: list[FittedFile], read_before: int = 0, queued: bool = False) -> list[Any]:
    """The pipelines in ``files``; a big final model is read after the idle workers gave their memory back.

    The parent's growth as it reads the final model is the fit's peak (an
    extra-trees member on diamonds: 240 MB), and idle workers hold tens of MB
    each; once the final model's files (``read_before`` bytes of it read
    already) pass :data:`BIG_MODEL_BYTES`, they are let go first, unless
    refits are ``queued`` for them (the next fit forks others, a few tenths
    of a second on its first trials).
    """
    if read_before + sum(f.size() for f in files) > BIG_MODEL_BYTES and not queued:
        start = search.budget.now()
        freed = search.pool.free_idle()
        seconds = search.budget.now() - start
        logger.debug("%d idle workers let go in %.3fs before reading a big final model", freed, seconds)
    return [f.load() for f in files]


def _unconstrained(search: Search, everyone: list[TrialResult]) -> TrialResult | None:
    """The best out of fold without the latency limit: the best pipeline, or the ensemble that beats it."""
    if not everyone:
        return None
    blend = None
    if search.settings.ensemble and search.budget.remaining() > rules.MIN_CHOOSE_SECONDS:
        stop = search.budget.now() + rules.final_choose_seconds(search.budget.remaining()) / 2
        blend = ensemble_result(everyone, search.problem, stop_at=stop, clock=search.budget.now)
    return blend.result if blend is not None else everyone[0]


def _refit_blend(search: Search, jobs: FitJobs, blend: Blend, best: TrialResult) -> Final | None:
    """Refit the ensemble's members in parallel; the fitted ensemble, or None if they do not all finish."""
    need = _refit_need(search.plan, blend, best, search.n_workers)
    if need >= search.budget.remaining():
        logger.info("ensemble skipped: its refit needs about %.1fs", need)
        return None
    for m in blend.members:
        if m is not best:
            jobs.submit(m.number, m.final_config, 1)
    pipelines: dict[int, Any] = {}
    read_bytes = 0

    def read(number: int) -> None:  # each member as its refit ends, while the others run
        nonlocal read_bytes
        file = jobs.done[number][0]
        size = file.size()
        pipelines[number] = _read(search, [file], read_bytes, queued=bool(jobs.pending))[0]
        read_bytes += size

    jobs.wait(blend.numbers, read)
    if not all(n in pipelines for n in blend.numbers):
        logger.info("ensemble members did not all refit in time; using the best pipeline")
        return None
    fitted = [(f"trial_{m.number}", pipelines[m.number]) for m in blend.members]
    cls = EnsembleRegressor if search.problem.task == "regression" else EnsembleClassifier
    logger.info("final model: ensemble of %d pipelines %s", len(blend.members), blend.result.members)
    return Final(Pipeline([("ensemble", cls.from_fitted(fitted, blend.weights))]), None, blend.result)


def _refit_best(search: Search, jobs: FitJobs, ranked: list[TrialResult]) -> Final | None:
    """The best pipeline refit on all rows; if it cannot be, the next ones, while time lasts."""
    best = ranked[0]
    jobs.wait([best.number])
    if best.number in jobs.done:
        return Final(_read(search, [jobs.done[best.number][0]])[0], best.config, best)
    for r in ranked[1:]:
        if r.number in jobs.done or r.number in search.plan.prefit:
            fitted = jobs.done[r.number][0] if r.number in jobs.done else search.plan.prefit[r.number]
            return Final(_read(search, [fitted])[0], r.config, r)
    for r in ranked[1:3]:
        final = _refit_now(search, jobs, r)
        if final is not None:
            return final
    return None


def prefit_final(search: Search, ranked: list[TrialResult]) -> Final | None:
    """The best of the pipelines refit during the search (what a fit interrupted in its final refit keeps)."""
    refit = [r for r in ranked if r.number in search.plan.prefit]
    return Final(search.plan.prefit[refit[0].number].load(), refit[0].config, refit[0]) if refit else None


def _refit_need(plan: _Estimates, blend: Any, best: TrialResult, n_workers: int) -> float:
    """Seconds to refit an ensemble's members other than the best, in parallel, skipping those refit already."""
    todo = [m for m in blend.members if m is not best and m.number not in plan.prefit]
    return rules.parallel_seconds([plan.refit_estimate(m) for m in todo], n_workers)


def _affordable(
    plan: _Estimates,
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
    chosen = {best.number, *(r.number for r in ranked if r.number in plan.prefit)}
    wanted_numbers = {r.number for r in wanted}
    rest = sorted((r for r in ranked if r.number not in wanted_numbers), key=plan.refit_estimate)
    costs: list[float] = []
    for r in [*wanted, *rest]:
        if r.number in chosen:
            continue
        cost = plan.refit_estimate(r)
        if rules.parallel_seconds([*costs, cost], n_workers) > seconds:
            if r.number in wanted_numbers:
                continue
            break
        chosen.add(r.number)
        costs.append(cost)
    return chosen


__all__ = ["Final", "finalize", "prefit_final"]
