"""Worker processes that evaluate and fit pipelines, and can be killed at any moment.

Each worker is a process of its own linked to the parent by a socket. On Linux
workers are forked by a zygote, one interpreter that has imported scikit-learn
and LightGBM once; elsewhere each is a fresh interpreter
(``python -m automl.workers.main``). Killing a worker is how the engine stops a
trial that overruns its time, hangs, or takes its process down; the pool then
starts a replacement. Workers outlive one ``fit`` (a second fit in the same
session starts at once), except forked ones that grew during it: those are
killed when the fit ends, since a fork is ready again in milliseconds. The
forked ones and the zygote go :data:`IDLE_SECONDS` after the last fit; all
exit when the parent does.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from automl.workers.cores import count_physical_cores
from automl.workers.memory import resident_bytes
from automl.workers.protocol import Failed, Job, Ready, Reply, Request
from automl.workers.scratch import ScratchDir
from automl.workers.zygote import close_zygote, forked, give_up_forking, shared_zygote, start_interpreter

logger = logging.getLogger(__name__)

#: an idle forked worker that grew by more than this since it said ready is killed after a fit
KEEP_GROWTH = 64 << 20


@dataclass(eq=False)
class Worker:
    """One worker process and what it is doing."""

    proc: Any  # subprocess.Popen, or a _ForkedProcess with the same methods
    conn: Connection
    stderr_path: Path
    ready: bool = False
    #: the id of the problem it holds (see :class:`automl.workers.problem.SharedProblem`)
    problem: int | None = None
    job: Job | None = None
    started: float = 0.0
    #: bytes the process held when it said ready (0 if unknown)
    resident_at_ready: int = 0

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
        #: the data and fitted pipelines the workers read and write (see :mod:`automl.workers.scratch`)
        self.scratch = ScratchDir("automl-workers-")
        self._count = 0
        self.lock = threading.Lock()
        #: replies read but not yet returned by :meth:`poll` (a Ctrl-C came as they were read)
        self._unread: list[tuple[Worker, Reply | None]] = []
        _POOLS.add(self)

    # -- processes ---------------------------------------------------------
    def _spawn(self) -> Worker:
        parent_sock, child_sock = socket.socketpair()
        self._count += 1
        err = self.folder() / f"worker-{self._count}.stderr"
        zygote = shared_zygote()
        if zygote is not None:
            try:
                proc: Any = zygote.spawn(child_sock.fileno(), self.memory_limit, str(err))
            except OSError:  # the zygote is gone: start workers the slow way from now on
                give_up_forking()
                proc = self._popen(child_sock, err)
        else:
            proc = self._popen(child_sock, err)
        child_sock.close()
        worker = Worker(proc=proc, conn=Connection(parent_sock.detach()), stderr_path=err, started=time.monotonic())
        self.workers.append(worker)
        return worker

    @property
    def tmp(self) -> Path:
        """The pool's folder (which :meth:`close` deletes)."""
        return self.scratch.path

    def folder(self) -> Path:
        """The pool's folder, made again if the pool was closed and is used again."""
        return self.scratch.ensure()

    def _popen(self, child_sock: socket.socket, err: Path) -> subprocess.Popen:
        """Start a worker as a fresh interpreter (where forking is unavailable)."""
        return start_interpreter([str(child_sock.fileno()), str(self.memory_limit), str(os.getpid())], child_sock, err)

    def ensure(self, n: int) -> None:
        """Start workers until ``n`` are alive.

        A dead worker that was running a job stays listed until :meth:`poll`
        reports its end (its caller must learn that the job is lost: dropped
        here, its trial would wait for a reply until its time ran out); a dead
        idle one is dropped.
        """
        self.workers = [w for w in self.workers if w.busy or w.proc.poll() is None]
        alive = sum(w.proc.poll() is None for w in self.workers)
        for _ in range(n - alive):
            self._spawn()

    def kill(self, worker: Worker) -> None:
        """Kill a worker at once and forget it."""
        self._kill_all([worker])

    def _kill_all(self, workers: list[Worker]) -> None:
        """Kill ``workers`` and forget them, all signalled before any is waited for: they exit side by side."""
        for w in workers:
            with contextlib.suppress(ProcessLookupError, OSError):
                w.proc.kill()
        for w in workers:
            self._forget(w)

    def _forget(self, worker: Worker) -> None:
        """Close a signalled worker's socket, wait a moment for its exit, and drop it."""
        with contextlib.suppress(Exception):
            worker.conn.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=1.0)
        if worker in self.workers:
            self.workers.remove(worker)
        self._unread = [(w, r) for w, r in self._unread if w is not worker]

    def release(self, n: int) -> None:
        """After a fit: kill the idle forked workers that grew, and idle workers beyond ``n``.

        An idle worker keeps what its last jobs grew it to (hundreds of MB
        after a big forest) for as long as the session lasts; a fork of the
        zygote is ready again in milliseconds, so one that grew by more than
        :data:`KEEP_GROWTH` since it said ready is killed. The others, and
        workers started as fresh interpreters (seconds each), are kept for the
        next fit, which then skips a fork's first-job costs (pages copied from
        the zygote, modules imported on first use; see docs/benchmarks.md).
        """
        self._kill_all([w for w in self.workers if not w.busy and forked(w.proc) and self._grew(w)])
        self.shrink(n)

    def free_idle(self) -> int:
        """Kill every idle forked worker now, grown or not; how many (the zygote forks others in milliseconds).

        Before the parent reads a big final model: the idle workers' memory
        (tens of MB each) would otherwise add to the parent's growth at the
        fit's peak.
        """
        idle = [w for w in self.workers if not w.busy and forked(w.proc)]
        self._kill_all(idle)
        return len(idle)

    @staticmethod
    def _grew(worker: Worker) -> bool:
        """Whether ``worker`` holds more than :data:`KEEP_GROWTH` bytes beyond its size when ready (True if unknown)."""
        now = resident_bytes(worker.proc.pid) if worker.ready else 0
        return not (now and worker.resident_at_ready) or now > worker.resident_at_ready + KEEP_GROWTH

    def shrink(self, n: int) -> None:
        """Kill idle workers beyond ``n``."""
        extra = len(self.workers) - n
        if extra > 0:
            self._kill_all([w for w in self.workers if not w.busy][:extra])

    def close(self) -> None:
        """Kill every worker and delete the pool's folder."""
        self._kill_all(list(self.workers))
        self.scratch.remove()

    def sweep(self) -> None:
        """Delete the files of fitted pipelines nobody read (a fit stopped or dropped while its worker wrote)."""
        for path in self.tmp.glob("fitted-*.pkl"):
            path.unlink(missing_ok=True)

    # -- messages ----------------------------------------------------------
    def send(self, worker: Worker, request: Request) -> bool:
        """Send a request, whole even if Ctrl-C comes meanwhile; False if the worker is gone."""
        try:
            with _interrupts_held():
                worker.conn.send(request)
            return True
        except (OSError, EOFError, ValueError):
            return False

    def poll(self, timeout: float, workers: Iterable[Worker] | None = None) -> list[tuple[Worker, Reply | None]]:
        """Wait up to ``timeout`` seconds for replies of ``workers`` (all by default); ``None`` means a worker died.

        :class:`~automl.workers.protocol.Ready` is read here (it marks the worker ready), never returned,
        from every worker still starting, even one not among ``workers``: unread, it would never be ready
        (a starting worker that dies is reported too).
        """
        pool = list(self.workers if workers is None else workers)
        pool += [w for w in self.workers if not w.ready and w not in pool]
        if not pool:
            time.sleep(max(0.0, min(timeout, 0.05)))
            return []
        if not any(w in pool for w, _ in self._unread):  # replies read when Ctrl-C came are answered first
            by_conn = {w.conn: w for w in pool}
            ready = wait(list(by_conn), timeout=max(0.0, timeout))  # interruptible: nothing read yet
            with _interrupts_held():  # into the queue: a Ctrl-C now is raised after, the replies stay queued
                for conn in ready:
                    self._read_from(by_conn[conn])
        # one assignment: no Ctrl-C between taking the replies and leaving the others queued
        out, self._unread = _split(self._unread, pool)
        return out

    def _read_from(self, worker: Worker) -> None:
        """Every message ``worker`` has sent, into :attr:`_unread` (None if it died); Ready marks it ready."""
        conn = worker.conn
        try:
            while True:
                msg = conn.recv()
                if isinstance(msg, Ready):
                    worker.ready = True
                    worker.resident_at_ready = resident_bytes(msg.pid)
                else:
                    self._unread.append((worker, msg))
                if not conn.poll(0):
                    break
        except (EOFError, OSError):
            self._unread.append((worker, None))


