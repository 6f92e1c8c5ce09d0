"""The search: an Optuna study whose trials run in worker processes under one deadline.

The engine asks Optuna for a configuration, builds its pipeline, and hands it to
an idle worker; results come back as they finish and are told to the study.
The engine, not Optuna, owns the clock: every running trial has a kill time,
and no trial may eat the time reserved for the final refit.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import optuna

from automl.budget import Budget
from automl.evaluation.cross_validation import Evaluation, Problem
from automl.search.portfolio import load_portfolio
from automl.search.refits import FitJobs
from automl.search.selection import ensemble_result
from automl.search.space import SearchSpace
from automl.search.trial import TrialConfig, TrialResult
from automl.workers.pool import Worker, WorkerPool, fatal
from automl.workers.zygote import import_path

logger = logging.getLogger(__name__)

_PROBLEM_IDS = itertools.count(1)

#: until a refit has been timed during the search, it is estimated as this many
#: times one fold's fit and predict, scaled to all rows
REFIT_SAFETY = 1.5
#: the best pipeline's final refit gets every core; count on this much speed-up from them
THREAD_SPEEDUP = 1.3
#: seconds always kept for building, pickling and returning the final pipeline
REFIT_OVERHEAD = 0.3
#: share of the budget the search may give up for refitting an ensemble's members
ENSEMBLE_RESERVE_SHARE = 0.1
#: the final refit of an ensemble starts only if its estimate is below this share of the time left
REFIT_MARGIN = 0.9
#: pruning starts once this many trials have finished
PRUNE_AFTER_TRIALS = 10
#: a trial may run past its per-trial limit when its remaining folds need at most
#: this share of the budget (at the pace of its folds so far, times FINISH_SLACK)
FINISH_SHARE = 0.1
FINISH_SLACK = 1.2
#: a trial stops after a fold when its remaining folds, at this share of its pace
#: so far (an optimistic guess), would still end after its limit or the search's end
CANNOT_FINISH_PACE = 0.9


@dataclass
class _Running:
    job: int
    trial: optuna.trial.Trial | None
    config: TrialConfig
    started: float
    kill_at: float
    folds: list[float] = field(default_factory=list)
    #: why the search stopped the trial after a fold (it could not finish in time), and what it would need
    stopped: str = ""
    needed: float | None = None


class Search:
    """Run trials until the budget, the trial limit or the space is exhausted.

    Parameters
    ----------
    space : SearchSpace
        The candidates and their spaces, fixed for the whole search.
    build : callable
        ``build(config, n_threads) -> Pipeline`` (unfitted).
    problem : Problem
        Data, folds and metric, sent once to every worker.
    budget : Budget
        The fit's clock.
    pool : WorkerPool
        Processes to run trials in.
    n_workers : int
        Trials run at once.
    max_trials : int or None
        Stop after this many trials.
    seed : int or None
        Seed of the sampler.
    on_result : callable
        Called with every finished :class:`TrialResult`.
    trial_time_share : float
        Largest share of the budget one trial may use.
    prune : bool
        Stop a trial after a fold when it is clearly behind (k-fold evaluation only).
    build_full : callable, optional
        ``build(config, n_threads)`` for all rows. When given, the best pipeline
        so far is refitted on the free worker near the end of the search, so a
        fitted model exists even if the final refit cannot finish.
    ensemble : bool
        The final model may be an ensemble: keep time for refitting its members.
    """

    def __init__(
        self,
        space: SearchSpace,
        build: Callable[[TrialConfig, int], Any],
        problem: Problem,
        budget: Budget,
        pool: WorkerPool,
        n_workers: int,
        max_trials: int | None,
        seed: int | None,
        on_result: Callable[[TrialResult], None],
        trial_time_share: float = 0.5,
        prune: bool = True,
        build_full: Callable[[TrialConfig, int], Any] | None = None,
        ensemble: bool = True,
    ) -> None:
        self.space = space
        self.build = build
        self.problem = problem
        self.budget = budget
        self.pool = pool
        self.n_workers = max(1, int(n_workers))
        self.max_trials = max_trials
        self.seed = seed
        self.on_result = on_result
        self.trial_time_share = trial_time_share
        self.prune = prune and len(problem.splits) >= 3
        self.build_full = build_full
        self.use_ensemble = ensemble
        #: the trials the final model is expected to need, best first (see _update_plan)
        self.plan: list[TrialResult] = []
        self._plan_at = -math.inf
        self._plan_ok = 0
        #: trial number -> pipeline fitted on all rows during the search
        self.prefit: dict[int, Any] = {}
        self._prefit: tuple[Worker, int, float] | None = None
        #: actual / nominal seconds of the refits done during the search, to calibrate estimates
        self._refit_ratios: list[float] = []
        self._prefit_failed: set[int] = set()
        #: no time limit: batches told in trial order, so runs repeat exactly
        self.deterministic = not math.isfinite(budget.seconds)
        self._batch: list[tuple[_Running, str, Evaluation | None, str]] = []
        self.interrupted = False
        #: sampled configurations not started because their model needs more time than is left
        self.skipped = 0
        self.results: list[TrialResult] = []
        self.problem_id = next(_PROBLEM_IDS)
        self._problem_path: Path | None = None
        self._load_allowance = 0.5
        self.n_rows = len(problem.X)
        train_sizes = [len(tr) for tr, _ in problem.splits]
        self._fold_share = float(np.mean(train_sizes)) / max(1, self.n_rows)

    # -- problem file --------------------------------------------------------
    def _write_problem(self) -> Path:
        if self._problem_path is None:
            path = self.pool._tmp / f"problem-{self.problem_id}.pkl"
            t0 = time.perf_counter()
            with open(path, "wb") as fh:
                cloudpickle.dump(self.problem, fh, protocol=5)
            size = path.stat().st_size
            self._load_allowance = 0.5 + 3 * (time.perf_counter() - t0) + size / 50e6
            self._problem_path = path
        return self._problem_path

    def _load(self, worker: Worker) -> bool:
        if worker.problem == self.problem_id:
            return True
        # the parent's sys.path now: a plugin's directory may have joined it after the worker started
        paths = import_path()
        if self.pool.send(worker, ("problem", self.problem_id, str(self._write_problem()), paths)):
            worker.problem = self.problem_id
            return True
        return False

    def cleanup(self) -> None:
        """Make workers drop the data and delete the problem file."""
        for w in self.pool.workers:
            if w.problem == self.problem_id and not w.busy:
                self.pool.send(w, ("forget", 0))
                w.problem = None
        if self._problem_path is not None:
            self._problem_path.unlink(missing_ok=True)

    # -- timing --------------------------------------------------------------
    def best(self) -> TrialResult | None:
        """The best successful trial so far."""
        ok = [r for r in self.results if r.status == "ok"]
        if not ok:
            return None
        metric = self.problem.metric
        return max(ok, key=lambda r: metric.objective(r.mean))

    def _nominal_refit(self, result: TrialResult) -> float:
        """One fold's fit time, scaled to all rows (a refit predicts nothing)."""
        per_fold = result.fit_seconds / max(1, len(result.fold_scores))
        return per_fold / max(self._fold_share, 0.05)

    def refit_estimate(self, result: TrialResult | None, threads: int = 1) -> float:
        """Seconds the final refit of ``result`` is expected to take.

        The nominal time (one fold's fit, scaled to all rows) times a safety factor:
        :data:`REFIT_SAFETY` until a refit has run during the search, then the
        larger of 1.15 times the median and 0.9 times the largest actual / nominal
        ratio seen (at least 1); divided by
        :data:`THREAD_SPEEDUP` for a refit on several ``threads``.
        """
        if result is None or not result.fold_scores:
            return REFIT_OVERHEAD + 0.1 * min(self.budget.seconds, 60.0)
        factor = REFIT_SAFETY
        if self._refit_ratios:
            # refits beside a running trial vary (0.5-1.5x nominal): not the worst one alone
            ratios = self._refit_ratios
            factor = min(3.0, max(1.0, 1.15 * float(np.median(ratios)), 0.9 * max(ratios)))
        speedup = THREAD_SPEEDUP if threads > 1 else 1.0
        return REFIT_OVERHEAD + factor * self._nominal_refit(result) / speedup

    def _update_plan(self) -> None:
        """Guess which pipelines the final model will need: the best one and a likely ensemble's members.

        Recomputed at most every few seconds (greedy selection is cheap but not free),
        and only with a time limit: the plan sizes the time kept for the final refit
        and chooses what to refit on the spare worker near the end.
        """
        now = self.budget.now()
        n_ok = sum(r.status == "ok" for r in self.results)
        if not math.isfinite(self.budget.seconds) or n_ok == self._plan_ok:
            return
        if self.plan and now - self._plan_at < max(1.0, 0.05 * self.budget.seconds):
            return
        self._plan_at, self._plan_ok = now, n_ok
        metric = self.problem.metric
        ranked = sorted((r for r in self.results if r.status == "ok"), key=lambda r: -metric.objective(r.mean))
        plan = ranked[:1]
        if self.use_ensemble:
            ens = ensemble_result(ranked, self.problem, stop_at=now + 0.25, clock=self.budget.now)
            if ens is not None:
                plan += [m for m in ens.member_results if m is not ranked[0]]  # type: ignore[attr-defined]
        self.plan = plan
        logger.debug(
            "plan: trials %s, refit reserve %.1fs", [r.number for r in plan], self.budget.deadline - self.search_end()
        )

    def _refit_left(self, result: TrialResult) -> float:
        """Seconds the refit of ``result`` still needs: less if it runs on the spare worker now."""
        estimate = self.refit_estimate(result)
        if self._prefit is not None and self._prefit[1] == result.number:
            return max(REFIT_OVERHEAD, estimate - (self.budget.now() - self._prefit[2]))
        return estimate

    def search_end(self) -> float:
        """Clock time when trials must stop, leaving time to choose and refit the final model.

        The reserve covers the refit of the best pipeline, or of the planned
        ensemble's members fitted in parallel, whichever is longer (pipelines
        already refitted on the spare worker cost nothing), plus a small share of
        the budget for choosing the ensemble.
        """
        if self.best() is None:
            return self.budget.deadline - self.refit_estimate(None)
        plan = self.plan or [self.best()]
        todo = [r for r in plan if r.number not in self.prefit]
        single = 0.0 if plan[0].number in self.prefit else self.refit_estimate(plan[0], threads=self.n_workers)
        members = parallel_seconds([self._refit_left(r) for r in todo], self.n_workers)
        # the final refit keeps members only with a margin (see finalize): reserve it
        members /= REFIT_MARGIN
        # an ensemble too slow to refit is cut down to what can be refit (see finalize):
        # it may not stop the search much earlier than the best pipeline alone would
        members = min(members, single + ENSEMBLE_RESERVE_SHARE * self.budget.seconds)
        choose = min(0.02 * self.budget.seconds, 2.0) if math.isfinite(self.budget.seconds) else 0.0
        return self.budget.deadline - max(single, members, REFIT_OVERHEAD) - choose

    # -- the loop ------------------------------------------------------------
    def _study(self) -> optuna.Study:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.TPESampler(
                seed=self.seed,
                multivariate=True,
                group=True,
                constant_liar=True,
                n_startup_trials=8,
            )
        # a configuration whose first folds are in the worse half of the earlier
        # trials' at the same fold stops there (only with several folds)
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=0, n_min_trials=5)
            if self.prune
            else optuna.pruners.NopPruner()
        )
        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
        for params in self.space.starting_points(load_portfolio()):
            study.enqueue_trial(params, skip_if_exists=False)
        return study

    def run(self) -> list[TrialResult]:
        """Search until the time, the trial limit or the candidates run out.

        A KeyboardInterrupt stops the search: the trials that finished are kept
        and :attr:`interrupted` is set.

        Without a time limit the search is reproducible: trials run in batches of
        ``n_workers`` and are told to the sampler in trial order.
        """
        study = self._study()
        self.pool.ensure(self.n_workers + 1)
        running: dict[Worker, _Running] = {}
        try:
            self._loop(study, running)
        except KeyboardInterrupt:
            self.interrupted = True
            for w in list(running):
                self.pool.kill(w)
            self._flush(study)
            logger.warning("search interrupted after %d trials", len(self.results))
        return self.results

    def _loop(self, study: optuna.Study, running: dict[Worker, _Running]) -> None:
        asked = 0
        while True:
            self._update_plan()
            now = self.budget.now()
            end = self.search_end()
            for w, r in list(running.items()):
                if now >= min(r.kill_at, end):
                    self.pool.kill(w)
                    del running[w]
                    limit = "the time left for the search" if now >= end else "the per-trial time limit"
                    self._finish(study, r, "timeout", error=f"stopped after {now - r.started:.1f}s: {limit}")
            more = self.max_trials is None or asked < self.max_trials
            accepting = more and end - now > 0.05
            if accepting:
                # n_workers trials at most: the extra worker stays free for the final refit
                self.pool.ensure(self.n_workers + 1)
                for w in [w for w in self.pool.workers if w.ready and w not in running and not w.busy]:
                    self._load(w)
                    if len(running) >= self.n_workers or (self.deterministic and running):
                        continue
                    if not (self.max_trials is None or asked < self.max_trials):
                        break
                    asked += 1
                    self._launch(study, w, running, now, end)
            self._maybe_prefit(now, end, running)
            if not running and not accepting:
                break
            wake = min([r.kill_at for r in running.values()] + [now + 0.25, max(end, now + 0.01)])
            for w, msg in self.pool.poll(max(0.0, wake - self.budget.now())):
                self._handle(study, w, msg, running)
            if not running:
                self._flush(study)

    def _launch(self, study: optuna.Study, w: Worker, running: dict[Worker, _Running], now: float, end: float) -> None:
        trial = study.ask()
        config: TrialConfig | None = None
        try:
            config = self.space.sample(trial)
            cap = self._trial_cap(
                config.model, end - now, sum(r.config.model == config.model for r in running.values())
            )
            if cap is None:
                # this model has needed more time than is left: do not start what cannot finish
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                self.skipped += 1
                return
            pipeline = self.build(config, 1)
            blob = cloudpickle.dumps(pipeline)
        except Exception as exc:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._record(
                TrialResult(
                    number=trial.number,
                    config=config,
                    status="failed",
                    error=f"building the pipeline failed: {type(exc).__name__}: {exc}",
                )
            )
            return
        if not self._load(w) or not self.pool.send(w, ("eval", trial.number, blob, 1, self.prune)):
            self.pool.kill(w)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            self._record(
                TrialResult(
                    number=trial.number, config=config, status="failed", error="the worker process could not be reached"
                )
            )
            return
        allowance = self._load_allowance if w.problem == self.problem_id else 0.0
        w.job = trial.number
        # the search's end is checked on every turn of the loop: it moves as the final refit's plan changes
        running[w] = _Running(trial.number, trial, config, now, now + cap + allowance)

    def _trial_share(self) -> float:
        """Seconds one trial may run at most: ``trial_time_share`` of the budget (2 s at least)."""
        return max(2.0, self.trial_time_share * self.budget.seconds)

    def _trial_cap(self, model: str, left: float, running: int = 0) -> float | None:
        """Seconds a new trial of ``model`` may run, or None if it should not start.

        Until a trial has succeeded, a trial may use all the search time left.
        Then a model that has succeeded may use ``trial_time_share`` of the
        budget. A model without a success gets a few times what the trials so
        far needed (so one slow model cannot eat the search), one trial at a
        time (``running`` counts its trials in progress); once it has timed out,
        it gets twice its longest attempt (or twice what an attempt stopped after
        a fold was projected to need), and only while that is a small share of
        the time left.
        """
        if self.best() is None:
            return math.inf
        share = self._trial_share()
        mine = [r for r in self.results if r.model == model]
        ok = [r.duration for r in mine if r.status == "ok"]
        stopped = [r.needed or r.duration for r in mine if r.status == "timeout"]
        if ok:
            if float(np.median(ok)) > left:
                return None
            return share
        if running:
            return None
        if stopped:
            cap = 2.0 * max(stopped)
            if cap > 0.25 * left:
                return None
        else:
            typical = float(np.median([r.duration for r in self.results if r.status == "ok"]))
            cap = max(2.0, 0.1 * self.budget.seconds, 5.0 * typical)
        return min(cap, share)

    def _maybe_prefit(self, now: float, end: float, running: dict[Worker, _Running]) -> None:
        """Refit the planned final pipelines on the spare worker, one by one, once the search nears its end."""
        if self.build_full is None or self._prefit is not None:
            return
        todo = [
            r
            for r in (self.plan or [self.best()])
            if r is not None
            and r.config is not None
            and r.number not in self.prefit
            and r.number not in self._prefit_failed
        ]
        if not todo:
            return
        est = sum(self.refit_estimate(r) for r in todo)
        if end - now > max(4 * est, 0.25 * (end - self.budget.start)):
            return
        idle = [w for w in self.pool.workers if w.ready and not w.busy and w not in running]
        if not idle:
            return
        w, target = idle[0], todo[0]
        try:
            blob = cloudpickle.dumps(self.build_full(target.final_config, 1))
        except Exception:
            self._prefit_failed.add(target.number)
            return
        if self._load(w) and self.pool.send(w, ("fit", 0, blob, 1)):
            w.job = ("prefit", target.number)
            self._prefit = (w, target.number, self.budget.now())

    def _handle_prefit(self, msg: tuple | None) -> None:
        assert self._prefit is not None
        w, number, started = self._prefit
        self._prefit = None
        if msg is not None and msg[0] == "fitted":
            w.job = None
            self.prefit[number] = cloudpickle.loads(msg[2])
            result = next((r for r in self.results if r.number == number), None)
            if result is not None and result.fold_scores:
                nominal = max(self._nominal_refit(result), 0.05)
                took = self.budget.now() - started
                self._refit_ratios.append(max(0.0, took - REFIT_OVERHEAD) / nominal)
                logger.debug("refit of trial %d during the search: %.1fs, nominal %.1fs", number, took, nominal)
            return
        self._prefit_failed.add(number)
        if msg is None or fatal(msg):
            self.pool.kill(w)
        else:
            w.job = None

    def _handle(self, study: optuna.Study, w: Worker, msg: tuple | None, running: dict[Worker, _Running]) -> None:
        if self._prefit is not None and w is self._prefit[0] and (msg is None or msg[0] in ("fitted", "error")):
            self._handle_prefit(msg)
            return
        r = running.get(w)
        if msg is None:
            reason = w.exit_reason()
            self.pool.kill(w)
            if r is not None:
                del running[w]
                self._finish(study, r, "failed", error=reason)
            return
        kind = msg[0]
        if kind == "loaded" or r is None or msg[1] != r.job:
            return
        if kind == "fold":
            r.folds.append(msg[3])
            go = True
            if r.trial is not None:
                # the mean of the folds so far: less noisy than the latest fold alone
                r.trial.report(self.problem.metric.objective(float(np.mean(r.folds))), len(r.folds) - 1)
                go = not r.trial.should_prune()
            if go:
                self._let_finish(r)
                go = self._can_finish(r)
            self.pool.send(w, ("continue",) if go else ("stop",))
            return
        del running[w]
        w.job = None
        if fatal(msg):
            self.pool.kill(w)
        if kind == "done":
            ev: Evaluation = msg[2]
            self._finish(study, r, "ok", ev=ev)
        elif kind == "pruned" and r.stopped:
            self._finish(study, r, "timeout", error=r.stopped)
        elif kind == "pruned":
            self._finish(study, r, "pruned", error=msg[2])
        else:
            self._finish(study, r, "failed", error=msg[2])

    def _let_finish(self, r: _Running) -> None:
        """Move a trial's per-trial limit back when the folds it has left need little time.

        Stopping a trial after most of its folds throws away all that work: a
        model's first trial gets only a few times what other trials took, and a
        forest on a mid-size table can need a little more. The trial's pace so far
        gives the time its remaining folds need; when that is at most
        :data:`FINISH_SHARE` of the budget and the whole trial stays within
        ``trial_time_share`` of it, the trial may finish (the search's end still
        stops it).
        """
        if not math.isfinite(r.kill_at):
            return
        now, pace, left = self._pace(r)
        finish = now + FINISH_SLACK * pace * left
        if finish <= r.kill_at:
            return
        if finish - now <= FINISH_SHARE * self.budget.seconds and finish - r.started <= self._trial_share():
            logger.debug("trial %d may run until %.1fs to finish its folds", r.job, finish)
            r.kill_at = finish

    def _can_finish(self, r: _Running) -> bool:
        """False (and the trial marked as stopped) when its remaining folds cannot end in time.

        Even at a pace somewhat faster than its folds so far, the trial would
        pass its per-trial limit or the end of the search, where it would be
        killed with nothing to show: stopping it now frees the worker for a
        trial that can finish (or for refitting the final pipelines).
        """
        now, pace, left = self._pace(r)
        finish = now + CANNOT_FINISH_PACE * pace * left
        limit = min(r.kill_at, self.search_end())
        if finish <= limit:
            return True
        done = len(r.folds)
        r.needed = pace * (done + left)
        what = "its per-trial time limit" if r.kill_at <= limit else "the end of the search"
        r.stopped = (
            f"stopped after {now - r.started:.1f}s and {done} of {done + left} folds: "
            f"the rest would need about {pace * left:.1f}s, past {what}"
        )
        return False

    def _pace(self, r: _Running) -> tuple[float, float, int]:
        """The time now, the running trial's seconds per fold so far, and how many folds it has left."""
        now = self.budget.now()
        return now, (now - r.started) / len(r.folds), len(self.problem.splits) - len(r.folds)

    def _finish(
        self, study: optuna.Study, r: _Running, status: str, ev: Evaluation | None = None, error: str = ""
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
        self, study: optuna.Study, r: _Running, status: str, ev: Evaluation | None = None, error: str = ""
    ) -> None:
        result = TrialResult(
            number=r.job,
            config=r.config,
            status=status,
            error=error,
            duration=self.budget.now() - r.started,
            needed=r.needed,
        )
        if ev is not None:
            result.fold_scores = ev.fold_scores
            result.fit_seconds = float(sum(ev.fit_seconds))
            result.predict_seconds = float(sum(ev.predict_seconds))
            result.oof = ev.oof
            result.learned = _median_params(ev.learned)
        else:
            result.fold_scores = list(r.folds)
        if r.trial is not None:
            if status == "ok":
                study.tell(r.trial, self.problem.metric.objective(result.mean))
            elif status == "pruned":
                study.tell(r.trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(r.trial, state=optuna.trial.TrialState.FAIL)
        self._record(result)

    def _record(self, result: TrialResult) -> None:
        self.results.append(result)
        self.on_result(result)

    # -- refit ---------------------------------------------------------------
    def fits(self, build: Callable[[TrialConfig, int], Any]) -> FitJobs:
        """Stop the trials still running and return a queue of fits on all rows.

        A refit started during the search carries on inside the queue.
        """
        keep = self._prefit[0] if self._prefit is not None else None
        for w in [w for w in self.pool.workers if w.busy and w is not keep]:
            self.pool.kill(w)
        jobs = FitJobs(self, build)
        if self._prefit is not None:
            w, number, _ = self._prefit
            self._prefit = None
            w.job = number
            jobs.running[w] = number
            jobs.names[number] = "the best pipeline"
        return jobs


def parallel_seconds(costs: Sequence[float], n_workers: int) -> float:
    """Seconds for refits of these single-thread costs spread over ``n_workers``."""
    return sum(costs) / max(1, min(len(costs), n_workers))


def _median_params(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """One value per learned parameter: the median of numbers (an int stays an int), else the most common."""
    out: dict[str, Any] = {}
    for name in dict.fromkeys(k for d in per_fold for k in d):
        values = [d[name] for d in per_fold if name in d]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            mid = float(np.median(values))
            out[name] = int(round(mid)) if all(isinstance(v, int) for v in values) else mid
        else:
            out[name] = max(values, key=values.count)
    return out


__all__ = ["Search", "parallel_seconds"]
