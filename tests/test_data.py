"""automl.data: reading X and y, inferring the task and the kind of every column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import DataError, DataWarning
from automl.data.target import check_y, drop_missing_target, infer_task
from automl.pipeline.schema import as_frame, infer_schema

N = 40  # rows of the tables below: above the identifier threshold


# -- as_frame -------------------------------------------------------------------------
def test_as_frame_names_numpy_columns():
    df = as_frame(np.arange(6.0).reshape(3, 2))
    assert list(df.columns) == ["x0", "x1"]
    assert df.shape == (3, 2)


def test_as_frame_keeps_a_dataframe_with_string_names():
    X = pd.DataFrame({"a": [1, 2], "b": ["u", "v"]})
    assert as_frame(X) is X


def test_as_frame_rejects_1d_input():
    with pytest.raises(DataError, match="1-dimensional"):
        as_frame(np.arange(5))


def test_as_frame_rejects_a_series():
    with pytest.raises(DataError, match="Series"):
        as_frame(pd.Series([1, 2, 3]))


def test_as_frame_rejects_3d_input():
    with pytest.raises(DataError, match="2-D"):
        as_frame(np.zeros((2, 2, 2)))


def test_as_frame_rejects_no_columns():
    with pytest.raises(DataError, match="0 feature"):
        as_frame(np.zeros((3, 0)))


def test_as_frame_rejects_duplicate_names():
    with pytest.raises(DataError, match=r"duplicate column names \['a'\]"):
        as_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_as_frame_turns_non_string_names_into_strings():
    df = as_frame(pd.DataFrame([[1, 2]], columns=[0, 1]))
    assert list(df.columns) == ["0", "1"]


def test_as_frame_rejects_non_string_names_that_clash_as_strings():
    with pytest.raises(DataError, match=r"duplicate column names \['0'\]"):
        as_frame(pd.DataFrame([[1, 2]], columns=[0, "0"]))


def test_as_frame_rejects_sparse_input():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(DataError, match="sparse"):
        as_frame(sparse.csr_matrix(np.eye(3)))


# -- check_y ----------------------------------------------------------------------------
def test_check_y_rejects_none():
    with pytest.raises(DataError, match="y is None"):
        check_y(None, 3)


def test_check_y_rejects_wrong_length():
    with pytest.raises(DataError, match="X has 3 rows but y has 2"):
        check_y([1, 2], 3)


def test_check_y_rejects_2d_targets():
    with pytest.raises(DataError, match="1-dimensional"):
        check_y(np.zeros((3, 2)), 3)


def test_check_y_resets_the_index_of_a_series():
    s = check_y(pd.Series([5, 6, 7], index=[10, 11, 12]), 3)
    assert list(s.index) == [0, 1, 2]
    assert list(s) == [5, 6, 7]


def test_drop_missing_target_warns_and_drops_rows():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    y = pd.Series([0.0, np.nan, 1.0, np.nan])
    with pytest.warns(DataWarning, match="missing on 2 of 4 rows"):
        X2, y2 = drop_missing_target(X, y)
    assert list(X2["a"]) == [1.0, 3.0]
    assert list(y2) == [0.0, 1.0]


def test_drop_missing_target_rejects_an_all_missing_target():
    with pytest.raises(DataError, match="every target value is missing"):
        drop_missing_target(pd.DataFrame({"a": [1, 2]}), pd.Series([np.nan, np.nan]))


# -- infer_task -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("y", "task"),
    [
        (pd.Series([0, 1] * 10), "binary"),
        (pd.Series([True, False] * 10), "binary"),
        (pd.Series(["yes", "no"] * 10), "binary"),
        (pd.Series([1.5, 2.5] * 10), "binary"),  # two distinct values, whatever they are
        (pd.Series([0.0, 1.0, np.nan] * 10), "binary"),  # missing values are not a class
        (pd.Series(["a", "b", "c"] * 10), "multiclass"),
        (pd.Series(pd.Categorical(["a", "b", "c"] * 10)), "multiclass"),
        (pd.Series(np.arange(100) % 4), "multiclass"),  # few integers, many rows
        (pd.Series(np.arange(100) % 4 * 1.0), "multiclass"),  # integer-valued floats
        (pd.Series(np.arange(100) * 1.0), "regression"),  # too many distinct values
        (pd.Series(np.linspace(0, 1, 30)), "regression"),  # non-integers
        (pd.Series([1, 2, 3] * 2), "regression"),  # 3 distinct values in 6 rows: more than a fifth
    ],
)
def test_infer_task(y, task):
    assert infer_task(y) == task


# -- infer_schema -----------------------------------------------------------------------
def _kinds(X: pd.DataFrame) -> dict[str, tuple[str, str]]:
    return {c.name: (c.kind, c.source) for c in infer_schema(X).columns}


def test_infer_schema_drops_constant_and_all_missing_columns():
    X = pd.DataFrame({"const": [7] * N, "empty": [np.nan] * N, "x": np.arange(N)})
    schema = infer_schema(X)
    reasons = {c.name: c.reason for c in schema.columns}
    assert schema.names("drop") == ["const", "empty"]
    assert reasons["const"] == "constant"
    assert "missing" in reasons["empty"]
    assert [c.name for c in schema.kept] == ["x"]


def test_infer_schema_drops_string_identifiers_but_not_integer_ones():
    X = pd.DataFrame({"id": [f"row-{i}" for i in range(N)], "n": np.arange(N), "c": ["a", "b"] * (N // 2)})
    kinds = _kinds(X)
    assert kinds["id"][0] == "drop"
    assert kinds["n"] == ("numeric", "number")
    assert kinds["c"] == ("categorical", "string")


def test_infer_schema_keeps_distinct_strings_in_a_short_table():
    # fewer rows than ID_MIN_ROWS: all-distinct strings are not taken for identifiers
    X = pd.DataFrame({"s": ["a", "b", "c", "d", "e"], "n": [1, 2, 3, 4, 5]})
    assert _kinds(X)["s"][0] == "categorical"


def test_infer_schema_datetime_columns():
    dates = pd.date_range("2021-01-01", periods=N, freq="D")
    X = pd.DataFrame({"d": dates, "d_obj": pd.Series(list(dates), dtype=object), "x": np.arange(N)})
    kinds = _kinds(X)
    assert kinds["d"] == ("datetime", "datetime")
    assert kinds["d_obj"] == ("datetime", "datetime")


def test_infer_schema_bool_columns_are_numeric():
    X = pd.DataFrame({"b": [True, False] * (N // 2), "b_obj": pd.Series([True, False] * (N // 2), dtype=object)})
    kinds = _kinds(X)
    assert kinds["b"] == ("numeric", "bool")
    assert kinds["b_obj"] == ("numeric", "bool")


def test_infer_schema_object_column_mixing_numbers_and_strings_is_categorical():
    X = pd.DataFrame({"m": pd.Series([1, "a", 2.5, "b"] * (N // 4), dtype=object)})
    info = infer_schema(X).columns[0]
    assert (info.kind, info.source) == ("categorical", "object")
    assert "mixed" in info.reason


def test_infer_schema_numbers_written_as_text_are_numeric():
    X = pd.DataFrame({"t": [str(i % 7) for i in range(N)], "t_obj": pd.Series([f"{i % 5}.5" for i in range(N)])})
    kinds = _kinds(X)
    assert kinds["t"] == ("numeric", "string")
    assert kinds["t_obj"] == ("numeric", "string")


def test_infer_schema_object_numbers_are_numeric():
    X = pd.DataFrame({"o": pd.Series([1, 2.5, 3, np.nan] * (N // 4), dtype=object)})
    assert _kinds(X)["o"] == ("numeric", "number")


def test_infer_schema_category_and_timedelta_columns():
    X = pd.DataFrame(
        {
            "cat": pd.Categorical(["x", "y", "z", "w"] * (N // 4)),
            "td": pd.to_timedelta(np.arange(N), unit="s"),
        }
    )
    kinds = _kinds(X)
    assert kinds["cat"] == ("categorical", "category")
    assert kinds["td"] == ("numeric", "timedelta")


def test_infer_schema_category_identifiers_are_kept():
    # a pandas category column was declared categorical by the user: never an identifier
    X = pd.DataFrame({"cat": pd.Categorical([f"k{i}" for i in range(N)])})
    assert _kinds(X)["cat"][0] == "categorical"


@pytest.mark.parametrize("nested", [[1, 2], {"k": 1}, (1, 2), {1, 2}, np.zeros(2)])
def test_infer_schema_nested_values_raise_naming_the_column(nested):
    values = pd.Series([nested] + [None] * (N - 1), dtype=object)
    X = pd.DataFrame({"ok": np.arange(N), "bad col": values})
    with pytest.raises(DataError, match="column 'bad col' holds nested values"):
        infer_schema(X)


def test_infer_schema_complex_numbers_raise_naming_the_column():
    X = pd.DataFrame({"z": np.arange(N) + 1j})
    with pytest.raises(DataError, match="column 'z' holds complex numbers"):
        infer_schema(X)


def test_infer_schema_without_usable_columns_raises():
    X = pd.DataFrame({"const": [1] * N, "id": [f"id{i}" for i in range(N)]})
    with pytest.raises(DataError, match="no usable column"):
        infer_schema(X)


def test_infer_schema_safe_names_are_unique_identifiers():
    X = pd.DataFrame({"a b": [1, 2] * 5, "a-b": [3, 4] * 5, "1st": [5, 6] * 5, "%": [7, 8] * 5})
    safes = [c.safe for c in infer_schema(X).columns]
    assert len(set(safes)) == len(safes)
    assert all(s.replace("_", "").isalnum() and not s[0].isdigit() for s in safes)
