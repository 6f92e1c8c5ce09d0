"""An ensemble's heavy members answer a few rows side by side, each with the output it gives alone."""

from __future__ import annotations

import dataclasses
import pickle
import threading

import lightgbm as lgb
import numpy as np
import pytest
from conftest import mixed_table
from sklearn.linear_model import Ridge
from test_lean import _new_rows, _pipeline

from automl.pipeline import side_by_side
from automl.pipeline.ensemble import EnsembleRegressor
from automl.pipeline.side_by_side import HANDOFF, SideBySide


@pytest.fixture
def two_cores(monkeypatch):
    """OpenMP's count of cores is two, whatever the machine has."""
    monkeypatch.setattr("sklearn.utils._openmp_helpers._openmp_effective_n_threads", lambda: 2)


def _op(free: bool):
    def op(x):
        return (threading.current_thread().name, x)

    if free:
        op.releases_gil = True
    return op


def _timed(seconds: list[float]) -> SideBySide:
    runner = SideBySide(len(seconds))
    runner.seconds = list(seconds)
    return runner


def test_members_run_in_the_calling_thread_until_each_has_been_timed():
    jobs = [(_op(True), 0), (_op(True), 1), None, (_op(False), 3)]
    runner = SideBySide(4)
    assert runner.groups(jobs, 2) == [[0, 1, 3]]
    runner.run(jobs)
    assert all(s > 0 for i, s in enumerate(runner.seconds) if i != 2) and runner.seconds[2] == 0.0


def test_only_members_that_release_pythons_lock_are_shared_out_heaviest_first():
    jobs = [(_op(True), 0), (_op(False), 1), (_op(True), 2), (_op(True), 3), (_op(True), 4)]
    runner = _timed([4e-4, 9e-4, 3e-4, 2e-4, 2e-4])
    # free members 0 (0.4 ms), 2 (0.3), 3 and 4 (0.2 each): 0 and 4 here, 2 and 3 to a helper;
    # member 1 keeps Python's lock and runs here, after this thread's share
    assert runner.groups(jobs, 2) == [[0, 4, 1], [2, 3]]
    assert runner.groups(jobs, 3) == [[0, 1], [2], [3, 4]]
    assert runner.groups(jobs, 1) == [[0, 1, 2, 3, 4]]


def test_a_share_lighter_than_a_hand_off_stays_in_the_calling_thread():
    jobs = [(_op(True), 0), (_op(True), 1), (_op(False), 2)]
    light = HANDOFF * 0.9
    assert _timed([5e-4, light, 1e-3]).groups(jobs, 2) == [[0, 1, 2]]
    assert _timed([5e-4, HANDOFF, 1e-3]).groups(jobs, 2) == [[0, 2], [1]]
    # one free member has nobody to share with
    assert _timed([5e-4, 5e-4, 1e-3]).groups([jobs[0], None, jobs[2]], 2) == [[0, 2]]


def test_a_helper_runs_its_share_and_every_outcome_keeps_its_place(two_cores):
    def fails(x):
        raise RuntimeError("no")

    fails.releases_gil = True
    jobs = [(_op(True), "a"), (_op(True), "b"), (_op(False), "c"), (fails, "d")]
    runner = _timed([5e-4, 4e-4, 1e-3, 3e-4])
    out = runner.run(jobs)
    here = threading.current_thread().name
    assert out[0] == (True, (here, "a")) and out[2] == (True, (here, "c"))
    assert out[1][0] and out[1][1][0].startswith("automl-members") and out[1][1][1] == "b"
    assert out[3][0] is False and isinstance(out[3][1], RuntimeError)


def test_a_forked_process_starts_its_own_helpers(monkeypatch):
    first = side_by_side._helpers(1)
    assert side_by_side._helpers(1) is first
    monkeypatch.setattr(side_by_side.os, "getpid", lambda: -1)  # as in the child of a fork
    assert side_by_side._helpers(1) is not first


@pytest.fixture
def boosted():
    X, y = mixed_table(400, seed=5)
    y = (y == "yes") * 3.0 + X["num"]
    boosters = [lgb.LGBMRegressor(n_estimators=n, num_leaves=15, random_state=n, verbose=-1) for n in (120, 80)]
    members = [_pipeline(model, "impute", "onehot", X, y) for model in [*boosters, lgb.LGBMRegressor(verbose=-1)]]
    members.append(_pipeline(Ridge(), "impute_scale", "onehot", X, y))
    weights = [0.4, 0.3, 0.2, 0.1]
    return [(f"m{i}", m) for i, m in enumerate(members)], weights


