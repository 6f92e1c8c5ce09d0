"""How automl scales with the rows of a table: fit time, budget kept, peak memory and ROC AUC beside untuned HGB.

For each row count N (default 10^4, 10^5, 10^6) a mixed binary table of N rows
x 50 columns is generated (``make_table``, deterministic in N and ``--seed``):

- 40 numeric columns ``x0`` .. ``x39``: ``x0`` .. ``x11`` informative (linear
  terms, an interaction and a sine), ``x12`` .. ``x15`` correlated copies of
  informative ones, the rest noise; ``x8`` .. ``x19`` have 5 % to 30 % missing
  values (the target was drawn from the values before they went missing);
- 10 categorical columns ``c0`` .. ``c9`` with 5 to 35 levels each, ``c0`` ..
  ``c4`` as pandas ``category``, ``c5`` .. ``c9`` as strings (object), 5 %
  missing in ``c9``; ``c0``, ``c1``, ``c5`` and ``c6`` move the target;
- the target, 0 or 1, drawn from the logistic of the sum of those effects.

The last 20 % of the rows (50,000 at most) are held out. On the others, each
in a fresh process (this script with ``--one``) so that its peak is its own:

- ``automl``: ``AutoML(time_budget=B, n_jobs=-1, random_state=S, verbose=0)``;
- ``hgb``: untuned ``HistGradientBoostingClassifier`` on all training rows,
  non-numeric columns ordinal-encoded and declared categorical (the pipeline
  of ``compare.py``).

Printed per N: fit seconds (``fit_seconds_`` for automl, wall time for hgb),
the budget ratio (automl's fit seconds / budget; above 1 the budget was
overrun), the peak memory of the fitting process and all its descendants
(proportional set size, resident size in brackets, sampled every 0.1 s from
``/proc`` with ``memory.tree_memory``; the generated table is included: the
process's PSS before the fit, with the table generated and the framework
imported, is the ``MB before fit`` column), the test ROC AUC of both and
whether automl beat hgb.

Usage::

    python benchmarks/scale.py --budget 120 --out runs/scale.jsonl
    python benchmarks/scale.py --rows 2000 5000 --budget 8

A million rows need several GB of memory for automl's workers; the machine's
cores are all used (``n_jobs=-1``), so run it on a quiet machine.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import _describe  # noqa: E402
from memory import tree_memory  # noqa: E402
from records import emit, run_json

FRAMEWORKS = ("automl", "hgb")
N_NUMERIC, N_CATEGORICAL = 40, 10
#: the levels of c0 .. c9
LEVELS = [int(v) for v in np.linspace(5, 35, N_CATEGORICAL).round()]
TEST_SHARE, MAX_TEST_ROWS = 0.2, 50_000


def make_table(n: int, seed: int) -> tuple[Any, Any]:
    """A mixed table of ``n`` rows x 50 columns and its binary target (see the module's docstring)."""
    import pandas as pd

    rng = np.random.default_rng([seed, n])
    num = rng.standard_normal((n, N_NUMERIC))
    num[:, 12:16] = num[:, [0, 1, 2, 3]] + 0.5 * rng.standard_normal((n, 4))  # correlated copies
    codes = [rng.integers(0, k, size=n) for k in LEVELS]
    effects = {j: rng.normal(0.0, 0.8, size=LEVELS[j]) for j in (0, 1, 5, 6)}
    weights = np.array([1.0, -0.8, 0.6, 0.5, -0.5, 0.4, 0.3, -0.3, 0.4, -0.4, 0.3, 0.25])
    logit = num[:, :12] @ weights + 0.5 * num[:, 0] * num[:, 1] + 0.8 * np.sin(2 * num[:, 2])
    logit += sum(effects[j][codes[j]] for j in effects) - 0.8
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    for j, share in zip(range(8, 20), np.linspace(0.05, 0.30, 12), strict=True):  # missing after the target is drawn
        num[rng.random(n) < share, j] = np.nan
    X = pd.DataFrame(num, columns=[f"x{j}" for j in range(N_NUMERIC)])
    for j, (k, c) in enumerate(zip(LEVELS, codes, strict=True)):
        labels = np.array([f"c{j}_{i:02d}" for i in range(k)], dtype=object)
        if j < N_CATEGORICAL // 2:
            X[f"c{j}"] = pd.Categorical.from_codes(c, categories=labels)
        else:
            values = labels[c]
            if j == N_CATEGORICAL - 1:
                values[rng.random(n) < 0.05] = None
            X[f"c{j}"] = values
    return X, pd.Series(y, name="y")


def split(n: int, seed: int) -> tuple[Any, Any, Any, Any]:
    """The table of ``n`` rows: its training rows, then the last 20 % (at most 50,000) held out."""
    X, y = make_table(n, seed)
    n_test = min(MAX_TEST_ROWS, int(round(TEST_SHARE * n)))
    cut = n - n_test
    return X.iloc[:cut], X.iloc[cut:], y.iloc[:cut], y.iloc[cut:]


def run_one(framework: str, n: int, budget: float, seed: int) -> dict:
    """Generate the table, fit ``framework`` on its training rows in this process, and measure the fit."""
    warnings.filterwarnings("ignore")
    from sklearn.metrics import roc_auc_score

    peak = {"rss": 0, "pss": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            rss, pss = tree_memory(os.getpid())
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            done.wait(0.1)

    X_train, X_test, y_train, y_test = split(n, seed)
    if framework == "automl":
        from automl import AutoML
    elif framework == "hgb":
        from compare import _fit
        from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: F401  (imported before the timing)
    else:
        raise ValueError(f"unknown framework {framework!r}")
    _, data_pss = tree_memory(os.getpid())
    threading.Thread(target=sample, daemon=True).start()
    t0 = time.perf_counter()
    if framework == "automl":
        model = AutoML(time_budget=budget, n_jobs=-1, random_state=seed, verbose=0).fit(X_train, y_train)
        fit_s = model.fit_seconds_
        extra = {"budget_ratio": round(fit_s / budget, 3), "metric": model.metric_, "best_cv": model.best_score_}
        extra["final"] = _describe(model)
        extra["statuses"] = model.leaderboard_["status"].value_counts().to_dict()
    else:
        model, _ = _fit("hgb", X_train, y_train, "binary", budget, seed)
        fit_s = time.perf_counter() - t0
        extra = {}
    wall = time.perf_counter() - t0
    proba = model.predict_proba(X_test)[:, list(model.classes_).index(1)]
    auc = roc_auc_score(y_test, proba)
    done.set()
    return {
        "framework": framework,
        "rows": n,
        "rows_train": len(X_train),
        "rows_test": len(X_test),
        "budget": budget,
        "seed": seed,
        "fit_s": round(fit_s, 2),
        "wall_s": round(wall, 2),
        "test_auc": auc,
        "data_pss_mb": round(data_pss / 2**20),
        "tree_pss_mb": round(peak["pss"] / 2**20),
        "tree_rss_mb": round(peak["rss"] / 2**20),
        **extra,
    }


def measure(framework: str, n: int, budget: float, seed: int, timeout: float) -> dict:
    """``run_one`` in a fresh process; its record, or one with an ``error``."""
    cmd = [sys.executable, __file__, "--one", framework, str(n), "--budget", str(budget), "--seed", str(seed)]
    return run_json(cmd, {"framework": framework, "rows": n, "budget": budget, "seed": seed}, timeout)


def markdown(records: list[dict]) -> str:
    """One row per row count: automl beside hgb."""
    by = {(r["rows"], r["framework"]): r for r in records}
    lines = [
        "| rows | MB before fit (automl / hgb) | automl fit s | budget ratio | automl final "
        "| automl peak MB, PSS (RSS) | hgb fit s | hgb peak MB, PSS (RSS) | automl AUC | hgb AUC | automl beat hgb |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in dict.fromkeys(r["rows"] for r in records):
        a, h = by.get((n, "automl"), {}), by.get((n, "hgb"), {})
        cells = [f"{n:,}", " / ".join(f"{r['data_pss_mb']:,}" if "data_pss_mb" in r else "-" for r in (a, h))]
        cells += [f"{a['fit_s']:.1f}", f"{a['budget_ratio']:.2f}", a["final"]] if "fit_s" in a else ["ERR", "-", "-"]
        cells.append(f"{a['tree_pss_mb']:,} ({a['tree_rss_mb']:,})" if "tree_pss_mb" in a else "-")
        cells.append(f"{h['fit_s']:.1f}" if "fit_s" in h else "ERR")
        cells.append(f"{h['tree_pss_mb']:,} ({h['tree_rss_mb']:,})" if "tree_pss_mb" in h else "-")
        aucs = [r.get("test_auc") for r in (a, h)]
        cells += [f"{v:.4f}" if v is not None else "ERR" for v in aucs]
        if None in aucs:
            cells.append("-")
        else:
            cells.append(f"{'yes' if aucs[0] > aucs[1] else 'no'} ({aucs[0] - aucs[1]:+.4f})")
        lines.append(f"| {' | '.join(cells)} |")
    for r in records:
        if "error" in r:
            lines.append(f"\n{r['framework']} on {r['rows']:,} rows: {r['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10**4, 10**5, 10**6], help="row counts N")
    parser.add_argument("--budget", type=float, default=120.0, help="seconds for each automl fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frameworks", nargs="*", default=list(FRAMEWORKS), choices=list(FRAMEWORKS))
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before a fit's process is killed")
    parser.add_argument("--out", type=Path, help="append one JSON line per fit")
    parser.add_argument("--one", nargs=2, metavar=("FRAMEWORK", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one is not None:  # a single fit, in the process ``measure`` started
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.budget, args.seed)))
        return 0
    records = []
    for n in args.rows:
        for framework in args.frameworks:
            emit(measure(framework, n, args.budget, args.seed, args.timeout), records, args.out)
    print(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
