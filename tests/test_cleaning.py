"""automl.cleaning.TableCleaner: the first step of every pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from automl import DataError
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.schema import infer_schema

N = 30


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "num": np.arange(N, dtype=float),
            "cat": ["a", "b", "c"] * (N // 3),
            "flag": [True, False] * (N // 2),
            "when": pd.date_range("2020-01-01", periods=N, freq="D"),
            "numtext": [str(i % 7) for i in range(N)],
            "const": 1,
        }
    )


@pytest.fixture
def cleaner(table) -> TableCleaner:
    return TableCleaner().fit(table)


def test_output_columns_and_kinds(cleaner):
    names = list(cleaner.get_feature_names_out())
    assert names == [
        "num",
        "cat",
        "flag",
        "when_year",
        "when_month",
        "when_day",
        "when_dayofweek",
        "when_epoch_days",
        "numtext",
    ]
    assert cleaner.columns_of_kind("categorical") == ["cat"]
    assert "const" not in names  # constant columns are dropped
    assert "when_hour" not in names  # every timestamp is at midnight


def test_numeric_output_is_float64(cleaner, table):
    out = cleaner.transform(table)
    numeric = cleaner.columns_of_kind("numeric")
    assert all(out[c].dtype == np.float64 for c in numeric)
    assert list(out["flag"][:2]) == [1.0, 0.0]
    assert list(out["numtext"][:3]) == [0.0, 1.0, 2.0]
    assert out["when_year"].iloc[0] == 2020


def test_columns_are_matched_by_name_and_extra_columns_ignored(cleaner, table):
    expected = cleaner.transform(table)
    shuffled = table[list(reversed(table.columns))].assign(extra=np.arange(N), another="x")
    pd.testing.assert_frame_equal(cleaner.transform(shuffled), expected)


def test_missing_columns_raise_naming_them(cleaner, table):
    with pytest.raises(DataError, match=r"lacks 2 column\(s\).*\['num', 'flag'\]"):
        cleaner.transform(table.drop(columns=["num", "flag"]))


def test_dropped_columns_are_still_expected_by_name(cleaner, table):
    # 'const' is ignored, but a table without it is not the training layout
    with pytest.raises(DataError, match="const"):
        cleaner.transform(table.drop(columns=["const"]))


def test_numpy_of_the_same_width_is_accepted(table):
    numeric = table[["num", "numtext"]].astype(float)
    cleaner = TableCleaner().fit(numeric)
    out = cleaner.transform(numeric.to_numpy())
    pd.testing.assert_frame_equal(out, cleaner.transform(numeric))


def test_numpy_of_another_width_raises(cleaner, table):
    with pytest.raises(DataError, match="3 columns but 6 were seen"):
        cleaner.transform(table.to_numpy()[:, :3])


def test_a_string_where_a_number_was_raises_naming_the_column(cleaner, table):
    bad = table.astype({"num": object})
    bad.loc[3, "num"] = "three"
    with pytest.raises(DataError, match="column 'num' held numbers in training but now holds 'three'"):
        cleaner.transform(bad)


def test_a_string_in_a_bool_column_raises_naming_the_column(cleaner, table):
    bad = table.assign(flag=["yes"] * N)
    with pytest.raises(DataError, match="column 'flag'"):
        cleaner.transform(bad)


def test_unparsable_dates_raise_naming_the_column(cleaner, table):
    bad = table.assign(when=["not a date"] * N)
    with pytest.raises(DataError, match="column 'when' held dates"):
        cleaner.transform(bad)


def test_unseen_categories_pass_through(cleaner, table):
    out = cleaner.transform(table.assign(cat=["never seen"] * N))
    assert set(out["cat"]) == {"never seen"}


def test_missing_values_become_nan(cleaner, table):
    holes = table.astype({"cat": object})
    holes.loc[0, "cat"] = None
    holes.loc[1, "num"] = np.nan
    out = cleaner.transform(holes)
    assert np.isnan(out["num"].iloc[1])
    assert pd.isna(out["cat"].iloc[0])
    assert out["cat"].iloc[2] == "c"


def test_categorical_values_are_strings(table):
    X = table.assign(code=[1, "b", 2.5] * (N // 3))  # a mixed object column is read as strings
    cleaner = TableCleaner().fit(X)
    out = cleaner.transform(X)
    assert cleaner.columns_of_kind("categorical") == ["cat", "code"]
    assert all(isinstance(v, str) for v in out["code"])
    assert list(out["code"][:3]) == ["1", "b", "2.5"]


def test_categorical_output_dtype_is_object_as_documented(cleaner, table):
    out = cleaner.transform(table)
    assert out["cat"].dtype == object


def test_a_given_schema_is_used(table):
    schema = infer_schema(table)
    cleaner = TableCleaner(schema).fit(table)
    assert cleaner.schema_ is schema
    with pytest.raises(DataError, match="lacks columns"):
        TableCleaner(schema).fit(table.drop(columns=["cat"]))


def test_transform_before_fit_raises():
    with pytest.raises(NotFittedError):
        TableCleaner().transform(pd.DataFrame({"a": [1.0, 2.0]}))


def test_output_index_is_fresh(cleaner, table):
    shifted = table.set_index(pd.Index(np.arange(N) + 100))
    out = cleaner.transform(shifted)
    assert list(out.index) == list(range(N))


def test_datetime_parts_use_no_deprecated_pandas_api(cleaner, table):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        warnings.simplefilter("error", FutureWarning)
        cleaner.transform(table)


# -- properties ---------------------------------------------------------------------------
_cells = {
    "float": st.one_of(st.floats(allow_nan=True, allow_infinity=False, width=32), st.none()),
    "int": st.integers(-1000, 1000),
    "str": st.one_of(st.sampled_from(["a", "b", "c", "d"]), st.none()),
    "bool": st.booleans(),
}


@st.composite
def tables(draw):
    n = draw(st.integers(2, 25))
    kinds = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=5))
    data = {f"{kind}_{i}": draw(st.lists(_cells[kind], min_size=n, max_size=n)) for i, kind in enumerate(kinds)}
    return pd.DataFrame(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_cleaner_output_is_stable_under_column_order(X):
    try:
        cleaner = TableCleaner().fit(X)
    except DataError as exc:  # every column constant or empty: the only refusal allowed here
        assert "no usable column" in str(exc)
        return
    out = cleaner.transform(X)
    assert list(out.columns) == list(cleaner.get_feature_names_out())
    assert len(out) == len(X)
    for name in cleaner.columns_of_kind("numeric"):
        assert out[name].dtype == np.float64
    for name in cleaner.columns_of_kind("categorical"):
        assert all(isinstance(v, str) or pd.isna(v) for v in out[name])
    pd.testing.assert_frame_equal(cleaner.transform(X[list(reversed(X.columns))]), out)