def test_an_ensemble_answers_each_row_side_by_side_as_one_after_the_other(boosted, two_cores, monkeypatch):
    members, weights = boosted
    monkeypatch.setattr(side_by_side, "HANDOFF", 0.0)  # small models: hand off whatever they take
    alone = EnsembleRegressor.from_fitted(members, weights)
    ens = EnsembleRegressor.from_fitted(members, weights)
    rows = _new_rows()
    np.testing.assert_array_equal(ens.predict(rows), alone.predict(rows))  # finds the lean forms
    submitted = []
    real = side_by_side._helpers

    def spy(n):
        pool = real(n)
        submitted.append(n)
        return pool

    monkeypatch.setattr(side_by_side, "_helpers", spy)
    for i in range(len(rows)):
        row = rows.iloc[[i]]
        got = ens.predict(row)
        with monkeypatch.context() as one_core:
            one_core.setattr("sklearn.utils._openmp_helpers._openmp_effective_n_threads", lambda: 1)
            expected = alone.predict(row)
        assert got.tobytes() == expected.tobytes()
    assert submitted, "the LightGBM members were never handed to a helper"
    assert "_side_by_side" not in pickle.loads(pickle.dumps(ens)).__dict__


def test_a_member_that_fails_on_a_helper_answers_through_its_pipeline(boosted, two_cores):
    members, weights = boosted
    ens, intact = (EnsembleRegressor.from_fitted(members, weights) for _ in range(2))
    rows = _new_rows()
    np.testing.assert_array_equal(ens.predict(rows), intact.predict(rows))  # finds the lean forms
    lean = ens.__dict__["_lean_cache"]["predict"]

    threads = []

    def broken(X):
        threads.append(threading.current_thread().name)
        raise MemoryError("a helper ran out")

    broken.releases_gil = True
    lean[0] = dataclasses.replace(lean[0], predict=broken)
    for i in range(5):
        # the broken member 0 shares a helper with member 2; member 1 runs here
        ens.__dict__["_side_by_side"] = _timed([5e-4, 2e-3, 1e-3, 5e-5])
        np.testing.assert_array_equal(ens.predict(rows.iloc[[i]]), intact.predict(rows.iloc[[i]]))
    assert len(threads) == 5 and all(name.startswith("automl-members") for name in threads)


def test_a_helper_that_cannot_start_leaves_its_share_to_the_calling_thread(two_cores, monkeypatch):
    class ShutDown:
        def submit(self, *args):
            raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(side_by_side, "_helpers", lambda n: ShutDown())
    jobs = [(_op(True), "a"), (_op(True), "b")]
    here = threading.current_thread().name
    assert _timed([5e-4, 4e-4]).run(jobs) == [(True, (here, "a")), (True, (here, "b"))]


@pytest.mark.parametrize("task", ["regression", "binary"])
def test_every_call_answers_as_a_fresh_copys_first_call_whatever_came_before(task, two_cores, monkeypatch):
    # the lean forms keep state between calls (timings, LightGBM's blocks and
    # single-row predictors, helper threads); none of it may change an answer:
    # each call is compared with a fresh copy's first call, the pipelines' own path
    from automl import lean_blocks
    from automl.pipeline.ensemble import EnsembleClassifier

    monkeypatch.setattr(lean_blocks, "BLOCK_LEAVES", 40)
    monkeypatch.setattr(lean_blocks, "MIN_LEAVES", 0)
    monkeypatch.setattr(side_by_side, "HANDOFF", 0.0)
    X, y = mixed_table(600, seed=8)
    if task == "regression":
        y, kind, models = (y == "yes") * 3.0 + X["num"], EnsembleRegressor, [lgb.LGBMRegressor, Ridge]
    else:
        kind, models = EnsembleClassifier, [lgb.LGBMClassifier, None]
    boosters = [models[0](n_estimators=n, num_leaves=15, random_state=n, verbose=-1) for n in (120, 80, 60)]
    members = [_pipeline(m, "impute", "onehot", X, y) for m in boosters]
    if models[1] is not None:
        members.append(_pipeline(models[1](), "impute_scale", "onehot", X, y))
    ens = kind.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.4, 0.3, 0.2, 0.1][: len(members)])
    blob = pickle.dumps(ens)
    method = "predict" if task == "regression" else "predict_proba"
    rng = np.random.default_rng(0)
    for size in [1, 1, 300, 1, 2, 32, 33, 1, 600, 1, 257, 1, 1]:
        rows = X.iloc[rng.permutation(len(X))[:size]]
        got = getattr(ens, method)(rows)
        assert got.tobytes() == getattr(pickle.loads(blob), method)(rows).tobytes(), f"{size} rows"
