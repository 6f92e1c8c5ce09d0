"""automl.workers.pool: killable worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from automl.workers.pool import WorkerPool
from automl.workers.protocol import Exit, Failed, Job


def wait_ready(pool: WorkerPool, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not all(w.ready for w in pool.workers):
        assert time.monotonic() < end, "workers did not start"
        pool.poll(0.2)


@pytest.fixture(params=["fork", "spawn"])
def pool(request, monkeypatch):
    """A pool whose workers are forked by the zygote, or started as fresh interpreters."""
    if request.param == "spawn":
        monkeypatch.setenv("AUTOML_WORKER_START", "spawn")
    p = WorkerPool(memory_limit=0)
    yield p
    p.close()


def test_workers_are_forked_by_the_zygote_unless_told_otherwise(pool):
    pool.ensure(1)
    wait_ready(pool)
    (worker,) = pool.workers
    forked = os.environ.get("AUTOML_WORKER_START") != "spawn"
    assert isinstance(worker.proc, subprocess.Popen) is not forked
    if forked:  # the zygote, not this process, is the worker's parent
        assert worker.proc.pid not in _children()


def _children() -> set[int]:
    try:
        with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except OSError:  # pragma: no cover - no procfs
        return set()


def test_a_worker_that_crashes_is_reported_with_its_signal(pool):
    pool.ensure(1)
    wait_ready(pool)
    (worker,) = pool.workers
    os.kill(worker.proc.pid, signal.SIGSEGV)
    events = []
    end = time.monotonic() + 10
    while not events and time.monotonic() < end:
        events = pool.poll(0.5)
    assert events == [(worker, None)]
    assert worker.exit_reason().startswith("the worker process was killed by SIGSEGV")


def test_a_busy_worker_that_dies_is_reported_even_after_the_pool_replaced_it(pool):
    pool.ensure(1)
    wait_ready(pool)
    (worker,) = pool.workers
    worker.job = Job("trial", 7)
    os.kill(worker.proc.pid, signal.SIGABRT)
    end = time.monotonic() + 10
    while worker.proc.poll() is None:  # the pool learns of the exit before reading the worker's socket
        assert time.monotonic() < end, "the worker did not die"
        time.sleep(0.05)
    pool.ensure(1)  # a search tops the pool up on every turn, before it polls
    assert worker in pool.workers and len(pool.workers) == 2  # replaced, and still listed
    events = []
    while not events and time.monotonic() < end:
        events = [e for e in pool.poll(0.5) if e[0] is worker]
    assert events == [(worker, None)]  # so its trial is failed now, not when its time runs out
    pool.kill(worker)
    worker.job = None
    pool.ensure(1)
    assert worker not in pool.workers and len(pool.workers) == 1


def test_a_memory_limit_stops_a_greedy_worker_not_the_parent(pool):
    pool.memory_limit = 1 << 30
    pool.ensure(1)
    wait_ready(pool)
    (worker,) = pool.workers
    with open(f"/proc/{worker.proc.pid}/limits") as fh:
        limits = fh.read()
    assert "Max address space" in limits and str(1 << 30) in limits


def test_start_kill_and_exit_reason(pool):
    pool.ensure(2)
    assert len(pool.workers) == 2
    wait_ready(pool)
    first, second = pool.workers
    assert first.proc.poll() is None and not first.busy

    pool.kill(first)
    assert first not in pool.workers
    assert first.proc.poll() == -signal.SIGKILL
    assert first.exit_reason().startswith("the worker process was killed by SIGKILL")

    # a worker that dies on its own is reported by poll, then replaced by ensure
    os.kill(second.proc.pid, signal.SIGTERM)
    events = []
    end = time.monotonic() + 10
    while not events and time.monotonic() < end:
        events = pool.poll(0.5)
    assert events == [(second, None)]
    assert "killed by SIGTERM" in second.exit_reason()
    pool.ensure(1)
    assert len(pool.workers) == 1 and pool.workers[0] is not second


def test_requests_unknown_then_exit(pool):
    pool.ensure(1)
    wait_ready(pool)
    (worker,) = pool.workers
    assert pool.send(worker, "bogus")
    ((w, msg),) = pool.poll(10.0)
    assert w is worker
    assert msg == Failed(job=-1, error="unknown request 'bogus'")

    assert pool.send(worker, Exit())
    assert worker.proc.wait(timeout=10) == 0
    assert worker.exit_reason().startswith("the worker process exited with code 0")


def test_shrink_kills_idle_workers_only(pool):
    pool.ensure(3)
    pool.workers[0].job = Job("trial", 1)
    pool.shrink(1)
    assert len(pool.workers) == 1
    assert pool.workers[0].job == Job("trial", 1)


def test_free_idle_kills_the_idle_forked_workers_only(pool):
    pool.ensure(3)
    wait_ready(pool)
    busy, *idle = pool.workers
    busy.job = Job("refit", 1)
    freed = pool.free_idle()
    if os.environ.get("AUTOML_WORKER_START") == "spawn":  # seconds each to start again: kept
        assert freed == 0 and len(pool.workers) == 3
    else:
        assert freed == 2 and pool.workers == [busy]
        assert all(w.proc.wait(5) is not None for w in idle)
        assert busy.proc.poll() is None


def test_release_after_a_fit_kills_forked_workers_that_grew_and_keeps_the_rest(pool):
    from automl.workers.pool import KEEP_GROWTH

    pool.ensure(4)
    wait_ready(pool)
    busy, grown, unknown, lean = pool.workers
    busy.job = Job("refit", 1)
    busy.resident_at_ready = grown.resident_at_ready = 1  # as if each had grown by its whole size since
    unknown.resident_at_ready = 0
    assert lean.resident_at_ready > KEEP_GROWTH  # measured when it said ready: a whole interpreter
    pool.release(3)
    if os.environ.get("AUTOML_WORKER_START") == "spawn":  # each costs seconds to start again: three stay
        assert len(pool.workers) == 3 and busy in pool.workers
    else:  # a fork is ready again in milliseconds: the idle one that grew (or may have) goes
        assert pool.workers == [busy, lean]
        assert grown.proc.wait(5) is not None and unknown.proc.wait(5) is not None
        assert lean.proc.poll() is None


def test_a_worker_gives_freed_memory_back_to_the_system():
    from automl.workers import memory
    from automl.workers.main import TRIM_GROWTH, _Trim

    if memory._TRIM is None or not memory.resident_bytes():  # pragma: no cover - not glibc, or no procfs
        pytest.skip("malloc_trim or /proc/self/statm unavailable")
    trim = _Trim()
    chunks = [bytearray(4096) for _ in range(3 * TRIM_GROWTH // 4096)]  # small blocks: the heap, not mmap
    grown = memory.resident_bytes()
    keep = chunks[-1]  # the heap's top stays in use: only trimming gives the pages below it back
    del chunks
    assert memory.resident_bytes() > grown - TRIM_GROWTH  # freed, yet still resident
    trim()
    assert memory.resident_bytes() < grown - 2 * TRIM_GROWTH
    assert trim.after == pytest.approx(memory.resident_bytes(), abs=TRIM_GROWTH)
    assert len(keep) == 4096


def test_close_kills_everything(pool):
    pool.ensure(2)
    procs = [w.proc for w in pool.workers]
    pool.close()
    assert pool.workers == []
    assert all(p.poll() is not None for p in procs)


def test_a_fitted_file_tells_its_size_until_it_is_read(tmp_path):
    import cloudpickle

    from automl.workers.protocol import Fitted, FittedFile

    path = tmp_path / "fitted-1.pkl"
    path.write_bytes(cloudpickle.dumps({"model": list(range(1000))}))
    fitted = FittedFile(Fitted(1, str(path), 0.5, None))
    assert fitted.size() == path.stat().st_size > 0
    assert fitted.load() == {"model": list(range(1000))}
    assert fitted.size() == 0 and not path.exists()


def _zygote_alive() -> bool:
    from automl.workers import zygote

    z = zygote._ZYGOTE.zygote
    return z is not None and not z.dead and z.proc.poll() is None


def test_idle_workers_and_the_zygote_go_some_time_after_the_last_fit(monkeypatch, breast_cancer):
    from automl import AutoML
    from automl.workers import pool as pools
    from automl.workers.zygote import forked

    monkeypatch.setattr(pools, "IDLE_SECONDS", 0.5)
    X, y = breast_cancer
    AutoML(time_budget=5, max_trials=3, n_jobs=2, random_state=0, verbose=0).fit(X, y)
    shared = [w for p in pools._SHARED.values() for w in p.workers if forked(w.proc)]
    assert shared and _zygote_alive()  # kept warm for a next fit ...
    pools._FITS.started()  # ... and while one runs, whatever its length
    time.sleep(1.0)
    assert all(w.proc.poll() is None for w in shared) and _zygote_alive()
    direct = WorkerPool(memory_limit=0)  # a pool outside any fit, in use
    try:
        direct.ensure(1)
        wait_ready(direct)
        pools._FITS.ended()
        time.sleep(1.0)
        assert not [w for p in pools._SHARED.values() for w in p.workers if forked(w.proc)]
        assert all(w.proc.wait(5) is not None for w in shared)
        assert _zygote_alive() and direct.workers[0].proc.poll() is None  # not while a pool holds a fork of it
    finally:
        direct.close()
    pools._FITS.started()
    pools._FITS.ended()
    time.sleep(1.0)
    assert not _zygote_alive()  # nothing uses it any more
    again = WorkerPool(memory_limit=0)  # the next pool gets a new one
    try:
        again.ensure(1)
        wait_ready(again)
        assert forked(again.workers[0].proc) and _zygote_alive()
    finally:
        again.close()


def test_a_forked_child_starts_with_no_fit_and_no_timer():
    from automl.workers import pool as pools

    pools._FITS.started()
    try:
        pid = os.fork()
        if pid == 0:  # the child: a fit it starts and ends must schedule its own clean-up
            fits = pools._FITS
            fits.started()
            fits.ended()
            os._exit(0 if fits.running == 0 and fits.timer is not None else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        pools._FITS.ended()


def _ready_worker(pool):
    pool.ensure(1)
    wait_ready(pool)
    return pool.workers[0]


def test_a_ctrl_c_as_a_request_is_sent_comes_after_the_whole_request(pool, monkeypatch):
    from multiprocessing.connection import Connection

    worker = _ready_worker(pool)
    real = Connection._send
    calls = []

    def send(self, buf, *args):  # Ctrl-C as the first part (the header) goes out
        calls.append(len(buf))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return real(self, buf, *args)

    monkeypatch.setattr(Connection, "_send", send)
    with pytest.raises(KeyboardInterrupt):
        pool.send(worker, b"x" * 100_000)  # not a request: answered with a failure, if it arrives whole
    monkeypatch.setattr(Connection, "_send", real)
    assert len(calls) == 2  # header and body both went out before the interrupt
    replies = []
    end = time.monotonic() + 30
    while not replies and time.monotonic() < end:
        replies = pool.poll(0.5, [worker])
    assert replies and isinstance(replies[0][1], Failed) and "unknown request" in replies[0][1].error


def test_a_ctrl_c_as_replies_are_read_keeps_them_for_the_next_poll(pool, monkeypatch):
    worker = _ready_worker(pool)
    assert pool.send(worker, Job("nothing", 7))  # not a request: answered with a failure
    read = pool._read_from

    def read_then_ctrl_c(w):
        read(w)
        os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(pool, "_read_from", read_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        end = time.monotonic() + 30
        while time.monotonic() < end:
            assert pool.poll(0.5, [worker]) == []  # nothing returned before the interrupt
    monkeypatch.setattr(pool, "_read_from", read)
    replies = pool.poll(0.0, [worker])  # the reply read as Ctrl-C came, at once
    assert len(replies) == 1 and isinstance(replies[0][1], Failed)
