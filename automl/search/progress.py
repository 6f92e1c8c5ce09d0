"""What the user (the log) and the observer plugins hear while a search runs."""

from __future__ import annotations

import logging
import math
from typing import Any, Protocol

from automl.budget import Budget
from automl.context import SearchContext
from automl.evaluation.metrics import Metric
from automl.registry.observers import has_observers, notify
from automl.search.leaderboard import leaderboard_frame
from automl.search.space import SearchSpace
from automl.search.trial import TrialResult

logger = logging.getLogger("automl")


def search_started(
    hooks: Any, space: SearchSpace, metric: Metric, cv: str, shape: tuple[int, int], time_budget: float | None
) -> None:
    """Log the problem in one line and tell the observers (``automl_search_started``).

    ``shape`` is the table's rows (with a target) and columns.
    """
    ctx = space.ctx
    logger.info(
        "%s task, %d rows x %d columns, metric %s, %s, %d models, budget %s",
        ctx.task,
        *shape,
        metric.name,
        cv,
        len(space.models),
        "none" if time_budget is None else f"{time_budget:g}s",
    )
    seconds = math.inf if time_budget is None else float(time_budget)
    context = SearchContext(context=ctx, metric=metric.name, models=space.model_names, cv=cv, time_budget=seconds)
    notify(hooks.automl_search_started, context=context)


class ProgressListener(Protocol):
    """What follows a search as it runs (the progress bar of :mod:`automl.report.progress`).

    The search calls it in the parent process; it must return at once.
    """

    def trial(self, status: str, model: str, best: float | None) -> None:
        """A trial finished with ``status``; ``best`` is its score when it is the best so far, else None."""

    def phase(self, name: str) -> None:
        """The fit moved on to ``name`` (``"final refit"``)."""


class Progress:
    """Called with every finished trial: logs each improvement (every trial at DEBUG), tells the observers.

    Parameters
    ----------
    metric : Metric
        The search's metric.
    budget : Budget
        The fit's clock, for the time of each improvement.
    hooks : pluggy hook relay
        ``pm.hook``; ``automl_trial_finished`` receives each result and the leaderboard so far.
    listener : ProgressListener or None
        Hears of every trial (a progress bar).
    """

    def __init__(self, metric: Metric, budget: Budget, hooks: Any, listener: ProgressListener | None = None) -> None:
        self.metric = metric
        self.budget = budget
        self.hook = hooks.automl_trial_finished
        self.observed = has_observers(self.hook)
        self.listener = listener
        self._best = -math.inf

    def __call__(self, result: TrialResult, results: list[TrialResult]) -> None:
        """Report ``result``; ``results`` are the search's trials so far, this one included."""
        metric = self.metric
        improved = result.status == "ok" and metric.objective(result.mean) > self._best
        if self.listener is not None:
            self.listener.trial(result.status, result.model, result.mean if improved else None)
        if result.status != "ok":
            logger.debug("trial %d: %s %s: %s", result.number, result.model, result.status, result.error)
        elif improved:
            self._best = metric.objective(result.mean)
            logger.info(
                "trial %d: %s %s %.5g ± %.3g (%.1fs)",
                *(result.number, result.model, metric.name, result.mean, result.std, self.budget.elapsed()),
            )
        else:
            logger.debug("trial %d: %s %s %.5g", result.number, result.model, metric.name, result.mean)
        if self.observed:
            notify(self.hook, result=result, leaderboard=leaderboard_frame(results, metric))


__all__ = ["Progress", "ProgressListener", "search_started"]
