"""The messages between the parent and its worker processes, one class per kind.

The parent sends a request; the worker answers on the same connection. A
message is a small frozen dataclass, pickled by the connection: its class says
what it is, its fields say the rest, so no reader counts tuple positions.

::

    parent                                  worker
    Load(problem, path, import_path)   ->   Loaded(problem)
    Forget()                           ->   (nothing)
    Evaluate(job, pipeline, ...)       ->   FoldScored(job, fold, score)   (after each fold but the last,
                                        <-  Continue(go, keep)              when report_folds is set)
                                       ->   Evaluated(job, evaluation) | Pruned(job, reason) | Failed(...)
    Fit(job, pipeline, n_threads)      ->   Fitted(job, path, seconds) | Failed(...)
    Exit()                             ->   the process exits with code 0

A worker says :class:`Ready` once, when it has started. ``pipeline`` fields
hold cloudpickle bytes, so a plugin's classes need not be importable by name.
A pipeline fitted on all rows comes back in a file (cloudpickle, written next
to the problem's file): a large model is then never held as bytes as well, in
either process. :class:`FittedFile` reads it, when the pipeline is used, and deletes the file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Any

# -- parent -> worker ---------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """Read the problem (data, folds, metric) from ``path``, after putting ``import_path`` first on sys.path."""

    problem: int
    path: str
    import_path: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Forget:
    """Drop the problem held in memory."""


@dataclass(frozen=True)
class Evaluate:
    """Cross-validate a pipeline on the problem's folds; with ``report_folds``, ask after each fold whether to go on."""

    job: int
    pipeline: bytes
    n_threads: int = 1
    report_folds: bool = False


@dataclass(frozen=True)
class Fit:
    """Fit a pipeline on all the problem's rows."""

    job: int
    pipeline: bytes
    n_threads: int = 1


@dataclass(frozen=True)
class Continue:
    """The answer to :class:`FoldScored`: go on with the next fold, or stop (the trial is pruned).

    With ``keep``, a stopped evaluation returns the folds done when they
    validate every row (a whole pass of repeated folds), instead of being pruned.
    """

    go: bool
    keep: bool = False


@dataclass(frozen=True)
class Exit:
    """End the worker process."""


Request = Load | Forget | Evaluate | Fit | Continue | Exit

# -- worker -> parent ---------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    """The worker has started and imported what every trial needs."""

    pid: int


@dataclass(frozen=True)
class Loaded:
    """The problem is in memory."""

    problem: int


@dataclass(frozen=True)
class FoldScored:
    """One fold of an evaluation is done; the worker waits for :class:`Continue`."""

    job: int
    fold: int
    score: float


@dataclass(frozen=True)
class Evaluated:
    """An evaluation finished: an :class:`automl.evaluation.cross_validation.Evaluation`."""

    job: int
    evaluation: Any


@dataclass(frozen=True)
class Fitted:
    """A fit on all rows finished: the file of the fitted pipeline, the seconds it took, its row latency.

    ``path`` holds the pipeline pickled with cloudpickle (read it with
    :class:`FittedFile`). ``row_seconds`` is the fitted pipeline's single-row
    latency when the problem asks for it (``Problem.measure_latency``), else None.
    """

    job: int
    path: str
    seconds: float
    row_seconds: float | None = None


class FittedFile:
    """A pipeline fitted on all rows, left in its worker's file until it is used.

    The parent receives refits it may never use: the refit plan changes as
    trials finish, and an ensemble can give way to its best member. Read at
    once, each would hold its whole model in the parent (an extra-trees
    regressor on diamonds: 240 MB); files nobody reads are deleted with the
    pool's (:meth:`automl.workers.pool.WorkerPool.sweep`). :meth:`load` reads
    the file once, deletes it and keeps the pipeline.

    Parameters
    ----------
    reply : Fitted
        The worker's reply naming the file.
    """

    def __init__(self, reply: Fitted) -> None:
        self.path = reply.path
        self._pipeline: Any = None
        self._read = False

    def size(self) -> int:
        """Bytes of the file still to read (0 once read, or if it is gone)."""
        if self._read:
            return 0
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0

    def load(self) -> Any:
        """The fitted pipeline (cloudpickle), read from the file the first time."""
        if not self._read:
            import cloudpickle

            try:
                with open(self.path, "rb") as fh:
                    self._pipeline = cloudpickle.load(fh)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)
            self._read = True
        return self._pipeline


@dataclass(frozen=True)
class Pruned:
    """The evaluation stopped after a fold because the parent said so."""

    job: int
    reason: str


@dataclass(frozen=True)
class Failed:
    """The request raised. ``fatal``: the worker is exiting (it ran out of memory) and must be replaced."""

    job: int
    error: str
    traceback: str = ""
    fatal: bool = False


Reply = Ready | Loaded | FoldScored | Evaluated | Fitted | Pruned | Failed


@dataclass(frozen=True)
class Job:
    """What a busy worker is doing: a trial's evaluation, or a refit of a trial's pipeline on all rows."""

    kind: str  # "trial" or "refit"
    number: int


__all__ = [
    "FittedFile",
    "Continue",
    "Evaluate",
    "Evaluated",
    "Exit",
    "Failed",
    "Fit",
    "Fitted",
    "FoldScored",
    "Forget",
    "Job",
    "Load",
    "Loaded",
    "Pruned",
    "Ready",
    "Reply",
    "Request",
]
