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
    #: stopped after a whole pass over the rows: the folds done are kept as its result
    keep: bool = False


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
    cover : int, optional
        How many of the first folds validate every row (:func:`~automl.evaluation.cross_validation.covering_folds`;
        fewer than ``n_folds`` for repeated folds). A trial that cannot finish all its folds in time, but can
        finish these, goes on to them and is kept with them. Default: ``n_folds``.
    """

    def __init__(self, budget: Budget, n_folds: int, results: list[TrialResult], cover: int | None = None) -> None:
        self.budget = budget
        self.n_folds = n_folds
        self.results = results
        self.cover = n_folds if cover is None else cover

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
        """Move a trial's kill time back when the folds it has left need little time (:func:`budget.finish_by`).

        When all its folds would need too long, the folds up to a whole pass over the rows may do.
        """
        now, pace, left = self.pace(r)
        for folds in (left, self.cover - len(r.folds)):
            if folds <= 0:
                continue
            seconds = self.budget.seconds
            kill_at = rules.finish_by(now, pace, folds, started=r.started, kill_at=r.kill_at, seconds=seconds)
            if kill_at != r.kill_at:
                logger.debug("trial %d may run until %.1fs to finish %d more folds", r.job, kill_at, folds)
                r.kill_at = kill_at
                return

    def can_finish(self, r: RunningTrial, search_end: float) -> bool:
        """False (and the trial marked as stopped) when its remaining folds cannot end in time.

        Even at a pace somewhat faster than its folds so far, the trial would
        pass its kill time or the end of the search, where it would be killed
        with nothing to show: stopping it now frees the worker for a trial that
        can finish (or for refitting the final pipelines). A trial that can
        still finish a whole pass over the rows goes on to it, and one that
        has finished it is stopped with ``keep`` set: its folds are its result.
        """
        now, pace, left = self.pace(r)
        limit = min(r.kill_at, search_end)
        done = len(r.folds)
        if rules.can_finish(now, pace, left, limit):
            return True
        if done < self.cover and rules.can_finish(now, pace, self.cover - done, limit):
            return True
        r.needed = pace * (done + left)
        r.keep = done >= self.cover
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
