"""The machine's physical cores, counted once, without starting a process where the system tells."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

#: where Linux describes its CPUs
SYSFS_CPUS = Path("/sys/devices/system/cpu")


def count_physical_cores() -> int:
    """Count the physical cores for joblib now, and return the count.

    scikit-learn (kNN, HistGradientBoosting) asks ``joblib.cpu_count(only_physical_cores=True)``,
    which runs ``lscpu`` the first time in each process. The kernel records
    a child that starts another program at the size of its parent then, so
    ``getrusage(RUSAGE_CHILDREN)`` (``/usr/bin/time``, benchmark harnesses)
    counted a process of this one's size for it: about 180 MB after importing
    scikit-learn. On Linux the count is read from sysfs instead (the same
    answer: one core per set of sibling threads among the online CPUs) and
    handed to joblib's cache; elsewhere, or when sysfs does not say, joblib
    counts as it does.
    """
    import joblib

    cores = physical_cores_from_sysfs() if sys.platform == "linux" else None
    if cores is not None:
        _seed_joblib_cache(cores)
    return joblib.cpu_count(only_physical_cores=True)


def physical_cores_from_sysfs(root: Path = SYSFS_CPUS) -> int | None:
    """Distinct sets of sibling threads among the online CPUs under ``root`` (None when unknown)."""
    try:
        online = _cpu_list((root / "online").read_text())
        siblings = set()
        for cpu in online:
            topology = root / f"cpu{cpu}" / "topology"
            path = topology / "core_cpus_list"
            if not path.exists():  # the name before Linux 5.7
                path = topology / "thread_siblings_list"
            siblings.add(frozenset(_cpu_list(path.read_text())))
    except (OSError, ValueError):
        return None
    return len(siblings) or None


def _cpu_list(text: str) -> list[int]:
    """The CPUs of a sysfs list such as ``0-3,8,10-11``."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        first, _, last = part.partition("-")
        cpus.extend(range(int(first), int(last or first) + 1))
    return cpus


def _seed_joblib_cache(cores: int) -> None:
    """Give joblib's vendored loky the count it would otherwise get from ``lscpu`` (kept if it has one)."""
    with contextlib.suppress(ImportError):
        from joblib.externals.loky.backend import context

        if getattr(context, "physical_cores_cache", "absent") is None:
            context.physical_cores_cache = cores
