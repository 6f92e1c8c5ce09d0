"""The writer: a child process that talks to the tracking store, so that logging never slows the search.

Importing MLflow, opening a store (an SQLite store runs its migrations) and
saving a model take seconds of CPU: in a thread they would compete with the
search for the fit process's interpreter lock. So the tracker sends small
messages (plain dictionaries, the final pipeline as bytes) through a pipe to one
child process per tracker, started at the first write; the child
(:mod:`automl_mlflow.store`) writes them in order and answers each. The child
also ends when its pipe closes, after writing what it was sent, so a fit that
returns (or a process that exits) does not lose the last writes.

The first message that fails is remembered (:attr:`Writer.failure`) and the
child drops the rest of that fit's messages: a store that failed once is not
asked again, and the tracker turns the failure into one warning.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from typing import Any

import cloudpickle

logger = logging.getLogger(__name__)

#: how hard the writer tries an HTTP tracking server that does not answer: MLflow's defaults
#: (7 retries, backoff factor 2, 120 s timeout) keep retrying for minutes after the fit
HTTP_LIMITS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "20",
}

#: the writer's output: MLflow's INFO lines and progress bars would land in the user's terminal
QUIET = {"MLFLOW_LOGGING_LEVEL": "WARNING", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}


class WriterError(RuntimeError):
    """The writer process failed to write, or died."""


class Writer:
    """Sends messages to a child writer process and follows its answers.

    Attributes
    ----------
    failure : WriterError or None
        The first failure since :meth:`reset`.
    info : dict
        What the child reported: ``run_id`` of the last parent run, ``model_uri`` of the last model.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._cond = threading.Condition()
        self._sent = 0
        self._done = 0
        self.failure: WriterError | None = None
        self.info: dict[str, Any] = {}

    def submit(self, kind: str, payload: dict[str, Any]) -> None:
        """Send one message (dropped when a write of this fit has failed)."""
        with self._cond:
            if self.failure is not None:
                return
            try:
                proc = self._process()
                data = cloudpickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
                self._sent += 1
                pickle.dump((self._sent, kind, data), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.flush()
            except (OSError, pickle.PicklingError, ValueError) as exc:
                self.failure = WriterError(f"the writer process cannot be reached: {type(exc).__name__}: {exc}")
                self._done = self._sent
                self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until the child has answered every message sent.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait at most; None waits as long as it takes.

        Returns
        -------
        bool
            True when every message was answered, False when the timeout came first.
        """
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        with self._cond:
            while self._done < self._sent:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def reset(self) -> None:
        """Forget a failure, so that a new fit may write again."""
        with self._cond:
            self.failure = None

    def close(self, timeout: float | None = None) -> None:
        """Close the pipe; the child writes what it was sent and exits (waited for ``timeout`` seconds)."""
        proc = self._proc
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            logger.debug("automl-mlflow: the writer process is still writing", exc_info=True)

    def _process(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        env = dict(os.environ)
        # the child unpickles the final pipeline: it needs every module the fit process can import
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        for name, value in {**HTTP_LIMITS, **QUIET}.items():  # the user's own settings win
            env.setdefault(name, value)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "automl_mlflow.store"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        threading.Thread(target=self._read, args=(self._proc,), name="automl-mlflow-replies", daemon=True).start()
        return self._proc

    def _read(self, proc: subprocess.Popen) -> None:
        """Follow the child's answers: ``(number, error or None, info)``; its death fails what is unanswered."""
        while True:
            try:
                number, error, info = pickle.load(proc.stdout)
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                break
            with self._cond:
                self._done = max(self._done, number)
                self.info.update(info)
                if error and self.failure is None:
                    self.failure = WriterError(error)
                self._cond.notify_all()
        with self._cond:
            if self._done < self._sent and self.failure is None:
                self.failure = WriterError(f"the writer process exited with code {proc.poll()}")
            self._done = self._sent
            self._cond.notify_all()


__all__ = ["Writer", "WriterError"]
