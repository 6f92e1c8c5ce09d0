"""The machine's physical cores, counted once while the process is small."""

from __future__ import annotations


def count_physical_cores() -> int:
    """Have joblib count the physical cores now, and return the count.

    LightGBM and scikit-learn ask joblib for it, which runs ``lscpu`` the first
    time in each process. Asked first after a fit, the child starts as a copy of
    the process at its largest: the first ``predict`` waits for it, and
    ``getrusage`` counts the process's peak again for the child. Asked at the
    start of a fit (and in the zygote, whose forks inherit the answer), it costs
    neither.
    """
    import joblib

    return joblib.cpu_count(only_physical_cores=True)
