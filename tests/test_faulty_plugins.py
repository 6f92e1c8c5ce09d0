"""Faulty plugin models cost only their own trials.

A model that eats memory, kills its own process (``os.abort()``, a segfault in
native code), or whose ``predict_proba`` returns the wrong shape or NaN: its
trials are failed on the leaderboard with the reason, the fit keeps to its
budget, and the pipeline it returns comes from the other models. A model whose
``fit`` raises or hangs, and one whose ``build`` raises, are in test_plugin_fits.py.
"""

from __future__ import annotations

import resource
import time

import pandas as pd
import pytest
from automl_test_plugins import Abort, MemoryHog, NaNProba, Segfault, WrongShapeProba, model_plugin
from conftest import FAST

from automl import AutoML
from automl.workers.pool import WorkerPool

BUDGET = 5
#: room a worker gets beyond what it uses idle in the memory test (address space, not resident
#: memory: an idle worker already maps about 600 MiB, more with pyarrow installed)
MEMORY_ROOM = 512 << 20
#: the memory hog needs time to fill it (up to a few seconds per GiB on a busy machine)
MEMORY_BUDGET = 8


def _fit_with(name: str, make, X: pd.DataFrame, y: pd.Series, budget: float = BUDGET, **kwargs) -> tuple[AutoML, float]:
    """Fit with the faulty model (tried first: it is the cheapest) and the linear one; return it and the seconds."""
    plugin = model_plugin(name, make, tasks="classification", cost=0.5)
    t0 = time.monotonic()
    model = AutoML(plugins=[plugin], include=[name, "linear"], time_budget=budget, **FAST, **kwargs).fit(X, y)
    return model, time.monotonic() - t0


def _check(
    model: AutoML, elapsed: float, name: str, reason: str, X: pd.DataFrame, y: pd.Series, budget: float = BUDGET
) -> pd.DataFrame:
    """Only the faulty model's trials failed, with ``reason``; the fit kept to its budget and predicts.

    A faulty trial still running when the search ends is stopped and shows as
    ``timeout``; every other one is ``failed`` with the reason. Returns the
    faulty model's rows.
    """
    assert elapsed <= budget * 1.05 + 1, elapsed
    board = model.leaderboard_
    faulty = board[board["model"] == name]
    failed = faulty[faulty["status"] == "failed"]
    assert len(failed) >= 1, faulty[["status", "error"]]
    assert set(faulty["status"]) <= {"failed", "timeout"}
    assert failed["error"].str.contains(reason).all(), failed["error"].tolist()
    assert faulty["rank"].isna().all() and faulty["score_mean"].isna().all()
    others = board[board["model"] != name]
    assert (others["status"] == "ok").any()
    assert set(others.loc[others["status"] == "ok", "model"]) <= {"linear", "ensemble"}
    assert name not in str(model.best_pipeline_)
    pred = model.predict(X)
    assert pred.shape == (len(X),) and set(pred) <= set(model.classes_)
    assert model.score(X, y) > 0.9
    return faulty


def _idle_worker_address_space() -> int:
    pool = WorkerPool(0)
    try:
        pool.ensure(1)
        end = time.monotonic() + 60
        while not pool.workers[0].ready and time.monotonic() < end:
            pool.poll(0.2)
        with open(f"/proc/{pool.workers[0].proc.pid}/status") as fh:
            line = next(x for x in fh if x.startswith("VmSize:"))
        return int(line.split()[1]) * 1024
    finally:
        pool.close()


@pytest.fixture(scope="module")
def memory_fit(breast_cancer):
    X, y = breast_cancer
    parent_limit = resource.getrlimit(resource.RLIMIT_AS)
    limit = _idle_worker_address_space() + MEMORY_ROOM
    model, elapsed = _fit_with("hog", MemoryHog, X, y, budget=MEMORY_BUDGET, memory_limit=limit)
    return model, elapsed, parent_limit


def test_a_model_that_eats_memory_is_stopped_by_the_memory_limit(memory_fit, breast_cancer):
    model, elapsed, parent_limit = memory_fit
    X, y = breast_cancer
    reasons = "MemoryError"
    faulty = _check(model, elapsed, "hog", reasons, X, y, budget=MEMORY_BUDGET)
    assert faulty["error"].str.contains("MemoryError").any(), faulty["error"].tolist()
    assert resource.getrlimit(resource.RLIMIT_AS) == parent_limit  # only the workers are limited


def test_only_the_memory_hog_fails_and_always_with_a_memory_error(memory_fit):
    model, _, _ = memory_fit
    board = model.leaderboard_
    failed = board[board["status"] == "failed"]
    assert (failed["model"] == "hog").all(), failed[["model", "error"]]
    assert failed["error"].str.contains("MemoryError").all(), failed["error"].tolist()


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("aborts", Abort, "^the worker process was killed by SIGABRT"),
        ("segfaults", Segfault, "^the worker process was killed by SIGSEGV"),
    ],
)
def test_a_model_that_kills_its_process_costs_only_its_trials(breast_cancer, name, make, reason):
    X, y = breast_cancer
    model, elapsed = _fit_with(name, make, X, y)
    _check(model, elapsed, name, reason, X, y)


@pytest.mark.parametrize(
    ("name", "make", "reason"),
    [
        ("wrong_shape", WrongShapeProba, r"^ValueError: predict_proba returned shape \(\d+, 3\), expected \(\d+, 2\)"),
        ("nan_proba", NaNProba, "^ValueError: predict_proba returned NaN or infinite values"),
    ],
)
def test_a_model_with_bad_probabilities_costs_only_its_trials(breast_cancer, name, make, reason):
    X, y = breast_cancer
    model, elapsed = _fit_with(name, make, X, y)
    _check(model, elapsed, name, reason, X, y)
