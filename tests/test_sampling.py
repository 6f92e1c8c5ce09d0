"""automl.sampling: large tables are searched on a sample of their rows."""

from __future__ import annotations

import numpy as np

from automl.budget import MIN_SAMPLE_ROWS
from automl.budget import sample_rows as sample_size
from automl.evaluation.sampling import subsample_holdout


def holdout(n: int, share: float = 0.2):
    rng = np.random.default_rng(0)
    idx = rng.permutation(n)
    cut = int(n * share)
    return [(np.sort(idx[cut:]), np.sort(idx[:cut]))]


def test_sample_size_follows_the_budget_and_the_width():
    assert sample_size(400_000, 10, 60.0) == 120_000  # 20,000 cells a second for 60 s over 10 columns
    assert sample_size(400_000, 100, 60.0) == 12_000
    assert sample_size(400_000, 1000, 60.0) == MIN_SAMPLE_ROWS  # never fewer
    assert sample_size(50_000, 10, 60.0) == 50_000  # small enough: every row
    assert sample_size(400_000, 10, None) == 400_000  # no time limit: every row


def test_a_large_holdout_is_sampled_stratified_and_inside_the_original_parts():
    n = 200_000
    y = (np.arange(n) % 10 == 0).astype(int)  # 10% positives
    splits = holdout(n)
    sampled, desc = subsample_holdout(splits, y, "binary", n_columns=50, time_budget=30.0, seed=0)
    ((train, valid),) = sampled
    assert len(train) == 12_000 and len(valid) == 30_000
    assert set(train) <= set(splits[0][0]) and set(valid) <= set(splits[0][1])
    assert abs(y[train].mean() - 0.1) < 0.005  # stratified
    assert desc == "trials train on 12,000 of 160,000 rows"


def test_small_tables_and_k_folds_are_left_alone():
    y = np.zeros(20_000)
    splits = holdout(20_000)
    assert subsample_holdout(splits, y, "regression", 10, 60.0, 0) == (splits, "")
    folds = holdout(20_000) * 3
    assert subsample_holdout(folds, y, "regression", 1000, 1.0, 0) == (folds, "")
