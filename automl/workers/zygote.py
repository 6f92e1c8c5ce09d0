"""Starting worker processes: a fresh interpreter, or a fork of the zygote.

On Linux workers are forked by a zygote, one interpreter that has imported
scikit-learn and LightGBM once; elsewhere (or with ``AUTOML_WORKER_START=spawn``)
each is a fresh interpreter running ``python -m automl.workers.main``.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import select
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from automl.workers.scratch import ScratchDir


def import_path() -> list[str]:
    """This process's import path (existing directories, no duplicates), for workers to adopt."""
    return list(dict.fromkeys(p for p in sys.path if p and os.path.isdir(p)))


def start_interpreter(args: list[str], sock: socket.socket, stderr_path: Path) -> subprocess.Popen:
    """Start ``python -m automl.workers.main ARGS`` that inherits ``sock`` and this process's import path."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(import_path())
    # OpenMP threads that spin while they wait (the default) slow a model on two
    # threads down fifty-fold when another process holds a core: let them sleep
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("KMP_BLOCKTIME", "0")
    with open(stderr_path, "wb") as errfh:
        return subprocess.Popen(
            [sys.executable, "-m", "automl.workers.main", *args],
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

    def __init__(self) -> None:
        #: holds the zygote's stderr, read when it dies; deleted when it is closed
        self.scratch = ScratchDir("automl-zygote-")
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = start_interpreter(
            ["--zygote", str(child_sock.fileno()), str(os.getpid())], child_sock, self.scratch.path / "zygote.stderr"
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
        self.scratch.remove()


@dataclass
class _ZygoteSlot:
    zygote: _Zygote | None = None
    failed: bool = False


_ZYGOTE = _ZygoteSlot()


def shared_zygote() -> _Zygote | None:
    """The process-wide zygote, started on first use; None where workers cannot be forked."""
    if _ZYGOTE.failed or sys.platform != "linux" or os.environ.get("AUTOML_WORKER_START") == "spawn":
        return None
    z = _ZYGOTE.zygote
    if z is None or z.dead or z.proc.poll() is not None:
        if z is not None:
            z.close()
        try:
            z = _ZYGOTE.zygote = _Zygote()
        except OSError:
            _ZYGOTE.failed = True
            return None
    return z


def forked(proc: Any) -> bool:
    """Whether a worker's process was forked by the zygote (rather than started as a fresh interpreter)."""
    return isinstance(proc, _ForkedProcess)


def give_up_forking() -> None:
    """Start workers as fresh interpreters from now on (the zygote could not be reached)."""
    _ZYGOTE.failed = True


def close_zygote() -> None:
    """Stop the zygote and every worker it forked (at exit)."""
    if _ZYGOTE.zygote is not None:
        _ZYGOTE.zygote.close()


__all__ = ["close_zygote", "forked", "give_up_forking", "import_path", "shared_zygote", "start_interpreter"]
