"""automl.workers.mapped: the problem's arrays are written once and mapped read-only by every worker."""

from __future__ import annotations

import mmap

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table

from automl.workers import mapped


def _base(a: np.ndarray):
    while isinstance(getattr(a, "base", None), np.ndarray):
        a = a.base
    return a.base


def test_a_table_round_trips_and_its_numbers_are_mapped_read_only(tmp_path):
    X, y = mixed_table(300)
    obj = {"X": X, "y": (y == "yes").to_numpy(dtype=np.int64), "splits": [(np.arange(200), np.arange(200, 300))]}
    path = tmp_path / "problem.pkl"
    size = mapped.dump(obj, path)
    assert size > path.stat().st_size  # the arrays went to the sidecar
    back = mapped.load(path)
    pd.testing.assert_frame_equal(back["X"], X)
    np.testing.assert_array_equal(back["y"], obj["y"])
    num = back["X"]["num"].to_numpy()
    assert not num.flags.writeable
    assert isinstance(_base(num), (mmap.mmap, memoryview))
    fold = back["X"].iloc[back["splits"][0][0]]  # what a trial takes: a copy it may change
    fold.loc[fold.index[0], "num"] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        back["y"][0] = 1


def test_an_object_without_arrays_and_removal(tmp_path):
    path = tmp_path / "p.pkl"
    mapped.dump({"a": 1}, path)
    assert mapped.load(path) == {"a": 1}
    mapped.remove(path)
    assert list(tmp_path.iterdir()) == []
