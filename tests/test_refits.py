"""Fits on all rows in the worker pool (``FitJobs``): a refit carried on from the search holds up no other."""

from __future__ import annotations

import time

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge

from automl.budget import Budget
from automl.evaluation.cross_validation import Problem
from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager
from automl.search.refits import FitJobs
from automl.search.trial import TrialConfig
from automl.workers.pool import WorkerPool
from automl.workers.problem import SharedProblem
from automl.workers.protocol import Fit, Job


class Sleeper(RegressorMixin, BaseEstimator):
    """A model whose fit takes ``seconds``: a long refit still running when the search ends."""

    def __init__(self, seconds: float = 60.0) -> None:
        self.seconds = seconds

    def fit(self, X, y):
        time.sleep(self.seconds)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def shared():
    rmse = resolve_metric("rmse", "regression", collect_components(get_plugin_manager(entry_points=False)).metrics)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    y = X["a"].to_numpy() * 2.0
    splits = [(np.arange(40, 80), np.arange(40)), (np.arange(40), np.arange(40, 80))]
    problem = Problem(X=X, y=y, y_codes=y, classes=None, splits=splits, metric=rmse, task="regression")
    pool = WorkerPool(memory_limit=0)
    try:
        yield SharedProblem(pool, problem)
    finally:
        pool.close()


def _ready(pool: WorkerPool, n: int) -> None:
    pool.ensure(n)
    deadline = time.monotonic() + 60
    while not all(w.ready for w in pool.workers) and time.monotonic() < deadline:
        pool.poll(0.2)
    assert all(w.ready for w in pool.workers)


def test_a_queued_fit_runs_beside_a_long_refit_carried_on_from_the_search(shared):
    pool = shared.pool
    _ready(pool, 2)
    spare, searcher = pool.workers
    # the search ends: its worker is killed, the spare worker's refit carries on
    assert shared.load(spare) and pool.send(spare, Fit(7, cloudpickle.dumps(Sleeper(60.0)), 1))
    spare.job = Job("refit", 7)
    pool.kill(searcher)
    budget = Budget(30.0)
    jobs = FitJobs(pool, shared, budget, {}, n_workers=1, build=lambda config, threads: Ridge())
    jobs.adopt(spare, 7, "sleeper")
    try:
        jobs.submit(1, TrialConfig(model="ridge", model_params={}, preprocessing={}), 1)
        jobs.wait([1])
        assert 1 in jobs.done, jobs.failed  # a new worker started, said it was ready, and fitted it
        assert budget.remaining() > 10.0  # not once the long refit or the budget ended
        assert jobs.running == {spare: 7}
        fitted = jobs.done[1][0].load()
        np.testing.assert_allclose(fitted.predict(shared.problem.X), shared.problem.y, atol=0.2)
    finally:
        jobs.stop(quiet=True)


class _Clock:
    """A budget whose time moves only when the fits or the reads make it."""

    def __init__(self, deadline: float) -> None:
        self.t, self.deadline = 0.0, deadline

    def now(self) -> float:
        return self.t

    def remaining(self) -> float:
        return self.deadline - self.t


class _ScriptedJobs(FitJobs):
    """Fits that end at given times of the clock (no workers)."""

    def __init__(self, clock: _Clock, ends: dict[int, float]) -> None:
        super().__init__(None, None, clock, {}, 2, None)  # type: ignore[arg-type]
        self.clock, self.ends = clock, ends
        self.pending = [(k, None, 1) for k in ends]  # type: ignore[misc]
        self.stopped = False

    def pump(self, timeout: float) -> None:
        self.clock.t += timeout
        for key, end in self.ends.items():
            if self.clock.t >= end and not self.finished(key):
                self.done[key] = (None, 1.0)  # type: ignore[assignment]
                self.pending = [p for p in self.pending if p[0] != key]

    def stop(self, quiet: bool = False) -> None:
        self.stopped = True
        super().stop(quiet)


@pytest.mark.parametrize(("last_end", "all_read"), [(8.0, True), (9.5, False)])
def test_members_are_read_as_their_refits_end_and_the_last_read_fits_in_the_budget(last_end, all_read):
    # reading a member takes 1 s: each is read when its refit ends, while the others run, and the wait
    # ends early enough for the reads still to come, so the fit never reads past its deadline
    clock = _Clock(deadline=10.0)
    jobs = _ScriptedJobs(clock, {1: 2.0, 2: 5.0, 3: last_end})
    read_at = {}

    def read(key: int) -> None:
        clock.t += 1.0
        read_at[key] = clock.t

    jobs.wait([1, 2, 3], read)

    assert read_at[1] <= 2.0 + 0.25 + 1.0 and read_at[2] <= 5.0 + 0.25 + 1.0  # at once, not after the wait
    assert clock.t <= clock.deadline
    if all_read:
        assert sorted(read_at) == [1, 2, 3] and not jobs.stopped
    else:  # the last refit would end with less than a read's time left: given up before the deadline
        assert sorted(read_at) == [1, 2] and jobs.stopped and jobs.failed[3] == "not started in time"
        assert clock.t <= clock.deadline - 1.0 + 0.25
