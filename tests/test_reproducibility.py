"""Same random_state, same trial limit, no time limit: the same search and the same predictions."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mixed_table

from automl import AutoML


def fingerprint(model: AutoML):
    board = model.leaderboard_
    return (
        board[["trial", "model", "preprocessing", "status"]].astype(str).values.tolist(),
        np.round(board["score_mean"].to_numpy(dtype=float), 10).tolist(),
        [str(p) for p in board["params"]],
    )


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_two_runs_give_the_same_leaderboard_and_predictions(n_jobs):
    X, y = mixed_table(n=300, seed=1)
    kwargs = {
        "time_budget": None,
        "max_trials": 10,
        "random_state": 3,
        "n_jobs": n_jobs,
        "verbose": 0,
        "cv": 3,
        "include": ["linear", "knn", "lightgbm"],  # quick ones: the sampler, not the models, is tested
    }
    first = AutoML(**kwargs).fit(X, y)
    second = AutoML(**kwargs).fit(X, y)
    assert fingerprint(first) == fingerprint(second)
    assert len(first.leaderboard_) >= 10
    assert np.array_equal(first.predict(X), second.predict(X))
    assert np.allclose(first.predict_proba(X), second.predict_proba(X), rtol=0, atol=1e-12)
