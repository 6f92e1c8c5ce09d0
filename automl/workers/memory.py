"""Memory a process holds, and handing freed memory back to the system.

A Python process frees its arrays and models when they go, but the C library
keeps the freed pages for later allocations: after a big job (a forest
fitted in a worker, the first call of a served model that builds its lean
form) the process keeps its size. ``malloc_trim`` (glibc) returns them;
elsewhere these functions do nothing.
"""

from __future__ import annotations

import contextlib
import gc
import os
from typing import Any


def resident_bytes(pid: int | None = None) -> int:
    """Bytes this process (or process ``pid``) holds in physical memory now (0 when unknown)."""
    try:
        with open(f"/proc/{'self' if pid is None else pid}/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _malloc_trim() -> Any:
    with contextlib.suppress(Exception):
        import ctypes

        return ctypes.CDLL(None).malloc_trim
    return None


_TRIM = _malloc_trim()


def give_back_memory() -> bool:
    """Collect garbage and hand the C library's freed pages back to the system; whether it could."""
    if _TRIM is None:
        return False
    with contextlib.suppress(Exception):  # clean-up never fails the work it follows
        gc.collect()
        _TRIM(0)
        return True
    return False


__all__ = ["give_back_memory", "resident_bytes"]
