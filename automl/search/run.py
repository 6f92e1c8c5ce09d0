"""One search from start to final model: run the trials, refit the winner, fall back when nothing finished."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

from automl.budget import Budget
from automl.data.prepare import Prepared
from automl.evaluation.thresholds import better_threshold, with_threshold
from automl.exceptions import SearchFailedError
from automl.pipeline.build import TrialConfig
from automl.search.baseline import quick_baseline, reference_results
from automl.search.finalize import Final, finalize, prefit_final
from automl.search.loop import Search, SearchSettings
from automl.search.progress import Progress, search_started
from automl.search.space import SearchSpace, by_kind
from automl.search.trial import TrialResult, ranked
from automl.workers.pool import WorkerPool

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """What a search gives the estimator.

    Attributes
    ----------
    results : list of TrialResult
        Every trial, and last the final ensemble's row when the final model is one.
    pipeline : Pipeline
        The final model, fitted on all rows.
    config : TrialConfig or None
        Its configuration (None for an ensemble or the baseline).
    best : TrialResult or None
        Its leaderboard row (None for the baseline).
    threshold : float or None
        The decision threshold ``pipeline`` applies, if one was tuned.
    """

    results: list[TrialResult]
    pipeline: Any
    config: TrialConfig | None
    best: TrialResult | None
    threshold: float | None = None


def search_and_refit(
    prepared: Prepared, budget: Budget, pool: WorkerPool, settings: SearchSettings, hooks: Any
) -> Outcome:
    """Search pipelines for ``prepared`` within ``budget`` and return the final model, refit on all rows.

    The observers among the plugins (``hooks``, a plugin manager's ``hook``)
    hear of the search's start and of every trial; the log gets one line for
    the problem and one for each improvement.

    A KeyboardInterrupt keeps what finished: the best pipeline so far (with a
    warning), or one refit during the search when the interrupt comes during the
    final refit. When no trial finished in time, the final model is the linear
    baseline fitted in-process on a sample (with a warning).

    Raises
    ------
    SearchFailedError
        When every trial failed.
    KeyboardInterrupt
        When interrupted before any trial finished.
    """
    problem = prepared.problem
    space = space_of(prepared)
    search_started(hooks, space, problem.metric, prepared.cv, problem.X.shape, _seconds(budget))
    search = Search(
        space=space,
        builder=prepared.builder,
        problem=problem,
        budget=budget,
        pool=pool,
        settings=settings,
        on_result=Progress(problem.metric, budget, hooks, settings.progress),
    )
    try:
        results = search.run()
        if settings.progress is not None:
            settings.progress.phase("final refit")
        final = _final_model(search, results)
    finally:
        search.cleanup()
    cheapest = min(prepared.models, key=lambda m: m.cost).name  # its default is trial 0 (space.starting_points)
    results = [*results, *reference_results(problem, results, cheapest)]
    if final is None:
        return _baseline(prepared, results, budget)
    if final.result is not None and final.result.members:
        results = [*results, final.result]
    threshold = better_threshold(final.result.oof if final.result is not None else None, problem)
    pipeline = final.pipeline if threshold is None else with_threshold(final.pipeline, threshold, problem.X, problem.y)
    return Outcome(results, pipeline, final.config, final.result, threshold)


def space_of(prepared: Prepared) -> SearchSpace:
    """The candidates of a prepared problem: its models, and the preprocessors for its kinds of column."""
    kinds = prepared.schema.prepared_kinds
    preprocessors = by_kind(prepared.builder.preprocessors, kinds)
    return SearchSpace(prepared.models, preprocessors, kinds, prepared.builder.context)


def _final_model(search: Search, results: list[TrialResult]) -> Final | None:
    """The final model refit on all rows, or None when no trial succeeded in time."""
    best_first = ranked(results, search.problem.metric)
    if search.interrupted:
        if not best_first:
            raise KeyboardInterrupt("fit interrupted before any trial finished")
        warnings.warn(
            f"fit interrupted: using the best of the {len(best_first)} pipelines that finished",
            RuntimeWarning,
            stacklevel=5,
        )
    if not best_first and results and all(r.status == "failed" for r in results):
        first = "\n".join(f"  trial {r.number} ({r.model}): {r.error}" for r in results[:5])
        raise SearchFailedError(f"all {len(results)} trials failed; the first failures:\n{first}")
    try:
        return finalize(search, best_first)
    except KeyboardInterrupt:
        # stopped again during the refit: a pipeline refit during the search, if any
        final = prefit_final(search, best_first)
        if final is None:
            raise
        assert final.result is not None
        warnings.warn(
            f"fit interrupted during the final refit: using trial {final.result.number} ({final.result.model}), "
            "refit during the search",
            RuntimeWarning,
            stacklevel=5,
        )
        return final


def _baseline(prepared: Prepared, results: list[TrialResult], budget: Budget) -> Outcome:
    """No pipeline finished in time: the linear baseline, fitted here on a sample of the rows."""
    problem, seed = prepared.problem, prepared.builder.context.random_state
    pipeline, what = quick_baseline(prepared.builder, problem.X, problem.y, problem.y_codes, seed, problem.weights)
    warnings.warn(
        f"no pipeline finished within the time budget of {_seconds(budget)}s; best_pipeline_ is {what}. "
        "Give a larger time_budget.",
        RuntimeWarning,
        stacklevel=5,
    )
    return Outcome(results, pipeline, None, None)


def _seconds(budget: Budget) -> float | None:
    """The time budget as the user gave it: seconds, or None for no limit."""
    return budget.seconds if budget.limited else None


__all__ = ["Outcome", "search_and_refit", "space_of"]
