# ruff: noqa: T201
"""What the progress bar costs a search: the same fits with ``verbose=0`` (no bar) and ``verbose=1`` (bar).

Each fit runs a fixed number of short trials (``time_budget=None``,
``max_trials``) on scikit-learn's breast cancer table, so the wall time of a fit
is the measure: the runs alternate between the two settings, and the script
prints the median wall time of each and their ratio. The bar writes to a
string buffer instead of the terminal, and the log is silenced, so only the
bar's own work (recording trials, the redraw thread) is compared.

Usage::

    python benchmarks/progress_overhead.py --trials 60 --repeats 7
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import time
from unittest import mock

from sklearn.datasets import load_breast_cancer

from automl import AutoML
from automl.report import progress


def fit_seconds(verbose: int, trials: int, X, y) -> float:
    start = time.perf_counter()
    AutoML(
        time_budget=None, max_trials=trials, include=["linear", "knn"], n_jobs=2, random_state=0, verbose=verbose
    ).fit(X, y)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    logging.getLogger("automl").addHandler(logging.NullHandler())  # no log lines on stderr
    logging.getLogger("automl").propagate = False
    buffer = io.StringIO()
    bar = progress.ProgressBar
    times: dict[int, list[float]] = {0: [], 1: []}
    with mock.patch.object(progress, "ProgressBar", lambda *a, **k: bar(*a, **{**k, "file": buffer})):
        fit_seconds(0, 5, X, y)  # warm up: imports, the first worker pool
        for _ in range(args.repeats):
            for verbose in (0, 1):
                times[verbose].append(fit_seconds(verbose, args.trials, X, y))
    off, on = statistics.median(times[0]), statistics.median(times[1])
    print(f"{args.trials} trials per fit, {args.repeats} fits each, alternating")
    print(f"verbose=0 (no bar): median {off:.3f} s  {[round(t, 3) for t in times[0]]}")
    print(f"verbose=1 (bar):    median {on:.3f} s  {[round(t, 3) for t in times[1]]}")
    print(f"ratio bar / no bar: {on / off:.3f}; the bar drew {buffer.getvalue().count(chr(13))} frames")


if __name__ == "__main__":
    main()