def _split(replies: list[tuple[Worker, Reply | None]], workers: list[Worker]) -> tuple[list[Any], list[Any]]:
    """The replies of ``workers``, and the others."""
    mine = [(w, r) for w, r in replies if w in workers]
    return mine, [(w, r) for w, r in replies if w not in workers]


@contextlib.contextmanager
def _interrupts_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back while a message to or from a worker is sent or read, and deliver it after.

    A KeyboardInterrupt raised between the writes of one message (a pipeline
    goes out as a header and a body) leaves the worker waiting for a rest that
    never comes; raised after a reply was read and before it was handled, it
    loses the reply, and the parent waits for it until the budget runs out (a
    fit interrupted as a refit's reply came in did). Held in the main thread
    only, where Python runs signal handlers, and only over a Python handler.
    """
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        yield
        return
    held: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if held:
            signal.raise_signal(signal.SIGINT)


_SHARED: dict[int, WorkerPool] = {}
#: every pool alive in this process: the zygote is let go only when none of them has a forked worker
_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()

#: seconds after the last fit in this process ends at which its idle forked workers and the zygote are let go
IDLE_SECONDS = 120.0


class _Fits:
    """The fits running in this process, and the timer that lets the idle processes go after the last one.

    Workers and the zygote are kept between fits so that the next one starts
    at once; a session that stops fitting (a notebook where the model is
    being used) would otherwise keep them, a few hundred MB, for as long as
    it lasts.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.timer: threading.Timer | None = None

    def started(self) -> None:
        """A fit starts: nothing is let go until it ends."""
        with self.lock:
            self.running += 1
            timer, self.timer = self.timer, None
        if timer is not None:
            timer.cancel()

    def ended(self) -> None:
        """A fit ended: after the last one, the idle processes go in :data:`IDLE_SECONDS` unless another starts."""
        with self.lock:
            self.running -= 1
            if self.running or self.timer is not None:
                return
            timer = self.timer = threading.Timer(IDLE_SECONDS, self.let_go)
            timer.daemon = True
            timer.start()

    def let_go(self) -> None:
        """Kill the shared pools' idle forked workers, then the zygote if no pool has a forked worker left."""
        with self.lock:
            if self.running:
                return
            self.timer = None
            with contextlib.suppress(Exception):  # a clean-up in the background never raises
                freed = sum(pool.free_idle() for pool in list(_SHARED.values()))
                if not any(forked(w.proc) for pool in list(_POOLS) for w in pool.workers):
                    close_zygote()
                logger.debug("%d idle workers and the zygote let go after %.0fs without a fit", freed, IDLE_SECONDS)


_FITS = _Fits()


def _forget_fits_in_child() -> None:
    """A process forked from this one (``multiprocessing``'s default start on Linux) starts with no fit and no timer."""
    global _FITS
    _FITS = _Fits()


os.register_at_fork(after_in_child=_forget_fits_in_child)


def shared_pool(memory_limit: int) -> WorkerPool:
    """The process-wide pool for a memory limit, created on first use."""
    pool = _SHARED.get(memory_limit)
    if pool is None:
        pool = _SHARED[memory_limit] = WorkerPool(memory_limit)
    return pool


@contextlib.contextmanager
def worker_pool(memory_limit: int, n: int) -> Iterator[WorkerPool]:
    """The pool for one fit, with ``n`` workers booting as it starts.

    The process-wide pool, whose workers outlive the fit (up to ``n``; forked
    ones that grew are killed after it, see :meth:`WorkerPool.release`, and
    the others :data:`IDLE_SECONDS` after the last fit, with the zygote); a
    private one, closed after, when another fit in this process holds the
    shared pool.
    """
    _FITS.started()
    try:
        pool = shared_pool(memory_limit)
        private = not pool.lock.acquire(blocking=False)
        if private:
            pool = WorkerPool(memory_limit)
        try:
            count_physical_cores()
            pool.ensure(n)  # start booting now, while the data is checked
            yield pool
        finally:
            if private:
                pool.close()
            else:
                pool.sweep()
                pool.release(n)
                pool.lock.release()
    finally:
        _FITS.ended()


def n_cpus() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def memory_total() -> int:
    """Bytes of memory of the machine (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 0


#: ``memory_limit="auto"``: the workers share this part of the machine's memory ...
AUTO_MEMORY_SHARE = 0.8
#: ... and each may use at least this many bytes
MIN_MEMORY_LIMIT = 2 << 30


def auto_memory_limit(n_workers: int) -> int:
    """Address-space limit of each of ``n_workers`` workers for ``memory_limit="auto"`` (0: no limit known)."""
    total = memory_total()
    return int(max(MIN_MEMORY_LIMIT, AUTO_MEMORY_SHARE * total / n_workers)) if total else 0


def _close_all() -> None:
    for pool in _SHARED.values():
        pool.close()
    close_zygote()


atexit.register(_close_all)


def fatal(reply: Reply | None) -> bool:
    """A failure after which the worker exits (it ran out of memory): the pool must replace it."""
    return isinstance(reply, Failed) and reply.fatal


__all__ = ["Worker", "WorkerPool", "fatal", "auto_memory_limit", "memory_total", "n_cpus", "shared_pool", "worker_pool"]
