"""automl.leaderboard: one row per trial, best first."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager
from automl.search.leaderboard import COLUMNS, leaderboard_frame
from automl.search.trial import TrialConfig, TrialResult, sort_results


@pytest.fixture(scope="module")
def metrics():
    return collect_components(get_plugin_manager(entry_points=False)).metrics


def config(model="linear", **params):
    return TrialConfig(
        model=model,
        model_params=params,
        preprocessing={"numeric": ("impute_scale", {"scaler": "standard"}), "categorical": ("onehot", {})},
    )


def results():
    return [
        TrialResult(number=0, config=config(C=1.0), fold_scores=[0.5, 0.7], fit_seconds=0.12345),
        TrialResult(number=1, config=config("knn"), status="failed", error="boom"),
        TrialResult(number=2, config=config(C=2.0), fold_scores=[0.2, 0.2]),
        TrialResult(number=3, config=config("lightgbm"), status="timeout", error="stopped after 2.0s"),
        TrialResult(number=4, config=config(C=3.0), status="pruned", fold_scores=[0.9], error="pruned after fold 0"),
        TrialResult(number=5, config=None, status="failed", error="building the pipeline failed"),
    ]


def test_loss_metric_sorts_ascending(metrics):
    rmse = resolve_metric("rmse", "regression", metrics)
    order = [r.number for r in sort_results(results(), rmse)]
    assert order == [2, 0, 4, 3, 1, 5]  # ok by score, then pruned, timeout, failed (by number)


def test_gain_metric_sorts_descending(metrics):
    r2 = resolve_metric("r2", "regression", metrics)
    assert [r.number for r in sort_results(results(), r2)][:2] == [0, 2]


def test_leaderboard_columns_and_values(metrics):
    board = leaderboard_frame(results(), resolve_metric("r2", "regression", metrics))
    assert list(board.columns) == COLUMNS
    assert list(board["trial"]) == [0, 2, 4, 3, 1, 5]
    assert list(board["status"]) == ["ok", "ok", "pruned", "timeout", "failed", "failed"]
    assert board["rank"].dtype == "Int64"
    assert board["rank"].tolist()[:2] == [1, 2]
    assert board["rank"].isna().tolist() == [False, False, True, True, True, True]
    top = board.iloc[0]
    assert top["model"] == "linear"
    assert top["preprocessing"] == "categorical=onehot, numeric=impute_scale"
    assert top["params"] == {"C": 1.0, "numeric.impute_scale.scaler": "standard"}
    assert top["metric"] == "r2"
    assert top["score_mean"] == pytest.approx(0.6)
    assert top["score_std"] == pytest.approx(0.1)
    assert top["n_folds"] == 2
    assert top["fit_s"] == 0.123
    failed = board[board["trial"] == 5].iloc[0]
    assert (failed["model"], failed["preprocessing"], failed["params"]) == ("?", "-", {})
    assert np.isnan(board[board["trial"] == 1]["score_mean"].iloc[0])
    assert board[board["trial"] == 4]["n_folds"].iloc[0] == 1  # pruned trials keep their folds


def test_empty_leaderboard(metrics):
    board = leaderboard_frame([], resolve_metric("r2", "regression", metrics))
    assert isinstance(board, pd.DataFrame)
    assert list(board.columns) == COLUMNS
    assert len(board) == 0


def test_trial_result_properties():
    r = TrialResult(number=0, config=None)
    assert np.isnan(r.mean) and np.isnan(r.std)
    assert r.model == "?"
    r.fold_scores = [1.0, 3.0]
    assert (r.mean, r.std) == (2.0, 1.0)
