"""The search loop: an Optuna study whose trials run in worker processes under one deadline.

The loop asks the study for a configuration, builds its pipeline, and hands it
to an idle worker; replies come back as they finish and are told to the study.
The loop, not Optuna, keeps the time: every running trial has a kill time
(:mod:`automl.search.pacing`), and no trial may eat the time kept for the
final refit (:mod:`automl.search.plan`). The rules are in :mod:`automl.budget`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import cloudpickle
import numpy as np
import optuna

from automl import budget as rules
from automl.budget import Budget
from automl.evaluation.cross_validation import Evaluation, Problem, covering_folds, median_params
from automl.pipeline.build import PipelineBuilder
from automl.search.distributed import DeadlinePlan, StudyLink
from automl.search.pacing import Pacing, RunningTrial
from automl.search.plan import RefitPlan
from automl.search.progress import ProgressListener
from automl.search.refits import FitJobs
from automl.search.selection import drop_unusable_oof
from automl.search.space import SearchSpace
from automl.search.study import create_study, tell
from automl.search.trial import TrialResult
from automl.workers.pool import Worker, WorkerPool, fatal
from automl.workers.problem import SharedProblem
from automl.workers.protocol import Continue, Evaluate, Evaluated, Failed, FoldScored, Job, Loaded, Pruned, Reply

logger = logging.getLogger(__name__)


#: every this many trials, the out-of-fold predictions no ensemble can use are dropped
TRIM_OOF_EVERY = 25


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """How a search runs.

    Parameters
    ----------
    n_workers : int
        Trials run at once (one more worker is kept for refits).
    max_trials : int or None
        Stop after this many trials.
    seed : int or None
        Seed of the sampler.
    ensemble : bool
        The final model may be an ensemble: keep time for refitting its members.
    infer_limit : float or None
        Seconds per row the final model may take to predict one row (None: no limit).
    progress : ProgressListener or None
        Hears of every trial and of the final refit (a progress bar).
    study : optuna.Study or None
        A study kept in a storage (see :mod:`automl.search.storage`): the search
        continues it, its finished trials (and those other processes finish
        meanwhile) count as earlier results, and every trial's result is stored
        with it. None: a new study in memory.
    worker : bool
        Run as an ``automl worker`` joining ``study``: trials until the
        deadline its coordinator publishes, no refit of its own.
    """

    n_workers: int = 1
    max_trials: int | None = None
    seed: int | None = None
    ensemble: bool = True
    infer_limit: float | None = None
    progress: ProgressListener | None = None
    study: optuna.Study | None = None
    worker: bool = False


class Search:
    """Run trials until the budget, the trial limit or the space is exhausted.

    Parameters
    ----------
    space : SearchSpace
        The candidates and their spaces, fixed for the whole search.
    builder : PipelineBuilder
        Builds each trial's pipeline, and the pipelines refit on all rows.
    problem : Problem
        Data, folds and metric, sent once to every worker.
    budget : Budget
        The fit's clock.
    pool : WorkerPool
        Processes to run trials in.
    settings : SearchSettings
        Workers, trial limit, seed, ensemble.
    on_result : callable, optional
        ``on_result(result, results)`` with every finished :class:`TrialResult` and the trials so far.
    """

    def __init__(
        self,
        *,
        space: SearchSpace,
        builder: PipelineBuilder,
        problem: Problem,
        budget: Budget,
        pool: WorkerPool,
        settings: SearchSettings,
        on_result: Callable[[TrialResult, list[TrialResult]], None] | None = None,
    ) -> None:
        self.space = space
        self.builder = builder
        self.problem = problem
        self.budget = budget
        self.pool = pool
        self.settings = settings
        self.n_workers = max(1, int(settings.n_workers))
        self.on_result = on_result
        #: prune trials after a fold (with k folds only)
        self.prune = len(problem.splits) >= 3
        #: no time limit: batches told in trial order, so runs repeat exactly
        self.deterministic = not budget.limited
        self.results: list[TrialResult] = []
        self.pacing = Pacing(budget, len(problem.splits), self.results, covering_folds(problem.splits))
        plan_args = (budget, problem, self.results, self.n_workers, settings.ensemble)
        self.plan = DeadlinePlan(*plan_args, study=settings.study) if settings.worker else RefitPlan(*plan_args)
        self.shared = SharedProblem(pool, problem)
        self.interrupted = False
        #: sampled configurations not started because their model needs more time than is left
        self.skipped = 0
        self._batch: list[tuple[RunningTrial, str, Evaluation | None, str]] = []
        #: the link to a stored study, shared with other processes (None: a study in memory)
        self.link = None if settings.study is None else StudyLink(settings.study, space, not settings.worker)

    def run(self) -> list[TrialResult]:
        """Search until the time, the trial limit or the candidates run out.

        A KeyboardInterrupt stops the search: the trials that finished are kept
        and :attr:`interrupted` is set.

        Without a time limit the search is reproducible: trials run in batches of
        ``n_workers`` and are told to the sampler in trial order.
        """
        study = create_study(
            self.space, self.settings.seed, self.prune, self.settings.study, enqueue=not self.settings.worker
        )
        if self.link is not None:
            self.results.extend(self.link.start())
        self.pool.ensure(self.n_workers + 1)
        running: dict[Worker, RunningTrial] = {}
        try:
            self._loop(study, running)
        except KeyboardInterrupt:
            self.interrupted = True
            for w in list(running):
                self.pool.kill(w)
            self._flush(study)
            logger.warning("search interrupted after %d trials", len(self.results))
        if self.link is not None:
            self.link.finish()
            self._sync(running, None, force=True)
        return self.results

    def _sync(self, running: dict[Worker, RunningTrial], end: float | None, force: bool = False) -> None:
        """With a stored study: heartbeats, the deadline for workers, and the results they stored."""
        if self.link is None:
            return
        until = None if end is None else end - self.budget.now()
        known = {r.number for r in self.results} | {r.job for r in running.values()} | {b[0].job for b in self._batch}
        others = self.link.sync([r.trial for r in running.values() if r.trial is not None], known, until, force)
        for result in others:
            self._record(result)

    def _loop(self, study: optuna.Study, running: dict[Worker, RunningTrial]) -> None:
        asked = 0
        while True:
            self.plan.update()
            now = self.budget.now()
            end = self.plan.search_end()
            self._sync(running, end)
            self._stop_late(study, running, now, end)
            accepting = self._may_ask(asked) and end - now > rules.MIN_START_SECONDS
            if accepting:
                asked = self._launch_on_idle(study, running, asked, now, end)
            idle = [w for w in self.pool.workers if w.ready and not w.busy and w not in running]
            self.plan.maybe_prefit(now, end, idle, self.shared, partial(self.builder.build, final=True))
            if not running and not accepting:
                break
            wake = min(
                [r.kill_at for r in running.values()]
                + [now + rules.POLL_SECONDS, max(end, now + rules.MIN_WAIT_SECONDS)]
            )
            for w, reply in self.pool.poll(max(0.0, wake - self.budget.now())):
                self._handle(study, w, reply, running)
            if not running:
                self._flush(study)

    def _may_ask(self, asked: int) -> bool:
        return self.settings.max_trials is None or asked < self.settings.max_trials

    def _stop_late(self, study: optuna.Study, running: dict[Worker, RunningTrial], now: float, end: float) -> None:
        """Kill the trials past their kill time or the search's end."""
        for w, r in list(running.items()):
            if now >= min(r.kill_at, end):
                self.pool.kill(w)
                del running[w]
                limit = "the time left for the search" if now >= end else "the per-trial time limit"
                self._finish(study, r, "timeout", error=f"stopped after {now - r.started:.1f}s: {limit}")

    def _launch_on_idle(
        self, study: optuna.Study, running: dict[Worker, RunningTrial], asked: int, now: float, end: float
    ) -> int:
        """Start trials on idle workers (n_workers at most: the extra one stays free for refits); return ``asked``."""
        self.pool.ensure(self.n_workers + 1)
        for w in [w for w in self.pool.workers if w.ready and w not in running and not w.busy]:
            self.shared.load(w)
            if len(running) >= self.n_workers or (self.deterministic and running):
                continue
            if not self._may_ask(asked):
                break
            asked += 1
            self._launch(study, w, running, now, end)
        return asked

    def _launch(
        self, study: optuna.Study, w: Worker, running: dict[Worker, RunningTrial], now: float, end: float
    ) -> None:
        trial = study.ask()
        if self.link is not None:
            self.link.claim(trial)
        config = None
        try:
            config = self.space.sample(trial)
            same = sum(r.config.model == config.model for r in running.values())
            cap = self.pacing.cap(config.model, end - now, same)
            if cap is None:
                # this model has needed more time than is left: do not start what cannot finish
                tell(study, trial, "pruned")
                self.skipped += 1
                return
            blob = cloudpickle.dumps(self.builder.build(config, 1))
        except Exception as exc:
            error = f"building the pipeline failed: {type(exc).__name__}: {exc}"
            self._close(study, trial, TrialResult(number=trial.number, config=config, status="failed", error=error))
            return
        if not self.shared.load(w) or not self.pool.send(w, Evaluate(trial.number, blob, 1, self.prune)):
            self.pool.kill(w)
            error = "the worker process could not be reached"
            self._close(study, trial, TrialResult(number=trial.number, config=config, status="failed", error=error))
            return
        allowance = self.shared.allowance if self.shared.on(w) else 0.0
        w.job = Job("trial", trial.number)
        # the search's end is checked on every turn of the loop: it moves as the final refit's plan changes
        running[w] = RunningTrial(trial.number, trial, config, now, now + cap + allowance)

    def _handle(self, study: optuna.Study, w: Worker, reply: Reply | None, running: dict[Worker, RunningTrial]) -> None:
        if self.plan.answers(w, reply):
            self.plan.prefit_done(reply, self.pool)
            return
        r = running.get(w)
        if reply is None:  # the worker died
            reason = w.exit_reason()
            self.pool.kill(w)
            if r is not None:
                del running[w]
                self._finish(study, r, "failed", error=reason)
            return
        if isinstance(reply, Loaded) or r is None or reply.job != r.job:
            return
        if isinstance(reply, FoldScored):
            go = self._go_on(r, reply.score)
            self.pool.send(w, Continue(go, keep=r.keep))
            return
        del running[w]
        w.job = None
        if fatal(reply):
            self.pool.kill(w)
        if isinstance(reply, Evaluated):
            if r.keep:
                logger.info("trial %d kept with its first %d folds (%s)", r.job, len(r.folds), r.stopped)
            self._finish(study, r, "ok", ev=reply.evaluation)
        elif isinstance(reply, Pruned):
            # stopped by the search because it could not finish in time, or pruned for its score
            self._finish(study, r, "timeout" if r.stopped else "pruned", error=r.stopped or reply.reason)
        else:
            error = reply.error if isinstance(reply, Failed) else f"unexpected reply {type(reply).__name__}"
            self._finish(study, r, "failed", error=error)

    def _go_on(self, r: RunningTrial, score: float) -> bool:
        """After a fold: whether the trial goes on (not pruned, and able to finish in time)."""
        r.folds.append(score)
        if r.trial is not None:
            # the mean of the folds so far: less noisy than the latest fold alone
            r.trial.report(self.problem.metric.objective(float(np.mean(r.folds))), len(r.folds) - 1)
            if r.trial.should_prune():
                return False
        self.pacing.let_finish(r)
        return self.pacing.can_finish(r, self.plan.search_end())

    def _finish(
        self, study: optuna.Study, r: RunningTrial, status: str, ev: Evaluation | None = None, error: str = ""
    ) -> None:
        if self.deterministic:
            self._batch.append((r, status, ev, error))
        else:
            self._tell(study, r, status, ev, error)

    def _flush(self, study: optuna.Study) -> None:
        """Tell the buffered results of a batch, in trial order."""
        batch, self._batch = sorted(self._batch, key=lambda b: b[0].job), []
        for r, status, ev, error in batch:
            self._tell(study, r, status, ev, error)

    def _tell(
        self, study: optuna.Study, r: RunningTrial, status: str, ev: Evaluation | None = None, error: str = ""
    ) -> None:
        result = TrialResult(
            number=r.job,
            config=r.config,
            status=status,
            error=error,
            duration=self.budget.now() - r.started,
            needed=r.needed,
            fold_scores=list(r.folds),
        )
        if ev is not None:
            result.fold_scores = ev.fold_scores
            result.fit_seconds = float(sum(ev.fit_seconds))
            result.predict_seconds = float(sum(ev.predict_seconds))
            result.oof = ev.oof
            result.learned = median_params(ev.learned)
            result.row_seconds = ev.row_seconds
        if r.trial is None:
            self._record(result)
        else:
            self._close(study, r.trial, result)

    def _close(self, study: optuna.Study, trial: optuna.trial.Trial, result: TrialResult) -> None:
        """Store the result with its trial (a stored study), tell the study how it ended, record it."""
        if self.link is not None:
            self.link.save(trial, result)
        objective = self.problem.metric.objective(result.mean) if result.status == "ok" else None
        tell(study, trial, result.status, objective)
        self._record(result)

    def _record(self, result: TrialResult) -> None:
        self.results.append(result)
        if len(self.results) % TRIM_OOF_EVERY == 0:
            drop_unusable_oof(self.results, self.problem.metric, self.settings.infer_limit)
        if self.on_result is not None:
            self.on_result(result, self.results)

    # -- after the search ----------------------------------------------------
    def fits(self) -> FitJobs:
        """Stop the trials still running and return a queue of fits on all rows.

        A refit started during the search carries on inside the queue, unless
        the search was interrupted: a Ctrl-C may have come as its reply was
        being handled, and the queue would wait for it to the deadline.
        """
        if self.interrupted:
            self.plan.running = None
        keep = self.plan.running.worker if self.plan.running is not None else None
        for w in [w for w in self.pool.workers if w.busy and w is not keep]:
            self.pool.kill(w)
        jobs = FitJobs(
            self.pool,
            self.shared,
            self.budget,
            self.plan.prefit,
            self.n_workers,
            partial(self.builder.build, final=True),
        )
        if self.plan.running is not None:
            number = self.plan.running.number
            name = next((r.model for r in self.results if r.number == number), f"trial {number}")
            jobs.adopt(self.plan.running.worker, number, name)
            self.plan.running = None
        return jobs

    def cleanup(self) -> None:
        """Make workers drop the data and delete the problem file."""
        self.shared.forget()


__all__ = ["Search", "SearchSettings"]
