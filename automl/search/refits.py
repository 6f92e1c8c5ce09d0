"""Fits of whole pipelines on all rows, in the worker pool: the final refit and its ensemble's members."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import cloudpickle

from automl.search.trial import TrialConfig
from automl.workers.pool import Worker, fatal

if TYPE_CHECKING:
    from automl.search.loop import Search

logger = logging.getLogger(__name__)


class FitJobs:
    """Fits of whole pipelines on all rows, run in the pool while the parent does other work.

    Every fit is killed at the budget's deadline.
    """

    def __init__(self, search: Search, build: Callable[[TrialConfig, int], Any]) -> None:
        self.search = search
        self.pool = search.pool
        self.build = build
        self.pending: list[tuple[Any, TrialConfig, int]] = []
        self.running: dict[Worker, Any] = {}
        self.done: dict[Any, tuple[Any, float]] = {}
        self.failed: dict[Any, str] = {}
        self.names: dict[Any, str] = {}
        self._reported: set[Any] = set()

    def submit(self, key: Any, config: TrialConfig, n_threads: int) -> None:
        """Queue a fit of ``config`` under ``key`` (a trial number for trials).

        A pipeline already fitted during the search, or being fitted, is reused.
        """
        self.names[key] = config.model
        if key in self.search.prefit:
            self.done[key] = (self.search.prefit[key], 0.0)
            return
        if key in self.running.values():
            return
        self.pending.append((key, config, n_threads))
        self.pump(0.0)

    def finished(self, key: Any) -> bool:
        """True once ``key`` has succeeded or failed."""
        return key in self.done or key in self.failed

    def pump(self, timeout: float) -> None:
        """Start queued fits on free workers and collect finished ones."""
        budget = self.search.budget
        if budget.remaining() <= 0:
            self.stop()
            return
        want = len(self.pending) + len(self.running)
        if want:
            self.pool.ensure(max(self.search.n_workers + 1, 1))
        for w in [w for w in self.pool.workers if w.ready and not w.busy]:
            if not self.pending:
                break
            key, config, threads = self.pending.pop(0)
            try:
                blob = cloudpickle.dumps(self.build(config, threads))
            except Exception as exc:
                self.failed[key] = f"could not be built: {type(exc).__name__}: {exc}"
                continue
            if not self.search._load(w) or not self.pool.send(w, ("fit", 0, blob, threads)):
                self.pool.kill(w)
                self.pending.insert(0, (key, config, threads))
                continue
            w.job = key
            self.running[w] = key
        if not self.running:
            if self.pending and timeout > 0:
                self.pool.poll(min(timeout, 0.1))
            return
        for w, msg in self.pool.poll(max(0.0, min(timeout, budget.remaining())), workers=list(self.running)):
            key = self.running.pop(w, None)
            if key is None:
                continue
            if msg is None:
                self.failed[key] = w.exit_reason()
                self.pool.kill(w)
            elif msg[0] == "fitted":
                w.job = None
                self.done[key] = (cloudpickle.loads(msg[2]), float(msg[3]))
                logger.debug("refit of %s (%s): %.1fs", key, self.names.get(key, key), float(msg[3]))
            elif msg[0] == "error":
                w.job = None
                self.failed[key] = msg[2]
                if fatal(msg):
                    self.pool.kill(w)
            else:
                self.running[w] = key
        for key, why in self.failed.items():
            if key not in self._reported:
                self._reported.add(key)
                logger.warning("refit of %s failed: %s", self.names.get(key, key), why)

    def wait(self, keys: list[Any]) -> None:
        """Pump until every key in ``keys`` has finished or the deadline passes."""
        budget = self.search.budget
        queued = set(self.running.values()) | {k for k, _, _ in self.pending}
        missing = [k for k in keys if not self.finished(k) and k not in queued]
        if missing:
            raise ValueError(f"waiting for fits that were never submitted: {missing}")
        while not all(self.finished(k) for k in keys) and budget.remaining() > 0:
            self.pump(min(0.25, budget.remaining()))
        if not all(self.finished(k) for k in keys):
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
