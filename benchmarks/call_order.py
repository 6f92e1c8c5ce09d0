"""Saved fits answer every call as a fresh copy's first call does, whatever calls came before.

The fast prediction paths keep state between calls: the lean forms found on
the first call, each member's timings, LightGBM's single-row predictors and
blocks of trees, helper threads. None of it may change an answer. For each
fit saved by ``latency.py --save DIR`` (a joblib file of ``(model, X_test,
task)``), one long-lived copy answers a sequence of inputs drawn from the
test rows (single rows, a few rows, batches above and below each threshold,
the whole set forwards and reversed), through ``AutoML`` and through
``best_pipeline_``; each answer is compared, bit for bit, with a fresh copy's
first call (the pipelines' own path, before any lean form exists).

Usage::

    python benchmarks/call_order.py runs/models10/*.joblib

Exits with status 1 if any answer differs, and prints where.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import pickle
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

#: rows of each call, in order: around the few-row limit (32), the blocks' (256), the whole set
SIZES = [1, 1, 2, 31, 32, 33, 1, 255, 256, 257, 1, 300, 0, 1, 1, 64, 0, 5, 1]


def differences(path: Path, seed: int = 0) -> list[str]:
    """Where the long-lived copy of the fit in ``path`` answers otherwise than a fresh copy; empty if nowhere."""
    import joblib

    model, X, task = joblib.load(path)
    blob = pickle.dumps(model)
    method = "predict" if task == "regression" else "predict_proba"
    rng = np.random.default_rng(seed)
    found = []
    for k, size in enumerate(SIZES):
        if 0 < size < len(X):
            rows = rng.choice(len(X), size=size, replace=False)
        else:  # the whole set, forwards and reversed in turn
            rows = np.arange(len(X)) if k % 2 else np.arange(len(X))[::-1]
        X_call = X.iloc[rows]
        expected = _bytes(getattr(pickle.loads(blob), method)(X_call))
        for label, target in (("AutoML", model), ("best_pipeline_", model.best_pipeline_)):
            if _bytes(getattr(target, method)(X_call)) != expected:
                found.append(f"call {k} ({len(rows)} rows) through {label}")
    return found


def _bytes(a: Any) -> tuple[tuple[int, ...], str, bytes]:
    a = np.asarray(a)
    return a.shape, a.dtype.str, a.tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="fits saved by latency.py --save")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    failed = False
    for path in args.paths:
        start = time.perf_counter()
        found = differences(path, args.seed)
        failed |= bool(found)
        status = "differs: " + "; ".join(found[:6]) if found else "same answers"
        print(f"{path.stem}: {status} ({len(SIZES)} calls, {time.perf_counter() - start:.0f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
