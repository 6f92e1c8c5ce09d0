"""Worker processes that evaluate and fit pipelines, and can be killed at any moment.

Each worker is a process of its own linked to the parent by a socket. On Linux
workers are forked by a zygote, one interpreter that has imported scikit-learn
and LightGBM once; elsewhere each is a fresh interpreter
(``python -m automl._worker_main``). Killing a worker is how the engine stops a
trial that overruns its time, hangs, or takes its process down; the pool then
starts a replacement. Workers outlive one ``fit`` (a second fit in the same
session starts at once) and exit when the parent does.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)


def import_path() -> list[str]:
    """This process's import path (existing directories, no duplicates), for workers to adopt."""
    return list(dict.fromkeys(p for p in sys.path if p and os.path.isdir(p)))


def _start_interpreter(args: list[str], sock: socket.socket, stderr_path: Path) -> subprocess.Popen:
    """Start ``python -m automl._worker_main ARGS`` that inherits ``sock`` and this process's import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(import_path())
    # OpenMP threads that spin while they wait (the default) slow a model on two
    # threads down fifty-fold when another process holds a core: let them sleep
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("KMP_BLOCKTIME", "0")
    with open(stderr_path, "wb") as errfh:
        return subprocess.Popen(
            [sys.executable, "-m", "automl._worker_main", *args],
            pass_fds=(sock.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errfh,
            env=env,
            close_fds=True,
        )


class _ForkedProcess:
    """A worker forked by the zygote, with the parts of ``subprocess.Popen`` the pool uses.

    The zygote, its parent, reaps it and reports its exit status.
    """

    def __init__(self, zygote: _Zygote) -> None:
        self._zygote = zygote
        self._pid: int | None = None
        self.returncode: int | None = None
        self._kill_on_spawn = False

    @property
    def pid(self) -> int | None:
        """The process id, once the zygote has reported the fork (None if it never does)."""
        end = time.monotonic() + 10.0
        while self._pid is None and self.returncode is None and time.monotonic() < end:
            self._zygote.drain(0.05)
        return self._pid

    def _spawned(self, pid: int) -> None:
        self._pid = pid
        if self._kill_on_spawn:
            self.kill()

    def poll(self) -> int | None:
        """The exit code (negative: killed by that signal), or None while it runs."""
        if self.returncode is None:
            self._zygote.drain(0.0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; raise ``subprocess.TimeoutExpired`` after ``timeout`` seconds."""
        end = math.inf if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = end - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired("automl worker", timeout or 0.0)
            self._zygote.drain(min(left, 0.1))
        return self.returncode  # type: ignore[return-value]

    def kill(self) -> None:
        """Send SIGKILL (at once, or as soon as the fork is reported)."""
        if self.returncode is not None:
            return
        if self._pid is None:
            self._kill_on_spawn = True
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(self._pid, signal.SIGKILL)


class _Zygote:
    """A process that imports the heavy modules once, then forks ready workers on request.

    A fresh interpreter needs about two CPU-seconds to import scikit-learn and
    LightGBM; a fork of the zygote is ready in milliseconds. That makes the first
    trials start sooner and a killed trial's replacement worker nearly free. The
    zygote starts no threads, so forking it is safe.
    """

    def __init__(self, tmp: Path) -> None:
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = _start_interpreter(
            ["--zygote", str(child_sock.fileno()), str(os.getpid())], child_sock, tmp / "zygote.stderr"
        )
        child_sock.close()
        self.sock = parent_sock
        self._ids = itertools.count()
        self._pending: dict[int, _ForkedProcess] = {}
        self._by_pid: dict[int, _ForkedProcess] = {}
        self.dead = False

    def spawn(self, child_fd: int, memory_limit: int, stderr_path: str) -> _ForkedProcess:
        """Ask for a worker serving the socket ``child_fd``; raise OSError if the zygote is gone."""
        if self.dead:
            raise OSError("the zygote has exited")
        rid = next(self._ids)
        proc = _ForkedProcess(self)
        msg = json.dumps(["spawn", rid, int(memory_limit), stderr_path]).encode()
        socket.send_fds(self.sock, [msg], [child_fd])
        self._pending[rid] = proc
        return proc

    def drain(self, timeout: float) -> None:
        """Read the zygote's reports (forks and exits), waiting up to ``timeout`` for the first."""
        if self.dead:
            return
        ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
        while ready:
            try:
                data = self.sock.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._died()
                return
            kind, a, b = json.loads(data)
            if kind == "spawned":
                proc = self._pending.pop(a)
                self._by_pid[b] = proc
                proc._spawned(b)
            elif kind == "exited":
                proc = self._by_pid.pop(a, None)
                if proc is not None:
                    proc.returncode = b
            ready, _, _ = select.select([self.sock], [], [], 0)

    def _died(self) -> None:
        """The zygote is gone: its workers are orphans that exit by themselves; count them as killed."""
        self.dead = True
        for proc in [*self._pending.values(), *self._by_pid.values()]:
            if proc._pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc._pid, signal.SIGKILL)
            proc.returncode = -signal.SIGKILL
        self._pending.clear()
        self._by_pid.clear()
        with contextlib.suppress(OSError):
            self.sock.close()

    def close(self) -> None:
        """Stop the zygote and every worker it forked."""
        for proc in list(self._by_pid.values()):
            proc.kill()
        with contextlib.suppress(ProcessLookupError, OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1.0)
        self._died()


@dataclass
class _ZygoteSlot:
    zygote: _Zygote | None = None
    failed: bool = False


_ZYGOTE = _ZygoteSlot()


