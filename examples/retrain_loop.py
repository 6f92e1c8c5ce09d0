"""The deployment loop: fit, save, serve with a request log, detect drift in the traffic, refit, swap the model.

Everything runs on this machine, on loopback, with the ``automl`` command and
scikit-learn's bundled breast cancer table. The "shift" is a recalibrated
instrument: from some day on, three measurements arrive 40% larger.

Run from the repository root (about a minute)::

    python examples/retrain_loop.py
"""

# ruff: noqa: T201  (an example prints what it does)

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import automl
from automl import AutoML

BUDGET = 15  # seconds per fit
SHIFTED = ["mean radius", "mean perimeter", "mean area"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_file: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``automl serve`` in its own process; returns it and its address once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "automl", "serve", str(model_file), "--port", str(port), "--log", str(log)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return server, url
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the server for {model_file} did not start")


def send(url: str, rows: pd.DataFrame, batch: int = 50) -> list:
    """Post the rows in batches, as clients would; returns the predictions."""
    predictions = []
    for start in range(0, len(rows), batch):
        records = rows.iloc[start : start + batch].to_dict(orient="records")
        reply = httpx.post(f"{url}/predict", json=records, timeout=30)
        reply.raise_for_status()
        predictions += reply.json()["predictions"]
    return predictions


def drift_verdict(model_file: Path, log: Path) -> int:
    """``automl drift`` on the request log: its exit code is 1 when the traffic drifted."""
    result = subprocess.run([sys.executable, "-m", "automl", "drift", str(model_file), str(log)], check=False)
    return result.returncode


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    X, y = data.data, data.target.map({0: "malignant", 1: "benign"})
    X_old, X_new, y_old, y_new = train_test_split(X, y, test_size=0.5, random_state=0, stratify=y)
    shifted = X_new.assign(**{c: X_new[c] * 1.4 for c in SHIFTED})

    work = Path(tempfile.mkdtemp(prefix="automl-retrain-"))
    model_v1, model_v2 = work / "model-v1.automl", work / "model-v2.automl"
    print(f"1. fit on {len(X_old)} rows for {BUDGET}s and save to {model_v1}")
    AutoML(time_budget=BUDGET, random_state=0, verbose=0).fit(X_old, y_old).save(model_v1)

    log = work / "requests.jsonl"
    server, url = start_server(model_v1, log)
    try:
        print(f"2. serving at {url}; sending {len(shifted)} rows of shifted traffic, logged to {log}")
        predictions = send(url, shifted)
        accuracy = (pd.Series(predictions, index=shifted.index) == y_new).mean()
        print(f"   accuracy of the served model on the shifted traffic: {accuracy:.3f}")

        print("3. automl drift on the request log:")
        if drift_verdict(model_v1, log) == 0:
            print("   no drift: nothing to do")
            return
        print(f"4. drift: refit on the recent, labelled traffic ({len(shifted)} rows) and save {model_v2}")
        refit = AutoML(time_budget=BUDGET, random_state=0, verbose=0).fit(shifted, y_new)
        refit.save(model_v2)

        new_server, new_url = start_server(model_v2, work / "requests-v2.jsonl")
        print(f"5. swap: the new model answers at {new_url}; the old server stops")
        server.terminate()
        server = new_server
        check = automl.load(model_v2)
        predictions = send(new_url, shifted.head(100))
        assert predictions == list(check.predict(shifted.head(100)))
        print(f"   served predictions match the saved model; cross-validated {check.metric_} {check.best_score_:.4f}")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
