"""Folds by group and by time, and the checks of sample_weight, groups and time (no fit here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut, TimeSeriesSplit

from automl.data.rows import check_rows
from automl.evaluation.folds import make_splits
from automl.evaluation.sampling import subsample_holdout
from automl.exceptions import DataError

N = 300
GROUPS = np.repeat(np.arange(30), 10)
Y_BIN = np.tile([0, 1, 1, 0, 1], N // 5)
Y_REG = np.linspace(0.0, 1.0, N)


def _groups_apart(splits, groups):
    for tr, va in splits:
        assert not set(groups[tr]) & set(groups[va])


@pytest.mark.parametrize("cv", ["auto", 3, 0.25, "holdout"])
@pytest.mark.parametrize("task,y", [("binary", Y_BIN), ("regression", Y_REG)])
def test_no_fold_splits_a_group(cv, task, y):
    splits, desc = make_splits(cv, y, task, 0, groups=GROUPS)
    assert "group" in desc
    _groups_apart(splits, GROUPS)
    assert all(len(tr) and len(va) for tr, va in splits)


def test_auto_group_folds_cover_every_row_and_repeat_on_small_tables():
    splits, desc = make_splits("auto", Y_BIN, "binary", 0, groups=GROUPS)
    assert desc == "5-fold by group stratified x2"
    validated = np.concatenate([va for _, va in splits[:5]])
    assert sorted(validated) == list(range(N))


def test_a_group_splitter_receives_the_groups():
    splits, desc = make_splits(LeaveOneGroupOut(), Y_REG[:40], "regression", 0, groups=GROUPS[:40])
    assert len(splits) == 4 and desc == "LeaveOneGroupOut with groups"
    _groups_apart(splits, GROUPS[:40])


def test_a_group_splitter_without_groups_says_to_pass_them():
    with pytest.raises(ValueError, match=r"cv=GroupKFold needs groups: pass fit\(X, y, groups=\.\.\.\)"):
        make_splits(GroupKFold(3), Y_REG, "regression", 0)


def test_too_few_groups_for_the_folds_says_how_many():
    with pytest.raises(DataError, match="groups has 3 distinct groups but cv=5 folds need at least 5"):
        make_splits(5, Y_REG[:30], "regression", 0, groups=GROUPS[:30])
    with pytest.raises(DataError, match="groups has 1 distinct group; at least 2 are needed"):
        make_splits("auto", Y_REG[:10], "regression", 0, groups=GROUPS[:10])


def test_auto_with_few_groups_uses_one_fold_per_group(recwarn):
    splits, desc = make_splits("auto", Y_REG[:30], "regression", 0, groups=GROUPS[:30])
    assert desc.startswith("3-fold by group")
    assert any("3 distinct groups, fewer than the 5 folds" in str(w.message) for w in recwarn)


def test_groups_and_time_together_are_refused():
    with pytest.raises(ValueError, match="groups and time together are not supported"):
        make_splits("auto", Y_REG, "regression", 0, groups=GROUPS, time=np.arange(N, dtype=float))


def test_a_large_table_samples_whole_groups():
    n = 40_000
    groups = np.repeat(np.arange(n // 20), 20)
    y = np.arange(n, dtype=float)
    splits, desc = make_splits("auto", y, "regression", 0, n_columns=50, time_budget=10.0, groups=groups)
    assert desc == "holdout 20% of groups"
    sampled, text = subsample_holdout(splits, y, "regression", 50, 10.0, 0, groups=groups)
    (tr, va), (tr0, va0) = sampled[0], splits[0]
    assert text and len(tr) < len(tr0)
    assert set(groups[tr]) <= set(groups[tr0]) and set(groups[va]) <= set(groups[va0])
    for part in (tr, va):  # whole groups: every kept group keeps its 20 rows
        assert set(np.unique(groups[part], return_counts=True)[1]) == {20}


# -- time -----------------------------------------------------------------------------------


def _shuffled_times(n=N, seed=0):
    return np.random.default_rng(seed).permutation(n).astype(float)


@pytest.mark.parametrize("cv", ["auto", "time", 4, 0.3, "holdout", TimeSeriesSplit(3)])
def test_time_folds_train_on_the_past_only(cv):
    time = _shuffled_times()
    splits, desc = make_splits(cv, Y_REG, "regression", 0, time=time)
    assert "time-ordered" in desc or "latest" in desc
    for tr, va in splits:
        assert time[tr].max() < time[va].min()
        assert np.all(np.diff(time[tr]) > 0), "training rows come in time order"


def test_time_folds_are_an_expanding_window():
    time = _shuffled_times()
    splits, desc = make_splits("time", Y_REG, "regression", 0, time=time)
    assert desc == "5 time-ordered folds (expanding window)"
    sizes = [len(tr) for tr, _ in splits]
    assert sizes == sorted(sizes) and len(set(sizes)) == 5
    assert time[splits[-1][1]].max() == time.max()


def test_a_gap_separates_training_and_validation():
    time = np.arange(N, dtype=float)
    splits, desc = make_splits(TimeSeriesSplit(4, gap=7), Y_REG, "regression", 0, time=time)
    assert "gap 7 rows" in desc
    assert all(time[va].min() - time[tr].max() == 8 for tr, va in splits)


def test_rows_at_the_same_time_are_never_on_both_sides():
    time = np.repeat(np.arange(30), 10).astype(float)  # ten rows a day
    splits, _ = make_splits(7, Y_REG, "regression", 0, time=time)
    for tr, va in splits:
        assert time[tr].max() < time[va].min()


def test_cv_time_without_time_takes_the_rows_in_order():
    splits, desc = make_splits("time", Y_REG, "regression", 0)
    assert desc.startswith("5 time-ordered")
    assert all(tr.max() < va.min() for tr, va in splits)


def test_a_large_time_ordered_table_holds_out_its_latest_rows():
    n = 40_000
    time = _shuffled_times(n)
    y = np.arange(n, dtype=float)
    splits, desc = make_splits("auto", y, "regression", 0, n_columns=50, time_budget=10.0, time=time)
    assert desc == "holdout of the latest 20%"
    ((tr, va),) = splits
    assert time[va].min() == n - len(va) and time[tr].max() < time[va].min()
    sampled, text = subsample_holdout(splits, y, "regression", 50, 10.0, 0, time=time)
    ((tr_s, va_s),) = sampled
    assert len(tr_s) < len(tr) and time[tr_s].min() == time[tr].max() - len(tr_s) + 1, "the most recent rows"
    assert np.all(np.diff(time[tr_s]) > 0)
    assert time[va_s].min() == time[va].min() and time[va_s].max() == time[va].max(), "spread over the period"


def test_too_few_rows_for_time_folds_is_a_data_error():
    with pytest.raises(DataError, match="too few for time-ordered folds"):
        make_splits(5, Y_REG[:4], "regression", 0, time=np.arange(4.0))


# -- the per-row arguments ----------------------------------------------------------------------

X = pd.DataFrame({"a": np.arange(6.0), "day": pd.date_range("2026-01-01", periods=6)})


@pytest.mark.parametrize(
    "weights,message",
    [
        ([1, 1, -1, 1, 1, 1], "sample_weight holds negative, NaN or infinite values"),
        ([1, 1, np.nan, 1, 1, 1], "sample_weight holds negative, NaN or infinite values"),
        ([1, 1, 1], r"sample_weight has shape \(3,\) but X has 6 rows"),
    ],
)
def test_bad_weights_name_sample_weight(weights, message):
    with pytest.raises(DataError, match=message):
        check_rows(X, sample_weight=weights)


@pytest.mark.parametrize(
    "groups,message",
    [
        ([1, 2, 3], r"groups has shape \(3,\) but X has 6 rows"),
        ([1, 2, None, 1, 2, 1], "groups is missing on 1 of 6 rows"),
        ("a", "pass one group label per row"),
    ],
)
def test_bad_groups_name_groups(groups, message):
    with pytest.raises(DataError, match=message):
        check_rows(X, groups=groups)


@pytest.mark.parametrize(
    "time,message",
    [
        ("when", r"time='when' is not a column of X; its columns are 'a', 'day'"),
        ([1.0, 2.0], r"time has shape \(2,\) but X has 6 rows"),
        ([1.0, 2.0, np.nan, 4.0, 5.0, 6.0], "time is missing on 1 of 6 rows"),
        (["x", "y", "z", "x", "y", "z"], "time cannot be read as times"),
        ([True, False] * 3, "time holds booleans"),
    ],
)
def test_bad_time_names_time(time, message):
    with pytest.raises(DataError, match=message):
        check_rows(X, time=time)


def test_time_reads_a_datetime_column_and_date_strings():
    info = check_rows(X, time="day")
    assert info.time_name == "column 'day'"
    assert list(info.order) == list(range(6))
    strings = check_rows(X, time=[f"2026-03-0{d}" for d in (3, 1, 2, 6, 5, 4)])
    assert list(strings.order) == [1, 2, 0, 5, 4, 3]


def test_per_row_facts_follow_the_rows_kept():
    info = check_rows(X, sample_weight=np.arange(6.0), groups=list("aabbcc"), time=np.arange(6.0)[::-1])
    kept = info.take(np.array([True, False, True, True, False, True]))
    assert list(kept.weights) == [0, 2, 3, 5] and list(kept.groups) == [0, 1, 1, 2]
    assert list(kept.time) == [5, 3, 2, 0]
