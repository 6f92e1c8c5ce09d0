"""Entry point of worker processes: ``python -m automl.workers.main FD [MEMORY_LIMIT [PARENT]]``.

With ``--zygote FD PARENT`` the process is the zygote that forks workers (see
:mod:`automl.workers.zygote`).

A worker receives a problem (data, folds, metric) once, then evaluates or fits
pipelines on request. It is a separate interpreter so that the parent can stop
a trial at any moment by killing it, whatever the plugin code is doing.
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

from automl.workers import protocol
from automl.workers.cores import count_physical_cores
from automl.workers.memory import give_back_memory, resident_bytes


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


#: a worker hands freed memory back to the system when it holds this many more bytes than after it last did
TRIM_GROWTH = 64 << 20


class _Trim:
    """Hand the memory a finished job freed back to the system, when the process has grown since it last did.

    A worker that fitted a big forest would otherwise keep that size while it
    runs the small trials after it (see :mod:`automl.workers.memory`).
    """

    def __init__(self) -> None:
        self.after = resident_bytes()

    def __call__(self) -> None:
        if resident_bytes() < self.after + TRIM_GROWTH:
            return
        give_back_memory()
        self.after = resident_bytes()


def _adopt_path(paths: list[str]) -> None:
    """Put the parent's import path first, so plugin modules it can import load here too."""
    import importlib

    if paths and paths != sys.path[: len(paths)]:
        sys.path[:] = list(dict.fromkeys([*paths, *sys.path]))
        importlib.invalidate_caches()


def _import_heavy_modules() -> None:
    """Import what every trial needs before saying ready, so trials are timed fairly."""
    import cloudpickle  # noqa: F401
    import threadpoolctl  # noqa: F401

    from automl.evaluation import cross_validation  # noqa: F401

    try:
        import lightgbm  # noqa: F401
        import sklearn.ensemble  # noqa: F401
        import sklearn.linear_model  # noqa: F401
    except Exception:  # pragma: no cover - imported lazily by the pipelines anyway
        pass
    _import_installed_plugins()
    count_physical_cores()


def _import_installed_plugins() -> None:
    """Import the installed plugins' modules (and the libraries they import), so a trial's first fold does not."""
    from importlib import metadata

    from automl.markers import PROJECT_NAME

    for ep in metadata.entry_points(group=PROJECT_NAME):
        try:
            ep.load()
        except Exception:  # the parent reports a plugin that fails to load; a worker just goes without it
            continue


def serve(conn: Any, memory_limit: int, parent: int) -> int:
    """Answer the parent's requests on ``conn`` until it says :class:`Exit` or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    _limit_memory(memory_limit)
    warnings.simplefilter("ignore")
    _import_heavy_modules()
    conn.send(protocol.Ready(os.getpid()))
    worker = _Worker(conn)
    trim = _Trim()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return 0
        if isinstance(request, protocol.Exit):
            return 0
        try:
            reply = worker.answer(request)
            if reply is not None:
                conn.send(reply)
            trim()  # after the reply: the parent is not kept waiting
            continue
        except BaseException as exc:  # report everything, a reply that cannot be sent too; the parent decides
            failure = _failure(request, exc)
        try:
            conn.send(failure)
        except Exception:
            # no memory left even to report it: the parent reads the end of stderr
            with contextlib.suppress(Exception):
                sys.stderr.write(getattr(failure, "error", str(failure)) + "\n")
                sys.stderr.flush()
            return 1
        if isinstance(failure, protocol.Failed) and failure.fatal:
            return 1


def _failure(request: Any, exc: BaseException) -> protocol.Pruned | protocol.Failed:
    """The reply to a request that raised: pruned when the parent asked to stop, else failed."""
    from automl.evaluation.cross_validation import TrialPruned

    job = getattr(request, "job", -1)
    if isinstance(exc, TrialPruned):
        return protocol.Pruned(job, str(exc))
    tb = traceback.format_exc(limit=20)
    # out of memory, the process may be in a bad state: it exits, and says so
    fatal = isinstance(exc, MemoryError)
    return protocol.Failed(job, f"{type(exc).__name__}: {exc}"[:2000], tb[-4000:], fatal)


class _Worker:
    """What a worker holds between requests (the problem), and how it answers each kind."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.problem: Any = None
        #: where the problem's file is; fitted pipelines are written there too
        self.folder = "."

    def answer(self, request: Any) -> protocol.Reply | None:
        """Do what ``request`` asks and return the reply (None for :class:`Forget`)."""
        import cloudpickle
        from threadpoolctl import threadpool_limits

        from automl.budget import REFIT_LATENCY_SECONDS
        from automl.evaluation import cross_validation as evaluation
        from automl.evaluation.latency import ROW_CALLS, row_seconds
        from automl.workers import mapped

        if isinstance(request, protocol.Load):
            self.problem = None
            _adopt_path(request.import_path)
            self.problem = mapped.load(Path(request.path))
            self.folder = os.path.dirname(request.path)
            return protocol.Loaded(request.problem)
        if isinstance(request, protocol.Forget):
            self.problem = None
            return None
        if isinstance(request, protocol.Evaluate):
            on_fold = self._on_fold(request.job) if request.report_folds else None
            with threadpool_limits(limits=request.n_threads):
                result = evaluation.evaluate(cloudpickle.loads(request.pipeline), self.problem, on_fold)
            return protocol.Evaluated(request.job, result)
        if isinstance(request, protocol.Fit):
            with threadpool_limits(limits=request.n_threads):
                fitted, seconds = evaluation.fit_full(cloudpickle.loads(request.pipeline), self.problem)
                row = None
                if getattr(self.problem, "measure_latency", False):
                    X = self.problem.X.iloc[:ROW_CALLS]
                    row = row_seconds(fitted, X, self.problem.task, max_seconds=REFIT_LATENCY_SECONDS)
            path = os.path.join(self.folder, f"fitted-{os.getpid()}-{request.job}.pkl")
            with open(path, "wb") as fh:
                cloudpickle.dump(fitted, fh, protocol=5)
            return protocol.Fitted(request.job, path, seconds, row)
        return protocol.Failed(getattr(request, "job", -1), f"unknown request {request!r}")

    def _on_fold(self, job: int) -> Any:
        from automl.evaluation.cross_validation import KEEP

        def on_fold(fold: int, score: float) -> bool | str:
            self.conn.send(protocol.FoldScored(job, fold, score))
            answer = self.conn.recv()
            if not isinstance(answer, protocol.Continue):
                return False
            return KEEP if answer.keep and not answer.go else answer.go

        return on_fold


