# ruff: noqa: T201
"""Load test of the REST server: requests per second and latency over loopback HTTP, beside in-process predict.

The model is a model file (``--model FILE``) or fitted here on one of
scikit-learn's bundled tables (``--table breast_cancer|wine|diabetes``, offline).
A real server process (``automl.deploy.serve.serve``) is started on a free
loopback port, then ``--concurrency`` client threads (one keep-alive httpx
client each) send pre-encoded JSON bodies:

- single-row requests: up to ``--requests`` of them, for at most ``--seconds``;
- batches of ``--batch-rows`` rows: up to ``--batch-requests``, for at most ``--seconds``.

``--runtime onnx`` serves through ONNX Runtime (see ``automl.deploy.runtimes``).

Each phase prints requests and rows per second and the median and 99th
percentile latency seen by the client. In this process, for comparison:
``model.predict`` on a one-row DataFrame and on one batch, and the server's
whole handler without HTTP (JSON body -> validation -> DataFrame -> predict and
predict_proba -> response dict) on one row and on one batch.

Usage::

    python benchmarks/serve_load.py --table breast_cancer --budget 10 --requests 2000 --seconds 20 --concurrency 4

The client threads and the server share the machine: on few cores the numbers
are a floor, not the server's capacity.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

TABLES = ("breast_cancer", "wine", "diabetes")


# -- the model and its rows -----------------------------------------------------------------------------------
def fit_table(name: str, budget: float, folder: Path) -> tuple[Path, pd.DataFrame]:
    """Fit AutoML on a bundled scikit-learn table; the model file and the table's rows."""
    from sklearn import datasets

    from automl import AutoML

    X, y = getattr(datasets, f"load_{name}")(return_X_y=True, as_frame=True)
    print(f"fitting on {name} ({X.shape[0]} rows, {X.shape[1]} columns) for {budget:g}s ...", flush=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoML(time_budget=budget, random_state=0, verbose=0).fit(X, y)
    path = folder / f"{name}.automl"
    model.save(path)
    return path, X


def json_records(X: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON records: null for missing, ISO strings for dates, seconds for durations."""

    def cell(v: Any) -> Any:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            return None
        if isinstance(v, pd.Timestamp):
            return v.isoformat()
        if isinstance(v, pd.Timedelta):
            return v.total_seconds()
        return v.item() if isinstance(v, np.generic) else v

    return [{c: cell(v) for c, v in zip(X.columns, row, strict=True)} for row in X.itertuples(index=False)]


def profile_records(profile: dict[str, Any], n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Random records drawn from a model's training profile (for ``--model`` without ``--table``)."""
    rng = np.random.default_rng(seed)
    columns: dict[str, list[Any]] = {}
    for name, c in profile["table"]["columns"].items():
        if c["kind"] == "drop":
            continue
        if c.get("type") == "categorical":
            values = list(c["shares"]) or ["x"]
            columns[name] = list(rng.choice(values, size=n))
        elif c.get("source") == "bool":
            columns[name] = [bool(v) for v in rng.random(n) < 0.5]
        else:
            cdf = np.asarray(c.get("cdf") or [0.0])
            drawn = rng.choice(cdf, size=n)
            if c["kind"] == "datetime":
                columns[name] = [pd.Timestamp(v, unit="s").isoformat() for v in drawn]
            else:
                columns[name] = [float(v) for v in drawn]
    return [{k: v[i] for k, v in columns.items()} for i in range(n)]


# -- the server -----------------------------------------------------------------------------------------------
def start_server(model: Path, workers: int, runtime: str = "sklearn") -> tuple[subprocess.Popen[bytes], str]:
    """``serve`` in a subprocess on a free loopback port, once it answers ``/health``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    options = {"port": port, "workers": workers, "log_level": "warning", "runtime": runtime}
    code = f"from automl.deploy.serve import serve; serve({str(model)!r}, **{options!r})"
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
    stop_server(process)
    raise SystemExit("the server did not start within 120 s")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


# -- measuring ------------------------------------------------------------------------------------------------
@dataclass
class Result:
    label: str
    rows_per_call: int
    seconds: list[float]
    wall: float
    errors: int = 0

    def line(self) -> str:
        n = len(self.seconds)
        if not n:
            return f"{self.label:<42} no call finished"
        ms = 1e3 * np.asarray(self.seconds)
        per_s = n / self.wall
        return (
            f"{self.label:<42} {n:>8} {per_s:>9.1f} {per_s * self.rows_per_call:>10.0f} "
            f"{statistics.median(ms):>8.2f} {np.quantile(ms, 0.99):>8.2f} {self.errors:>6}"
        )


HEADER = f"{'':<42} {'calls':>8} {'calls/s':>9} {'rows/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"


def http_load(url: str, bodies: list[bytes], rows: int, args: argparse.Namespace, label: str, count: int) -> Result:
    """Send up to ``count`` bodies from ``args.concurrency`` threads for at most ``args.seconds``."""
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=120) as warm:
        for body in bodies[:3]:
            warm.post("/predict", content=body, headers=headers).raise_for_status()
    calls = itertools.count()
    deadline = time.monotonic() + args.seconds

    def client() -> tuple[list[float], int]:
        times, errors = [], 0
        with httpx.Client(base_url=url, timeout=120) as c:
            while time.monotonic() < deadline and (i := next(calls)) < count:
                t0 = time.perf_counter()
                response = c.post("/predict", content=bodies[i % len(bodies)], headers=headers)
                times.append(time.perf_counter() - t0)
                errors += response.status_code != 200
        return times, errors

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.concurrency) as pool:
        done = list(pool.map(lambda _: client(), range(args.concurrency)))
    wall = time.perf_counter() - start
    return Result(label, rows, [t for times, _ in done for t in times], wall, sum(e for _, e in done))


def in_process(call: Any, items: list[Any], count: int, seconds: float, label: str, rows: int) -> Result:
    """Time ``call(item)`` over up to ``count`` items, for at most ``seconds``."""
    for item in items[:3]:
        call(item)
    times: list[float] = []
    start = time.perf_counter()
    for i in range(count):
        if time.perf_counter() - start > seconds:
            break
        t0 = time.perf_counter()
        call(items[i % len(items)])
        times.append(time.perf_counter() - t0)
    return Result(label, rows, times, time.perf_counter() - start)


def run(args: argparse.Namespace, model_path: Path, records: list[dict[str, Any]]) -> list[Result]:
    from automl.deploy.serve import create_app

    app = create_app(model_path, runtime=args.runtime)  # the same code the server runs, here in process
    served = app.state.served
    model = served.model
    print(
        f"model: {model_path.name} ({served.task}, {len(served.schema.columns)} columns, "
        f"{served.metadata['final_model']}); runtime {args.runtime}; server: {args.workers} worker(s); "
        f"{args.concurrency} client threads",
        flush=True,
    )
    singles = [json.dumps(r).encode() for r in records[:500]]
    batch_records = [records[i % len(records)] for i in range(args.batch_rows)]
    batches = [json.dumps(batch_records[i:] + batch_records[:i]).encode() for i in range(0, 50, 10)]
    frames = [served.schema.frame(served.schema.validate([r], True)) for r in records[:500]]
    batch_frame = served.schema.frame(served.schema.validate(batch_records, False))
    results = [
        in_process(model.predict, frames, args.requests, args.seconds, "in-process predict, 1 row", 1),
        in_process(served.predict, singles, args.requests, args.seconds, "in-process handler, 1 row (no HTTP)", 1),
    ]
    label = f"in-process predict, {args.batch_rows} rows"
    results.append(in_process(model.predict, [batch_frame], args.batch_requests, args.seconds, label, args.batch_rows))
    label = f"in-process handler, {args.batch_rows} rows (no HTTP)"
    results.append(in_process(served.predict, batches, args.batch_requests, args.seconds, label, args.batch_rows))
    process, url = start_server(model_path, args.workers, args.runtime)
    try:
        results.append(http_load(url, singles, 1, args, "HTTP /predict, 1 row", args.requests))
        label = f"HTTP /predict, {args.batch_rows} rows"
        results.append(http_load(url, batches, args.batch_rows, args, label, args.batch_requests))
    finally:
        stop_server(process)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", type=Path, help="a model file (rows drawn from its training profile)")
    source.add_argument("--table", choices=TABLES, default="breast_cancer", help="fit on this bundled table")
    parser.add_argument("--budget", type=float, default=10.0, help="time budget of the fit, in seconds")
    parser.add_argument("--requests", type=int, default=2000, help="single-row requests at most")
    parser.add_argument("--batch-requests", type=int, default=100, help="batch requests at most")
    parser.add_argument("--batch-rows", type=int, default=1000, help="rows per batch request")
    parser.add_argument("--seconds", type=float, default=20.0, help="time cap of each phase")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--runtime", choices=("sklearn", "onnx"), default="sklearn", help="the server's runtime")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.model is not None:
            from automl.deploy.persist import read_metadata

            path, records = args.model, profile_records(read_metadata(args.model)["profile"], 1000)
        else:
            path, X = fit_table(args.table, args.budget, Path(tmp))
            records = json_records(X)
        results = run(args, path, records)
    print(HEADER)
    for result in results:
        print(result.line())


if __name__ == "__main__":
    main()
