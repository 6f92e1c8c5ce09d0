"""Fits of whole pipelines on all rows, in the worker pool: the final refit and its ensemble's members."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import cloudpickle

from automl import budget as rules
from automl.budget import Budget
from automl.pipeline.build import TrialConfig
from automl.workers.pool import Worker, WorkerPool, fatal
from automl.workers.problem import SharedProblem
from automl.workers.protocol import Failed, Fit, Fitted, FittedFile, Job

logger = logging.getLogger(__name__)


class FitJobs:
    """Fits of whole pipelines on all rows, run in the pool while the parent does other work.

    Every fit is killed at the budget's deadline. Fits are keyed by trial number.

    Parameters
    ----------
    pool : WorkerPool
        The workers.
    shared : SharedProblem
        The data the workers fit on.
    budget : Budget
        The fit's clock.
    prefit : dict
        Trial number -> pipeline already fitted on all rows during the search (reused, not fitted again), in its file.
    n_workers : int
        Workers of the search (the pool keeps one more).
    build : callable
        ``build(config, n_threads)``: the unfitted pipeline for all rows.
    """

    def __init__(
        self,
        pool: WorkerPool,
        shared: SharedProblem,
        budget: Budget,
        prefit: dict[int, FittedFile],
        n_workers: int,
        build: Callable[[TrialConfig, int], Any],
    ) -> None:
        self.pool = pool
        self.shared = shared
        self.budget = budget
        self.prefit = prefit
        self.n_workers = n_workers
        self.build = build
        self.pending: list[tuple[int, TrialConfig, int]] = []
        self.running: dict[Worker, int] = {}
        #: trial number -> (the fitted pipeline's file, seconds); read with ``.load()`` when used
        self.done: dict[int, tuple[FittedFile, float]] = {}
        #: single-row latency of each refit pipeline, when the problem asks workers to measure it
        self.row_seconds: dict[int, float] = {}
        self.failed: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self._reported: set[int] = set()

    def adopt(self, worker: Worker, key: int, name: str) -> None:
        """Take over a fit already running on ``worker`` (a refit started during the search)."""
        worker.job = Job("refit", key)
        self.running[worker] = key
        self.names[key] = name

    def submit(self, key: int, config: TrialConfig, n_threads: int) -> None:
        """Queue a fit of ``config`` under ``key``, a trial number.

        A pipeline already fitted during the search, or being fitted, is reused.
        """
        self.names[key] = config.model
        if key in self.prefit:
            self.done[key] = (self.prefit[key], 0.0)
            return
        if key in self.running.values():
            return
        self.pending.append((key, config, n_threads))
        self.pump(0.0)

    def finished(self, key: int) -> bool:
        """True once ``key`` has succeeded or failed."""
        return key in self.done or key in self.failed

    def pump(self, timeout: float) -> None:
        """Start queued fits on free workers and collect finished ones."""
        if self.budget.remaining() <= 0:
            self.stop()
            return
        if self.pending or self.running:
            self.pool.ensure(max(self.n_workers + 1, 1))
        self._start()
        if not self.running:
            if self.pending and timeout > 0:
                self.pool.poll(min(timeout, rules.START_POLL_SECONDS))
            return
        self._collect(max(0.0, min(timeout, self.budget.remaining())))
        for key, why in self.failed.items():
            if key not in self._reported:
                self._reported.add(key)
                logger.warning("refit of %s failed: %s", self.names.get(key, key), why)

    def _start(self) -> None:
        """Send queued fits to the idle workers."""
        for w in [w for w in self.pool.workers if w.ready and not w.busy]:
            if not self.pending:
                break
            key, config, threads = self.pending.pop(0)
            try:
                blob = cloudpickle.dumps(self.build(config, threads))
            except Exception as exc:
                self.failed[key] = f"could not be built: {type(exc).__name__}: {exc}"
                continue
            if not self.shared.load(w) or not self.pool.send(w, Fit(key, blob, threads)):
                self.pool.kill(w)
                self.pending.insert(0, (key, config, threads))
                continue
            w.job = Job("refit", key)
            self.running[w] = key

    def _collect(self, timeout: float) -> None:
        """Read the running fits' replies for up to ``timeout`` seconds (the pool reads starting workers' Ready)."""
        for w, reply in self.pool.poll(timeout, workers=list(self.running)):
            key = self.running.pop(w, None)
            if key is None:
                if reply is None:  # died while starting: replaced by the next pump
                    self.pool.kill(w)
                continue
            if reply is None:
                self.failed[key] = w.exit_reason()
                self.pool.kill(w)
            elif isinstance(reply, Fitted):
                w.job = None
                self.done[key] = (FittedFile(reply), float(reply.seconds))
                if reply.row_seconds is not None:
                    self.row_seconds[key] = float(reply.row_seconds)
                logger.debug("refit of %s (%s): %.1fs", key, self.names.get(key, key), float(reply.seconds))
            elif isinstance(reply, Failed):
                w.job = None
                self.failed[key] = reply.error
                if fatal(reply):
                    self.pool.kill(w)
            else:
                self.running[w] = key

    def wait(self, keys: list[int], read: Callable[[int], None] | None = None) -> None:
        """Pump until every key in ``keys`` has finished or the deadline passes.

        ``read(key)`` is called for each key that succeeded, as soon as it has,
        while the others still run: reading a big pipeline from its file takes
        tenths of a second (hotel_rates' LightGBM members, 0.23 s), and read
        after a wait that lasted to the deadline it took the fit past its
        budget. The wait then also ends early by the time the reads so far
        suggest the unfinished keys' reads will take.
        """
        queued = set(self.running.values()) | {k for k, _, _ in self.pending}
        missing = [k for k in keys if not self.finished(k) and k not in queued]
        if missing:
            raise ValueError(f"waiting for fits that were never submitted: {missing}")
        seen: set[int] = set()
        reads: list[float] = []
        while True:
            for key in [k for k in keys if k in self.done and k not in seen] if read is not None else []:
                seen.add(key)
                start = self.budget.now()
                read(key)
                reads.append(self.budget.now() - start)
            todo = sum(not self.finished(k) for k in keys)
            if not todo:
                return
            left = self.budget.remaining() - (todo * sum(reads) / len(reads) if reads else 0.0)
            if left <= 0:
                break
            self.pump(min(rules.POLL_SECONDS, left))
        self.stop()

    def stop(self, quiet: bool = False) -> None:
        """Kill the fits still running and drop the queue (``quiet``: without a warning per fit)."""
        for w, key in list(self.running.items()):
            if not quiet:
                logger.warning("refit of %s did not finish in time", self.names.get(key, key))
            self.failed.setdefault(key, "did not finish in time")
            self.pool.kill(w)
        self.running.clear()
        for key, _, _ in self.pending:
            self.failed.setdefault(key, "not started in time")
        self.pending.clear()


__all__ = ["FitJobs"]
