"""Entry point of a worker process: ``python -m automl._worker_main FD [MEMORY_LIMIT]``.

A worker receives a problem (data, folds, metric) once, then evaluates or fits
pipelines on request. It is a separate interpreter so that the parent can stop
a trial at any moment by killing it, whatever the plugin code is doing.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _limit_memory(limit: int) -> None:
    if limit <= 0:
        return
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError):  # pragma: no cover - platform refuses
        pass


def main(argv: list[str]) -> int:
    """Serve requests on the connection whose file descriptor is ``argv[0]``."""
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = int(argv[2]) if len(argv) > 2 else os.getppid()
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    conn = Connection(int(argv[0]))
    _limit_memory(int(argv[1]) if len(argv) > 1 else 0)
    warnings.simplefilter("ignore")

    # import the heavy modules before saying ready, so trials are timed fairly
    import cloudpickle
    from threadpoolctl import threadpool_limits

    from automl import evaluation

    try:
        import lightgbm  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
    except Exception:  # pragma: no cover - imported lazily by the pipelines anyway
        pass

    conn.send(("ready", os.getpid()))
    problem: Any = None
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return 0
        kind, job = msg[0], msg[1]
        try:
            if kind == "exit":
                return 0
            if kind == "problem":
                problem = None
                with open(msg[2], "rb") as fh:
                    problem = cloudpickle.load(fh)
                conn.send(("loaded", job))
            elif kind == "forget":
                problem = None
            elif kind == "eval":
                estimator = cloudpickle.loads(msg[2])
                n_threads, report = msg[3], msg[4]

                def on_fold(fold: int, score: float, _job: Any = job) -> bool:
                    conn.send(("fold", _job, fold, score))
                    return conn.recv()[0] == "continue"

                with threadpool_limits(limits=n_threads):
                    result = evaluation.evaluate(estimator, problem, on_fold if report else None)
                conn.send(("done", job, result))
            elif kind == "fit":
                estimator = cloudpickle.loads(msg[2])
                with threadpool_limits(limits=msg[3]):
                    fitted, seconds = evaluation.fit_full(estimator, problem.X, problem.y)
                conn.send(("fitted", job, cloudpickle.dumps(fitted), seconds))
            else:
                conn.send(("error", job, f"unknown request {kind!r}", ""))
        except evaluation.TrialPruned as exc:
            conn.send(("pruned", job, str(exc)))
        except BaseException as exc:  # report everything; the parent decides
            tb = traceback.format_exc(limit=20)
            try:
                conn.send(("error", job, f"{type(exc).__name__}: {exc}"[:2000], tb[-4000:]))
            except Exception:
                return 1
            if isinstance(exc, MemoryError):
                return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
