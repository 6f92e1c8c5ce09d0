"""The machine's physical cores, counted once while the process is small."""

from __future__ import annotations


def count_physical_cores() -> int:
    """Have joblib count the physical cores now, and return the count.

    scikit-learn (kNN, HistGradientBoosting) asks joblib for it, which runs
    ``lscpu`` the first time in each process. Asked first after a fit, the
    child starts as a copy of the process at its largest: the first ``predict``
    waits for it, and ``getrusage`` counts the process's peak again for the
    child. Asked at the start of a fit, the child is counted at the process's
    size then; asked in the zygote, its forks inherit the answer.
    """
    import joblib

    return joblib.cpu_count(only_physical_cores=True)
