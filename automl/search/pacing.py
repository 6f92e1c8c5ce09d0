"""How long each trial of a search may run: the budget's trial rules applied to this search's trials."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl import budget as rules
from automl.budget import Budget
from automl.pipeline.build import TrialConfig
from automl.search.trial import TrialResult

logger = logging.getLogger(__name__)


@dataclass
class RunningTrial:
    """A trial in a worker: what it runs, when it started, when it is killed, and its folds so far."""

    job: int
    trial: Any  # the Optuna trial; None in tests
    config: TrialConfig
    started: float
    kill_at: float
    folds: list[float] = field(default_factory=list)
    #: why the search stopped the trial after a fold (it could not finish in time), and what it would need
    stopped: str = ""
    needed: float | None = None


class Pacing:
    """The per-trial time limits of one search (the rules are :mod:`automl.budget`'s).

    Parameters
    ----------
    budget : Budget
        The fit's clock.
    n_folds : int
        Folds every trial is evaluated on.
    results : list of TrialResult
        The search's finished trials (the list itself, which grows as the search runs).
    """

    def __init__(self, budget: Budget, n_folds: int, results: list[TrialResult]) -> None:
        self.budget = budget
        self.n_folds = n_folds
        self.results = results

    def cap(self, model: str, left: float, running: int = 0) -> float | None:
        """Seconds a new trial of ``model`` may run, or None if it should not start (:func:`automl.budget.trial_cap`).

        ``left`` is the time until the search's end; ``running`` counts the model's trials in progress.
        """
        ok = [r.duration for r in self.results if r.status == "ok"]
        mine = [r for r in self.results if r.model == model]
        return rules.trial_cap(
            self.budget.seconds,
            left,
            any_success=bool(ok),
            own_ok=[r.duration for r in mine if r.status == "ok"],
            own_timeouts=[r.needed or r.duration for r in mine if r.status == "timeout"],
            own_running=running,
            typical=float(np.median(ok)) if ok else 0.0,
        )

    def let_finish(self, r: RunningTrial) -> None:
        """Move a trial's kill time back when the folds it has left need little time (:func:`budget.finish_by`)."""
        now, pace, left = self.pace(r)
        kill_at = rules.finish_by(now, pace, left, started=r.started, kill_at=r.kill_at, seconds=self.budget.seconds)
        if kill_at != r.kill_at:
            logger.debug("trial %d may run until %.1fs to finish its folds", r.job, kill_at)
            r.kill_at = kill_at

    def can_finish(self, r: RunningTrial, search_end: float) -> bool:
        """False (and the trial marked as stopped) when its remaining folds cannot end in time.

        Even at a pace somewhat faster than its folds so far, the trial would
        pass its kill time or the end of the search, where it would be killed
        with nothing to show: stopping it now frees the worker for a trial that
        can finish (or for refitting the final pipelines).
        """
        now, pace, left = self.pace(r)
        limit = min(r.kill_at, search_end)
        if rules.can_finish(now, pace, left, limit):
            return True
        done = len(r.folds)
        r.needed = pace * (done + left)
        what = "its per-trial time limit" if r.kill_at <= limit else "the end of the search"
        r.stopped = (
            f"stopped after {now - r.started:.1f}s and {done} of {done + left} folds: "
            f"the rest would need about {pace * left:.1f}s, past {what}"
        )
        return False

    def pace(self, r: RunningTrial) -> tuple[float, float, int]:
        """The time now, the running trial's seconds per fold so far, and how many folds it has left."""
        now = self.budget.now()
        return now, (now - r.started) / len(r.folds), self.n_folds - len(r.folds)


__all__ = ["Pacing", "RunningTrial"]
