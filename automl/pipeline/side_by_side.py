"""An ensemble's members answered side by side: a few rows' member models on the cores this process may use.

On one row an ensemble's time is its members' models one after the other:
big boosted models walk thousands of trees in their own compiled code,
0.1-0.6 ms each, with Python's lock released. :class:`SideBySide` times
each member's model on every few-row call and, from the next call on,
hands the heaviest members whose models release Python's lock to helper
threads (one a core beyond the first) while the calling thread runs the
rest. Every member gets the very input and call it would get alone, so each
output is the same, and the ensemble adds them up in its own order. A
member that takes less than :data:`HANDOFF` is not worth a hand-off; with
one core (a search worker, or ``OMP_NUM_THREADS=1``) everything runs in the
calling thread.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

#: a share of members worth handing to another thread: seconds on their last calls (a hand-off itself costs
#: 60-85 us, and two threads walking trees at once slow each other down)
HANDOFF = 200e-6

#: (pid, threads, pool) of the helper threads; a forked child starts its own
_POOL: tuple[int, int, ThreadPoolExecutor] | None = None
_POOL_LOCK = threading.Lock()


def _helpers(n: int) -> ThreadPoolExecutor:
    """The process's pool of at least ``n`` helper threads."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL[0] != os.getpid() or _POOL[1] < n:
            # a smaller pool is not shut down: a call in another thread may still hand it work; its
            # threads end when it is collected
            _POOL = (os.getpid(), n, ThreadPoolExecutor(n, thread_name_prefix="automl-members"))
        return _POOL[2]


def cores() -> int:
    """The threads this process may use: OpenMP's count, so ``OMP_NUM_THREADS`` and ``threadpoolctl`` limits hold."""
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    return int(_openmp_effective_n_threads())


#: one member's call: its model's method and the input it gets
Job = tuple[Callable[[Any], Any], Any]
#: one member's outcome: (True, output) or (False, the exception it raised)
Outcome = tuple[bool, Any]


class SideBySide:
    """Runs an ensemble's members' few-row calls, the heaviest on helper threads.

    Parameters
    ----------
    n_members : int
        Members of the ensemble; :attr:`seconds` holds each one's time on its last call.
    """

    def __init__(self, n_members: int) -> None:
        self.seconds = [0.0] * n_members

    def run(self, jobs: Sequence[Job | None]) -> list[Outcome | None]:
        """Each job's outcome (None where there is no job), in the order of ``jobs``."""
        out: list[Outcome | None] = [None] * len(jobs)
        inline, *others = self.groups(jobs, cores())
        pending = []
        for group in others:
            try:
                pending.append(_helpers(len(others)).submit(self._run, jobs, group, out))
            except RuntimeError:  # the interpreter is shutting down: no new threads
                inline = inline + group
        self._run(jobs, inline, out)
        for future in pending:
            future.result()
        return out

    def groups(self, jobs: Sequence[Job | None], n_threads: int) -> list[list[int]]:
        """The members each thread runs, in order, the calling thread's first.

        Only a member whose call says it ``releases_gil`` (LightGBM's, whose
        trees are walked in its own code) is handed off, and only while the
        calling thread runs such members too: a member that works in Python,
        or in numpy on a few values, keeps Python's lock, and a helper needs
        it between its calls. So the members that release it are shared out,
        heaviest first to the least loaded thread; the calling thread runs its
        share first and the others after. A helper's share lighter than
        :data:`HANDOFF` stays with the calling thread. Before every member has
        been timed, all run in the calling thread.
        """
        todo = [i for i, job in enumerate(jobs) if job is not None]
        free = [i for i in todo if getattr(jobs[i][0], "releases_gil", False)]  # type: ignore[index]
        if n_threads < 2 or len(free) < 2 or any(self.seconds[i] <= 0.0 for i in todo):
            return [todo]
        shares: list[list[int]] = [[] for _ in range(min(n_threads, len(free)))]
        loads = [0.0] * len(shares)
        for i in sorted(free, key=lambda i: -self.seconds[i]):
            g = loads.index(min(loads))
            shares[g].append(i)
            loads[g] += self.seconds[i]
        inline, helped = shares[0], []
        for share, load in zip(shares[1:], loads[1:], strict=True):
            if load >= HANDOFF:
                helped.append(share)
            else:
                inline.extend(share)
        return [inline + [i for i in todo if i not in free], *helped]

    def _run(self, jobs: Sequence[Job | None], members: list[int], out: list[Outcome | None]) -> None:
        for i in members:
            start = time.perf_counter()
            out[i] = outcome(*jobs[i])  # type: ignore[misc]
            self.seconds[i] = time.perf_counter() - start


def outcome(call: Callable[[Any], Any], arg: Any) -> Outcome:
    """(True, ``call(arg)``), or (False, the exception it raised): the ensemble then runs the member's own path."""
    try:
        return True, call(arg)
    except Exception as exc:  # noqa: BLE001
        return False, exc


__all__ = ["HANDOFF", "SideBySide", "cores", "outcome"]