def _zygote() -> _Zygote | None:
    """The process-wide zygote, started on first use; None where workers cannot be forked."""
    if _ZYGOTE.failed or sys.platform != "linux" or os.environ.get("AUTOML_WORKER_START") == "spawn":
        return None
    z = _ZYGOTE.zygote
    if z is None or z.dead or z.proc.poll() is not None:
        if z is not None:
            z.close()
        try:
            z = _ZYGOTE.zygote = _Zygote(Path(tempfile.mkdtemp(prefix="automl-zygote-")))
        except OSError:
            _ZYGOTE.failed = True
            return None
    return z


@dataclass(eq=False)
class Worker:
    """One worker process and what it is doing."""

    proc: Any  # subprocess.Popen, or a _ForkedProcess with the same methods
    conn: Connection
    stderr_path: Path
    ready: bool = False
    problem: int | None = None
    job: Any = None
    started: float = 0.0

    @property
    def busy(self) -> bool:
        """True while a job is running."""
        return self.job is not None

    def exit_reason(self) -> str:
        """Why the process ended, with the end of its stderr."""
        code = self.proc.poll()
        if code is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                code = self.proc.wait(timeout=0.2)
        if code is None:
            text = "the worker stopped answering"
        elif code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            text = f"the worker process was killed by {name}"
        else:
            text = f"the worker process exited with code {code}"
        try:
            tail = self.stderr_path.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            tail = []
        if tail:
            text += ": " + " | ".join(tail)[-800:]
        return text


class WorkerPool:
    """A set of worker processes.

    Parameters
    ----------
    memory_limit : int
        Address-space limit of each worker in bytes; 0 for none.
    """

    def __init__(self, memory_limit: int = 0) -> None:
        self.memory_limit = int(memory_limit)
        self.workers: list[Worker] = []
        self._tmp = Path(tempfile.mkdtemp(prefix="automl-workers-"))
        self._count = 0
        self.lock = threading.Lock()

    # -- processes ---------------------------------------------------------
    def _spawn(self) -> Worker:
        parent_sock, child_sock = socket.socketpair()
        self._count += 1
        err = self._tmp / f"worker-{self._count}.stderr"
        zygote = _zygote()
        if zygote is not None:
            try:
                proc: Any = zygote.spawn(child_sock.fileno(), self.memory_limit, str(err))
            except OSError:  # the zygote is gone: start workers the slow way from now on
                _ZYGOTE.failed = True
                proc = self._popen(child_sock, err)
        else:
            proc = self._popen(child_sock, err)
        child_sock.close()
        worker = Worker(proc=proc, conn=Connection(parent_sock.detach()), stderr_path=err, started=time.monotonic())
        self.workers.append(worker)
        return worker

    def _popen(self, child_sock: socket.socket, err: Path) -> subprocess.Popen:
        """Start a worker as a fresh interpreter (where forking is unavailable)."""
        return _start_interpreter([str(child_sock.fileno()), str(self.memory_limit), str(os.getpid())], child_sock, err)

    def ensure(self, n: int) -> None:
        """Start workers until ``n`` are alive."""
        self.workers = [w for w in self.workers if w.proc.poll() is None]
        while len(self.workers) < n:
            self._spawn()

    def kill(self, worker: Worker) -> None:
        """Kill a worker at once and forget it."""
        with contextlib.suppress(ProcessLookupError, OSError):
            worker.proc.kill()
        with contextlib.suppress(Exception):
            worker.conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=1.0)
        if worker in self.workers:
            self.workers.remove(worker)

    def shrink(self, n: int) -> None:
        """Kill idle workers beyond ``n``."""
        for w in list(self.workers):
            if len(self.workers) <= n:
                break
            if not w.busy:
                self.kill(w)

    def close(self) -> None:
        """Kill every worker."""
        for w in list(self.workers):
            self.kill(w)

    # -- messages ----------------------------------------------------------
    def send(self, worker: Worker, msg: tuple) -> bool:
        """Send a message; False if the worker is gone."""
        try:
            worker.conn.send(msg)
            return True
        except (OSError, EOFError, ValueError):
            return False

    def poll(self, timeout: float, workers: Iterable[Worker] | None = None) -> list[tuple[Worker, tuple | None]]:
        """Wait up to ``timeout`` seconds for messages; ``None`` means the worker died."""
        pool = list(self.workers if workers is None else workers)
        if not pool:
            time.sleep(max(0.0, min(timeout, 0.05)))
            return []
        by_conn = {w.conn: w for w in pool}
        out: list[tuple[Worker, tuple | None]] = []
        for conn in wait(list(by_conn), timeout=max(0.0, timeout)):
            worker = by_conn[conn]
            try:
                while True:
                    msg = conn.recv()
                    if msg[0] == "ready":
                        worker.ready = True
                    else:
                        out.append((worker, msg))
                    if not conn.poll(0):
                        break
            except (EOFError, OSError):
                out.append((worker, None))
        return out


_SHARED: dict[int, WorkerPool] = {}


def shared_pool(memory_limit: int) -> WorkerPool:
    """The process-wide pool for a memory limit, created on first use."""
    pool = _SHARED.get(memory_limit)
    if pool is None:
        pool = _SHARED[memory_limit] = WorkerPool(memory_limit)
    return pool


def _close_all() -> None:
    for pool in _SHARED.values():
        pool.close()
    if _ZYGOTE.zygote is not None:
        _ZYGOTE.zygote.close()


import atexit  # noqa: E402

atexit.register(_close_all)

__all__ = ["Worker", "WorkerPool", "import_path", "shared_pool"]