def _forked_worker(sock: Any, fds: list[int], wake: tuple[int, int], request: list[Any]) -> None:
    """Become a worker: runs in the child of the zygote's fork and never returns."""
    from multiprocessing.connection import Connection

    code = 1
    try:
        sock.close()
        for fd in wake:
            os.close(fd)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _, _, memory_limit, stderr_path = request
        err = os.open(stderr_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(err, 2)
        os.close(err)
        code = serve(Connection(fds[0]), int(memory_limit), os.getppid())
    except BaseException:
        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os._exit(code)


def zygote(fd: int, parent: int) -> int:
    """Import the heavy modules once, then fork a worker for every request on socket ``fd``.

    Requests carry the worker's socket as a passed file descriptor. The zygote
    reports ``["spawned", request, pid]`` and ``["exited", pid, code]`` (code as
    in ``subprocess.Popen.returncode``), and exits with its parent. It starts no
    threads, so forking it is safe.
    """
    import json
    import select
    import socket

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")
    _import_heavy_modules()
    # what the zygote holds now stays shared with its forks: without this the
    # first collection in each worker writes to every object, copying its page
    gc.collect()
    gc.freeze()
    sock = socket.socket(fileno=fd)
    wake = os.pipe()
    os.set_blocking(wake[1], False)
    signal.set_wakeup_fd(wake[1])
    signal.signal(signal.SIGCHLD, lambda *_: None)

    def report(*msg: Any) -> bool:
        try:
            sock.send(json.dumps(list(msg)).encode())
            return True
        except OSError:
            return False

    while True:
        ready, _, _ = select.select([sock, wake[0]], [], [], 0.5)
        if os.getppid() != parent:
            return 0
        if wake[0] in ready:
            os.read(wake[0], 4096)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if not report("exited", pid, os.waitstatus_to_exitcode(status)):
                return 0
        if sock not in ready:
            continue
        try:
            data, fds, _, _ = socket.recv_fds(sock, 4096, 4)
        except OSError:
            return 0
        if not data:
            return 0
        request = json.loads(data)
        pid = os.fork()
        if pid == 0:
            _forked_worker(sock, fds, wake, request)
        for child_fd in fds:
            os.close(child_fd)
        if not report("spawned", request[1], pid):
            return 0


def main(argv: list[str]) -> int:
    """``FD MEMORY_LIMIT PARENT``: serve as a worker; ``--zygote FD PARENT``: serve as the zygote."""
    from multiprocessing.connection import Connection

    if argv and argv[0] == "--zygote":
        return zygote(int(argv[1]), int(argv[2]))
    parent = int(argv[2]) if len(argv) > 2 else os.getppid()
    return serve(Connection(int(argv[0])), int(argv[1]) if len(argv) > 1 else 0, parent)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
