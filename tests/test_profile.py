"""The training profile a model keeps for drift checks, and the rows drawn from it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from conftest import mixed_table

from automl.data.profile import MAX_CATEGORIES, prediction_profile, profile_table, sample_rows
from automl.pipeline.schema import infer_schema


def _table(n: int = 2000) -> pd.DataFrame:
    X, _ = mixed_table(n, seed=4)
    rng = np.random.default_rng(0)
    X["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 100, n), unit="D")
    X["took"] = pd.to_timedelta(rng.uniform(0, 60, n), unit="s")
    X["many"] = [f"v{i}" for i in rng.integers(0, 3 * MAX_CATEGORIES, n)]
    return X


def test_the_profile_describes_every_column_without_rows():
    X = _table()
    profile = profile_table(X, infer_schema(X))
    json.dumps(profile)  # plain JSON
    cols = profile["columns"]
    assert profile["n_rows"] == len(X) and list(cols) == list(X.columns)
    num = cols["num"]
    assert num["kind"] == "numeric" and len(num["edges"]) == 9 and len(num["cdf"]) == 101
    assert np.isclose(sum(num["shares"]), 1.0) and np.allclose(num["shares"], 0.1, atol=0.01)
    assert np.isclose(cols["num_nan"]["missing"], X["num_nan"].isna().mean())
    assert set(cols["city"]["shares"]) == {"paris", "rome", "oslo"} and cols["city"]["other"] == 0
    assert len(cols["many"]["shares"]) == MAX_CATEGORIES and cols["many"]["other"] > 0
    assert cols["flag"]["type"] == "numeric" and cols["flag"]["source"] == "bool"
    # dates as seconds since the epoch, durations as seconds
    assert abs(cols["when"]["cdf"][0] - pd.Timestamp("2024-01-01").timestamp()) < 86400
    assert 0 <= cols["took"]["cdf"][0] and cols["took"]["cdf"][-1] <= 60


def test_rows_drawn_from_a_profile_have_its_distribution_and_dtypes():
    X = _table()
    profile = profile_table(X, infer_schema(X))
    rows = sample_rows({"table": profile}, 4000, seed=1)
    assert list(rows.columns) == list(X.columns)
    assert rows["flag"].dtype == bool and rows["when"].dtype.kind == "M" and rows["took"].dtype.kind == "m"
    again = profile_table(rows, infer_schema(X))["columns"]
    for name in ("num", "num_nan", "when", "took"):
        assert np.allclose(again[name]["cdf"][5:-5], profile["columns"][name]["cdf"][5:-5], rtol=0.1, atol=0.2), name
        assert abs(again[name]["missing"] - profile["columns"][name]["missing"]) < 0.03
    assert abs(again["city"]["shares"]["rome"] - profile["columns"]["city"]["shares"]["rome"]) < 0.03
    assert "__other__" in set(rows["many"])  # the categories the profile did not keep: unseen ones


def test_the_prediction_profile_decides_classes_as_predict_does():
    proba = np.array([[0.7, 0.3], [0.4, 0.6], [0.8, 0.2], [0.9, 0.1]])
    classes = np.array(["no", "yes"])
    assert prediction_profile(proba, "binary", classes)["shares"] == {"no": 0.75, "yes": 0.25}
    tuned = prediction_profile(proba, "binary", classes, threshold=0.25)["shares"]
    assert tuned == {"yes": 0.5, "no": 0.5}
    assert prediction_profile(np.arange(10.0), "regression", None)["type"] == "numeric"
    assert prediction_profile(None, "binary", classes) is None
