"""The plan of the final model while the search runs: what it will need, the time kept for its refit,
and refits of the planned pipelines on the spare worker near the end.

The search keeps one worker more than it runs trials on. Near its end, that
worker refits the pipelines the final model is expected to need (the best one,
and a likely ensemble's members) on all rows, so a fitted model exists even if
the final refit cannot finish, and the time those refits take calibrates the
estimates of the others (rules in :mod:`automl.budget`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cloudpickle
import numpy as np

from automl import budget as rules
from automl.budget import Budget
from automl.evaluation.cross_validation import Problem
from automl.pipeline.build import TrialConfig
from automl.search.selection import ensemble_result
from automl.search.trial import TrialResult, best_result, ranked
from automl.workers.pool import Worker, WorkerPool, fatal
from automl.workers.problem import SharedProblem
from automl.workers.protocol import Failed, Fit, Fitted, FittedFile, Job, Reply

logger = logging.getLogger(__name__)


@dataclass
class Prefit:
    """A refit on all rows running on the spare worker during the search."""

    worker: Worker
    number: int
    started: float


class RefitPlan:
    """What the final model is expected to need, and the refits done for it during the search.

    Parameters
    ----------
    budget : Budget
        The fit's clock.
    problem : Problem
        The search's data, folds and metric.
    results : list of TrialResult
        The search's finished trials (the list itself, which grows as the search runs).
    n_workers : int
        Workers that run trials; the final refit runs on as many.
    ensemble : bool
        The final model may be an ensemble: plan for its members too.
    """

    def __init__(
        self, budget: Budget, problem: Problem, results: list[TrialResult], n_workers: int, ensemble: bool
    ) -> None:
        self.budget = budget
        self.problem = problem
        self.results = results
        self.n_workers = n_workers
        self.ensemble = ensemble
        #: the trials the final model is expected to need, best first (see :meth:`update`)
        self.trials: list[TrialResult] = []
        self._made_at = -np.inf
        self._made_with = 0
        #: trial number -> pipeline fitted on all rows during the search
        self.prefit: dict[int, FittedFile] = {}
        self.running: Prefit | None = None
        self._failed: set[int] = set()
        #: actual / nominal seconds of the refits done during the search, to calibrate estimates
        self.ratios: list[float] = []
        self._fold_share = float(np.mean([len(tr) for tr, _ in problem.splits])) / max(1, len(problem.X))

    # -- estimates -----------------------------------------------------------
    def best(self) -> TrialResult | None:
        """The best successful trial so far."""
        return best_result(self.results, self.problem.metric)

    def nominal(self, result: TrialResult) -> float:
        """One fold's fit time of ``result``, scaled to all rows."""
        return rules.nominal_refit(result.fit_seconds, len(result.fold_scores), self._fold_share)

    def refit_estimate(self, result: TrialResult | None, threads: int = 1) -> float:
        """Seconds the final refit of ``result`` is expected to take, on ``threads`` threads.

        The nominal time times a factor learned from the refits done during the
        search (:func:`automl.budget.refit_seconds`).
        """
        if result is None or not result.fold_scores:
            return rules.unknown_refit_seconds(self.budget.seconds)
        return rules.refit_seconds(self.nominal(result), self.ratios, threads)

    def _refit_left(self, result: TrialResult) -> float:
        """Seconds the refit of ``result`` still needs: less if it runs on the spare worker now."""
        estimate = self.refit_estimate(result)
        if self.running is not None and self.running.number == result.number:
            return max(rules.REFIT_OVERHEAD, estimate - (self.budget.now() - self.running.started))
        return estimate

    def search_end(self) -> float:
        """Clock time when trials must stop, leaving time to choose and refit the final model.

        The reserve (:func:`automl.budget.refit_reserve`) covers the refit of the
        best pipeline, or of the planned ensemble's members fitted in parallel
        (pipelines already refitted on the spare worker cost nothing), plus a
        small share of the budget for choosing the ensemble.
        """
        best = self.best()
        if best is None:
            return self.budget.deadline - self.refit_estimate(None)
        plan = self.trials or [best]
        todo = [r for r in plan if r.number not in self.prefit]
        single = 0.0 if plan[0].number in self.prefit else self.refit_estimate(plan[0], threads=self.n_workers)
        members = rules.parallel_seconds([self._refit_left(r) for r in todo], self.n_workers)
        return self.budget.deadline - rules.refit_reserve(single, members, self.budget.seconds)

    def update(self) -> None:
        """Guess which pipelines the final model will need: the best one and a likely ensemble's members.

        Made again at most every few seconds (greedy selection is cheap but not
        free), and only with a time limit: the plan sizes the time kept for the
        final refit and chooses what to refit on the spare worker near the end.
        """
        now = self.budget.now()
        n_ok = sum(r.status == "ok" for r in self.results)
        if not self.budget.limited or n_ok == self._made_with:
            return
        if self.trials and now - self._made_at < rules.replan_after(self.budget.seconds):
            return
        self._made_at, self._made_with = now, n_ok
        best_first = ranked(self.results, self.problem.metric)
        plan = best_first[:1]
        if self.ensemble:
            stop_at = now + rules.PLAN_CHOOSE_SECONDS
            blend = ensemble_result(best_first, self.problem, stop_at=stop_at, clock=self.budget.now)
            if blend is not None:
                plan += [m for m in blend.members if m is not best_first[0]]
        self.trials = plan
        logger.debug(
            "plan: trials %s, refit reserve %.1fs", [r.number for r in plan], self.budget.deadline - self.search_end()
        )

    # -- refits on the spare worker -----------------------------------------
    def maybe_prefit(
        self,
        now: float,
        end: float,
        idle: list[Worker],
        shared: SharedProblem,
        build_full: Callable[[TrialConfig, int], Any],
    ) -> None:
        """Refit the planned final pipelines on an idle worker, one by one, once the search nears its end."""
        if self.running is not None:
            return
        todo = [
            r
            for r in (self.trials or [self.best()])
            if r is not None and r.config is not None and r.number not in self.prefit and r.number not in self._failed
        ]
        if not todo or not idle:
            return
        estimate = sum(self.refit_estimate(r) for r in todo)
        if not rules.time_to_prefit(end - now, end - self.budget.start, estimate):
            return
        w, target = idle[0], todo[0]
        try:
            blob = cloudpickle.dumps(build_full(target.final_config, 1))
        except Exception:
            self._failed.add(target.number)
            return
        if shared.load(w) and shared.pool.send(w, Fit(target.number, blob, 1)):
            w.job = Job("refit", target.number)
            self.running = Prefit(w, target.number, self.budget.now())

    def prefit_done(self, reply: Reply | None, pool: WorkerPool) -> None:
        """Take the spare worker's reply (None: it died): keep the fitted pipeline and learn from its time."""
        assert self.running is not None
        w, number, started = self.running.worker, self.running.number, self.running.started
        self.running = None
        if isinstance(reply, Fitted):
            w.job = None
            self.prefit[number] = FittedFile(reply)
            result = next((r for r in self.results if r.number == number), None)
            if result is not None and result.fold_scores:
                took = self.budget.now() - started
                self.ratios.append(rules.refit_ratio(took, self.nominal(result)))
                logger.debug(
                    "refit of trial %d during the search: %.1fs, nominal %.1fs", number, took, self.nominal(result)
                )
            return
        self._failed.add(number)
        if reply is None or fatal(reply):
            pool.kill(w)
        else:
            w.job = None

    def answers(self, w: Worker, reply: Reply | None) -> bool:
        """True when ``reply`` from ``w`` ends the refit running on the spare worker."""
        return (
            self.running is not None
            and w is self.running.worker
            and (reply is None or isinstance(reply, Fitted | Failed))
        )


__all__ = ["Prefit", "RefitPlan"]
