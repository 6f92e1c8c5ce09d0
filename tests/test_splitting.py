"""automl.splitting.make_splits: the cv argument."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import GroupKFold, KFold

from automl import DataError, DataWarning
from automl.evaluation.folds import make_splits

Y_BIN = np.array([0, 1] * 50)
Y_REG = np.linspace(0.0, 1.0, 100)


def _assert_partition(splits, n):
    """Every fold covers each row once as validation, and train and validation never overlap."""
    seen = np.concatenate([va for _, va in splits])
    for tr, va in splits:
        assert not set(tr) & set(va)
        assert len(tr) + len(va) == n
    assert sorted(seen) == list(range(n))


def test_auto_on_a_small_table_is_five_stratified_folds_twice():
    splits, desc = make_splits("auto", Y_BIN, "binary", 0)
    assert desc == "5-fold stratified x2"
    assert len(splits) == 10
    for repeat in (splits[:5], splits[5:]):
        _assert_partition(repeat, 100)
        for _, va in repeat:
            assert np.bincount(Y_BIN[va]).tolist() == [10, 10]
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(splits[:5], splits[5:], strict=True))


def test_auto_on_a_larger_table_is_five_folds_once():
    y = np.linspace(0.0, 1.0, 3000)
    splits, desc = make_splits("auto", y, "regression", 0)
    assert desc == "5-fold"
    _assert_partition(splits, 3000)


def test_auto_uses_a_holdout_when_the_table_is_large_for_the_budget():
    y = np.array([0, 1] * 1500)
    splits, desc = make_splits("auto", y, "binary", 0, n_columns=10, time_budget=5.0)
    assert desc.startswith("holdout")
    assert len(splits) == 1
    # the same table with a larger budget, or a small table whatever the budget: k folds
    assert make_splits("auto", y, "binary", 0, n_columns=10, time_budget=60.0)[1] == "5-fold stratified"
    assert make_splits("auto", y[:2000], "binary", 0, n_columns=100, time_budget=1.0)[1] == "5-fold stratified"


def test_int_folds():
    splits, desc = make_splits(3, Y_BIN, "binary", 0)
    assert len(splits) == 3
    assert desc == "3-fold stratified"
    _assert_partition(splits, 100)


def test_float_is_a_holdout_share():
    splits, desc = make_splits(0.25, Y_REG, "regression", 0)
    ((tr, va),) = splits
    assert len(va) == 25 and len(tr) == 75
    assert desc == "holdout 25%"


def test_holdout_is_20_percent_and_stratified():
    ((tr, va),), desc = make_splits("holdout", Y_BIN, "binary", 0)
    assert len(va) == 20
    assert np.bincount(Y_BIN[va]).tolist() == [10, 10]
    assert desc == "holdout 20%"


def test_splits_depend_on_the_seed_only():
    a, _ = make_splits(5, Y_REG, "regression", 1)
    b, _ = make_splits(5, Y_REG, "regression", 1)
    c, _ = make_splits(5, Y_REG, "regression", 2)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(a, c, strict=True))


def test_splitter_object():
    splits, desc = make_splits(KFold(4), Y_REG, "regression", 0)
    assert len(splits) == 4
    assert desc == "KFold"
    _assert_partition(splits, 100)


def test_iterable_of_splits():
    idx = np.arange(10)
    given = [(idx[:5], idx[5:]), (idx[5:], idx[:5])]
    splits, desc = make_splits(given, np.arange(10.0), "regression", 0)
    assert desc == "2 given splits"
    assert [va.tolist() for _, va in splits] == [[5, 6, 7, 8, 9], [0, 1, 2, 3, 4]]


def test_splitter_needing_groups_is_an_error():
    with pytest.raises(ValueError):
        make_splits(GroupKFold(3), Y_REG, "regression", 0)


def test_rare_class_warns_and_uses_fewer_folds():
    y = np.array([0] * 40 + [1] * 3)
    with pytest.warns(DataWarning, match="rarest class of y has 3 rows"):
        splits, desc = make_splits(5, y, "binary", 0)
    assert len(splits) == 3
    assert desc == "3-fold stratified"


def test_single_row_class_warns_and_drops_stratification():
    y = np.array([0] * 20 + [1] * 20 + [2])
    with pytest.warns(DataWarning, match="single row"):
        splits, desc = make_splits(5, y, "multiclass", 0)
    assert desc == "5-fold"
    _assert_partition(splits, 41)


def test_more_folds_than_rows_warns():
    with pytest.warns(DataWarning, match="only 4 rows"):
        splits, _ = make_splits(10, np.arange(4.0), "regression", 0)
    assert len(splits) == 4


@pytest.mark.parametrize("cv", [1, 0, -3, 1.0, 0.0, 1.5, "five", True])
def test_invalid_cv_raises(cv):
    with pytest.raises(ValueError, match="cv"):
        make_splits(cv, Y_REG, "regression", 0)


def test_cv_with_an_empty_part_raises():
    idx = np.arange(10)
    with pytest.raises(ValueError, match="empty"):
        make_splits([(idx, idx[:0])], np.arange(10.0), "regression", 0)


def test_too_few_rows_raises():
    with pytest.raises(DataError, match="at least 2"):
        make_splits(5, np.array([1.0]), "regression", 0)
