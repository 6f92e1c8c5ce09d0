"""One search spread over a coordinating fit and ``automl worker`` processes, beside one process alone.

For each table, on its 75/25 split, three fits of the same budget, each with a
fresh study in the same storage:

- ``alone``: ``AutoML(n_jobs=1, storage=..., study_name=...)``, one process;
- ``alone, n_jobs=2``: the same with two trial processes (for reference);
- ``coordinator + 2 workers``: ``AutoML(n_jobs=1, storage=..., shared_dir=...)``
  and two ``automl worker --n-jobs 1`` processes started as soon as the study
  exists (as a scheduler would start them on other machines).

Printed per fit: the trials with a stored result (ok, pruned, timed out or
failed; stale ones not counted) and how many of them were ok, who ran them
(the coordinator, the workers), the best cross-validated score, the held-out
score and the coordinator's fit seconds (its budget is the promise).

Usage::

    python benchmarks/distributed.py --budget 60 --postgres     # a throwaway PostgreSQL server (tests/postgres.py)
    python benchmarks/distributed.py --budget 30 --storage sqlite:///runs/dist.db

On one 2-core machine the coordinator and two workers run three trial
processes on two cores: they do more trials than one process, not more than
``n_jobs=2``; across machines each worker brings its own cores.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import optuna
import pandas as pd
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.model_selection import train_test_split

from automl import AutoML


def _tables() -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    Xc, yc = make_classification(20_000, 30, n_informative=12, random_state=0)
    frame = pd.DataFrame(Xc, columns=[f"x{i}" for i in range(30)])
    return {"breast_cancer": (X, y), "classification_20k": (frame, pd.Series(yc, name="y"))}


def _exists(storage: str, name: str) -> bool:
    try:
        backend = optuna.storages.RDBStorage(storage, skip_table_creation=True)
        return name in [s.study_name for s in backend.get_all_studies()]
    except Exception:  # noqa: BLE001 - not created yet
        return False


def _workers(storage: str, name: str, n: int, procs: list[subprocess.Popen]) -> None:
    while not _exists(storage, name):
        time.sleep(0.1)
    for _ in range(n):
        cmd = [sys.executable, "-m", "automl", "worker", "--storage", storage, "--study", name, "--n-jobs", "1"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))


def _counts(storage: str, name: str, me: int) -> dict[str, int]:
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    done = [t for t in trials if "automl_result" in t.user_attrs]
    return {
        "trials": len(done),
        "ok": sum(t.user_attrs["automl_result"]["status"] == "ok" for t in done),
        "by_coordinator": sum(t.user_attrs["automl_owner"]["pid"] == me for t in done),
    }


def run(table: str, data, storage: str, budget: float, seed: int, shared: Path) -> list[dict]:
    X, y = data
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    rows = []
    for label, n_jobs, n_workers in (("alone", 1, 0), ("alone, n_jobs=2", 2, 0), ("coordinator + 2 workers", 1, 2)):
        name = f"{table}-{n_jobs}-{n_workers}-{seed}-{time.time_ns()}"
        procs: list[subprocess.Popen] = []
        launcher = threading.Thread(target=_workers, args=(storage, name, n_workers, procs), daemon=True)
        if n_workers:
            launcher.start()
        kw = {"shared_dir": str(shared)} if n_workers else {}
        model = AutoML(
            time_budget=budget, n_jobs=n_jobs, random_state=seed, verbose=0, storage=storage, study_name=name, **kw
        )
        model.fit(X_train, y_train)
        if n_workers:
            launcher.join()
            for p in procs:
                p.wait(timeout=120)
        counts = _counts(storage, name, os.getpid())
        row = {"table": table, "fit": label, "fit_s": round(model.fit_seconds_, 1), **counts}
        row.update(best_cv=round(model.best_score_, 5), test=round(model.score(X_test, y_test), 5))
        print(row, flush=True)
        rows.append(row)
    return rows


@contextlib.contextmanager
def _storage(args: argparse.Namespace):
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        from postgres import postgres_server

        with postgres_server() as url:
            yield url
    else:
        yield args.storage


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", nargs="+", default=["breast_cancer", "classification_20k"])
    parser.add_argument("--storage", default=None, help="a database URL (default with --postgres: a throwaway server)")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL server (tests/postgres.py)"
    )
    args = parser.parse_args()
    if not args.postgres and not args.storage:
        parser.error("give --storage URL or --postgres")
    tables = _tables()
    rows = []
    with _storage(args) as storage, tempfile.TemporaryDirectory() as shared:
        for table in args.tables:
            rows += run(table, tables[table], storage, args.budget, args.seed, Path(shared))
    print("\n| table | fit | trials (ok) | run by the coordinator | best CV | test | fit s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['table']} | {r['fit']} | {r['trials']} ({r['ok']}) | {r['by_coordinator']} | "
            f"{r['best_cv']:.5f} | {r['test']:.5f} | {r['fit_s']} |"
        )


if __name__ == "__main__":
    main()
