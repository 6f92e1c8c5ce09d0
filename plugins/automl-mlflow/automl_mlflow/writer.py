"""A background thread that writes to the tracking store, so a slow store never slows the search.

Jobs run one at a time, in the order they were submitted. The first job that
raises is remembered and every later job is dropped until :meth:`Writer.reset`:
a store that failed once is not asked again for the rest of the fit, and the
tracker turns the failure into one warning in the fit's own thread.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)


class Writer:
    """Runs submitted jobs in one daemon thread, in order.

    Parameters
    ----------
    name : str
        The thread's name.
    """

    def __init__(self, name: str = "automl-mlflow") -> None:
        self.name = name
        self._jobs: collections.deque[Callable[[], None]] = collections.deque()
        self._cond = threading.Condition()
        self._busy = False
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job``; it is dropped if an earlier job failed."""
        with self._cond:
            if self.failure is not None:
                return
            self._jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued job has run (or been dropped).

        Parameters
        ----------
        timeout : float or None
            Seconds to wait at most; None waits as long as it takes.

        Returns
        -------
        bool
            True when nothing is left to write, False when the timeout came first.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._jobs or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def reset(self) -> None:
        """Forget a failure (and drop what is queued) so that a new fit may write again."""
        with self._cond:
            self._jobs.clear()
            self.failure = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._jobs:
                    self._cond.wait()
                job = self._jobs.popleft()
                self._busy = True
            try:
                job()
            except Exception as exc:  # a store that fails costs a warning, never the fit
                logger.debug("automl-mlflow: a write failed", exc_info=True)
                with self._cond:
                    self.failure = exc
                    self._jobs.clear()
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()


__all__ = ["Writer"]
