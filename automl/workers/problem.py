"""One problem (data, folds, metric) shared with the workers: written to a file once, mapped by each worker.

The arrays of the problem (the table's numeric columns, the target, the folds)
are written out of band and memory-mapped by the workers (:mod:`automl.workers.mapped`),
so that they share one copy in the page cache.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from automl.budget import LOAD_SECONDS, load_allowance
from automl.workers import mapped
from automl.workers.pool import Worker, WorkerPool
from automl.workers.protocol import Forget, Load
from automl.workers.zygote import import_path

_IDS = itertools.count(1)


class SharedProblem:
    """The problem of one search, as the workers of ``pool`` see it.

    Parameters
    ----------
    pool : WorkerPool
        The workers that evaluate and fit pipelines on the problem.
    problem : object
        What the workers need, pickled with cloudpickle
        (an :class:`automl.evaluation.cross_validation.Problem`).
    """

    def __init__(self, pool: WorkerPool, problem: Any) -> None:
        self.pool = pool
        self.problem = problem
        self.id = next(_IDS)
        self.path: Path | None = None
        #: extra seconds a worker's first trial gets, for loading the problem
        self.allowance = LOAD_SECONDS

    def _write(self) -> Path:
        if self.path is None:
            path = self.pool.folder() / f"problem-{self.id}.pkl"
            t0 = time.perf_counter()
            size = mapped.dump(self.problem, path)
            self.allowance = load_allowance(time.perf_counter() - t0, size)
            self.path = path
        return self.path

    def on(self, worker: Worker) -> bool:
        """True when ``worker`` holds this problem (or has been asked to load it)."""
        return worker.problem == self.id

    def load(self, worker: Worker) -> bool:
        """Ask ``worker`` to load the problem unless it holds it; False if the worker is gone."""
        if self.on(worker):
            return True
        # the parent's sys.path now: a plugin's directory may have joined it after the worker started
        if self.pool.send(worker, Load(self.id, str(self._write()), import_path())):
            worker.problem = self.id
            return True
        return False

    def forget(self) -> None:
        """Make idle workers drop the problem, and delete its file."""
        for w in self.pool.workers:
            if self.on(w) and not w.busy:
                self.pool.send(w, Forget())
                w.problem = None
        if self.path is not None:
            mapped.remove(self.path)


__all__ = ["SharedProblem"]
