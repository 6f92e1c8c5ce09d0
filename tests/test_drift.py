"""Drift checks: new rows against the training profile a fitted model keeps."""

from __future__ import annotations

import copy
import json
import math
import types

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.data.profile import profile_table
from automl.deploy.drift import PREDICTIONS, DriftReport, drift, psi
from automl.deploy.io import read_log_predictions, read_table
from automl.pipeline.schema import infer_schema

N_TRAIN = 300
N_NEW = 3000


def table(n: int, seed: int) -> pd.DataFrame:
    """Numeric, categorical string and datetime columns, always from the same distribution."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.uniform(0, 10, size=n),
            "city": pd.array(rng.choice(["paris", "rome", "oslo"], size=n, p=[0.5, 0.3, 0.2]), dtype="str"),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.uniform(0, 365, size=n), unit="D"),
        }
    )


def _fit(X: pd.DataFrame, y: pd.Series) -> AutoML:
    model = AutoML(time_budget=4, random_state=0, verbose=0).fit(X, y)
    if model.data_profile_["predictions"] is None:  # a cold start finished no trial: the second fit is warm
        model = AutoML(time_budget=4, random_state=0, verbose=0).fit(X, y)
    assert model.data_profile_["predictions"] is not None
    return model


@pytest.fixture(scope="module")
def classifier() -> AutoML:
    X = table(N_TRAIN, 0)
    rng = np.random.default_rng(100)
    logit = 1.5 * X["a"] + (X["city"] == "rome") - 0.2 * (X["b"] - 5)
    y = pd.Series(np.where(logit + rng.normal(scale=0.5, size=N_TRAIN) > 0, "yes", "no"), name="target")
    return _fit(X, y)


@pytest.fixture(scope="module")
def regressor() -> AutoML:
    X = table(N_TRAIN, 0)
    rng = np.random.default_rng(101)
    y = pd.Series(3 * X["a"] + 0.5 * X["b"] + 2 * (X["city"] == "rome") + rng.normal(scale=0.3, size=N_TRAIN))
    return _fit(X, y)


@pytest.fixture(scope="module")
def same() -> pd.DataFrame:
    return table(N_NEW, 1)


def _row(report: DriftReport, column: str) -> pd.Series:
    rows = report.table.loc[report.table["column"] == column]
    assert len(rows) == 1, report.table
    return rows.iloc[0]


@pytest.mark.parametrize("seed", range(5))
def test_a_few_rows_from_the_same_distribution_are_not_called_drift(classifier, seed):
    # with 20 rows over ten bins the PSI alone is often past the threshold; the chi-square test says it is chance
    report = drift(classifier, table(20, 10 + seed))
    assert not report.drifted, str(report)
    assert (report.table["chi2_pvalue"] >= 0.01).all()
    large = report.table["psi"] >= 0.1  # a large PSI by chance is called so, not "stable"
    assert (report.table.loc[large, "verdict"] == "not significant").all(), str(report)
    assert (report.table.loc[~large, "verdict"] == "stable").all(), str(report)


def test_chance_psi_is_named_not_significant(classifier):
    reports = [drift(classifier, table(20, 10 + seed)) for seed in range(5)]
    assert any((r.table["verdict"] == "not significant").any() for r in reports)


def test_a_large_shift_is_found_in_a_few_rows(classifier):
    X = table(30, 20).assign(a=lambda d: d["a"] + 4)
    assert _row(drift(classifier, X), "a")["verdict"] == "drift"


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_same_distribution_is_stable(name, request, same):
    model = request.getfixturevalue(name)
    report = drift(model, same)
    assert not report.drifted, str(report)
    assert set(report.table["verdict"]) == {"stable"}, str(report)
    assert list(report.table["column"].sort_values()) == sorted(["a", "b", "city", "when", PREDICTIONS])
    assert report.n_rows == N_NEW and report.threshold == 0.25
    numeric = report.table.loc[report.table["kind"].isin(["numeric", "datetime"])]
    assert (numeric["ks_pvalue"] > 0.001).all(), str(report)
    assert (report.table["missing_new"] == 0).all()
    assert _row(report, "city")["unseen_share"] == 0
    psis = report.table["psi"].to_numpy()
    assert (psis[:-1] >= psis[1:]).all(), "sorted by PSI, largest first"


@pytest.mark.parametrize("name", ["classifier", "regressor"])
def test_shifted_numeric_column_drifts(name, request, same):
    model = request.getfixturevalue(name)
    shifted = same.assign(a=same["a"] + 1.5)
    report = drift(model, shifted)
    assert report.drifted
    a = _row(report, "a")
    assert a["verdict"] == "drift" and a["psi"] >= 0.25
    assert a["ks_pvalue"] < 1e-6 and a["ks_statistic"] > 0.3
    for column in ("b", "city", "when"):
        assert _row(report, column)["verdict"] == "stable", str(report)
    assert report.table["column"].iloc[0] == "a"
    # the predictions follow the inputs
    before = _row(drift(model, same), PREDICTIONS)["psi"]
    after = _row(report, PREDICTIONS)["psi"]
    assert after > max(0.1, 3 * before), (before, after)


def test_shifted_datetime_column_drifts(classifier, same):
    report = drift(classifier, same.assign(when=same["when"] + pd.Timedelta(days=200)))
    when = _row(report, "when")
    assert when["kind"] == "datetime" and when["verdict"] == "drift" and when["ks_pvalue"] < 1e-6


def test_new_categories(classifier, same):
    new = same.copy()
    new.loc[new.index[: N_NEW // 4], "city"] = "berlin"
    report = drift(classifier, new)
    city = _row(report, "city")
    assert city["unseen_share"] == pytest.approx(0.25)
    assert city["verdict"] == "drift" and report.drifted
    assert math.isnan(city["ks_statistic"])
    assert _row(report, "a")["verdict"] == "stable"


def test_missing_column(classifier, same):
    report = drift(classifier, same.drop(columns="b"))
    assert report.drifted
    b = report.table.iloc[0]
    assert b["column"] == "b" and b["verdict"] == "missing"
    assert any(note.startswith("predictions not checked") for note in report.notes), report.notes
    assert PREDICTIONS not in set(report.table["column"])


def test_column_of_all_missing_values(classifier, same):
    report = drift(classifier, same.assign(b=np.nan))
    assert _row(report, "b")["verdict"] == "missing" and _row(report, "b")["missing_new"] == 1


def test_missing_share_is_reported(classifier, same):
    b = same["b"].mask(np.random.default_rng(2).random(N_NEW) < 0.4)
    row = _row(drift(classifier, same.assign(b=b)), "b")
    assert row["missing_train"] == 0 and row["missing_new"] == pytest.approx(0.4, abs=0.03)


def test_wrong_type(classifier, same):
    report = drift(classifier, same.assign(a="x" + same["a"].round(2).astype(str)))
    assert report.drifted
    assert _row(report, "a")["verdict"] == "wrong type"
    assert report.table.iloc[0]["column"] == "a"
    assert any("'a'" in note and "cannot be read" in note for note in report.notes)
    assert any(note.startswith("predictions not checked") for note in report.notes)


def test_extra_columns_are_ignored(classifier, same):
    report = drift(classifier, same.assign(extra=1, more="z"))
    assert not report.drifted
    assert "extra" not in set(report.table["column"])
    assert any("extra" in note and "more" in note for note in report.notes)


def test_given_predictions_and_request_log(classifier, same, tmp_path):
    predicted = classifier.predict(same)
    assert drift(classifier, same, predictions=predicted).table.equals(drift(classifier, same).table)
    log = tmp_path / "requests.jsonl"
    with log.open("w") as fh:
        for start in range(0, 1000, 250):
            rows = same.iloc[start : start + 250]
            records = json.loads(rows.to_json(orient="records", date_format="iso"))
            fh.write(json.dumps({"rows": records, "predictions": list(predicted[start : start + 250])}) + "\n")
    X_log, logged = read_table(log), read_log_predictions(log)
    report = drift(classifier, X_log, predictions=logged)
    assert report.n_rows == 1000 and not report.drifted, str(report)
    all_yes = ["yes"] * len(logged)
    assert _row(drift(classifier, X_log, predictions=all_yes), PREDICTIONS)["verdict"] == "drift"


def test_report_as_dict_and_text(classifier, same):
    report = drift(classifier, same.drop(columns="b").assign(a=same["a"] * 3))
    out = report.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["drifted"] is True
    assert [row["column"] for row in out["columns"]] == list(report.table["column"])
    assert out["columns"][0]["psi"] is None and out["columns"][0]["verdict"] == "missing"
    shown = str(report)
    assert "verdict: DRIFT" in shown and "b (missing)" in shown and "a (drift)" in shown
    assert "verdict: no drift" in str(drift(classifier, same))


def test_saved_model_gives_the_same_report(classifier, same, tmp_path):
    path = tmp_path / "model.automl"
    classifier.save(path)
    shifted = same.assign(a=same["a"] + 1.0)
    for X in (same, shifted):
        from_file, in_memory = drift(path, X), drift(classifier, X)
        pd.testing.assert_frame_equal(from_file.table, in_memory.table)
        assert from_file.to_dict() == in_memory.to_dict()
    assert drift(str(path), same).drifted is False


def test_bad_arguments(classifier, same):
    with pytest.raises(ValueError, match="X_new"):
        drift(classifier, same.iloc[:0])
    with pytest.raises(ValueError, match="X_new"):
        drift(classifier, same.to_numpy())
    with pytest.raises(ValueError, match="threshold"):
        drift(classifier, same, threshold=0)
    old = copy.copy(classifier)
    del old.data_profile_
    with pytest.raises(ValueError, match="refit"):
        drift(old, same)


def test_threshold_sets_the_verdict(classifier, same):
    shifted = same.assign(a=same["a"] + 0.5)
    value = _row(drift(classifier, shifted), "a")["psi"]
    assert _row(drift(classifier, shifted, threshold=value * 1.01), "a")["verdict"] == "moderate"
    assert _row(drift(classifier, shifted, threshold=value * 0.99), "a")["verdict"] == "drift"


def test_psi():
    assert psi(np.array([0.5, 0.5]), np.array([0.5, 0.5])) == 0
    expected = (0.7 - 0.5) * np.log(0.7 / 0.5) + (0.3 - 0.5) * np.log(0.3 / 0.5)
    assert psi(np.array([0.5, 0.5]), np.array([0.7, 0.3])) == pytest.approx(expected)
    assert psi(np.array([1.0, 0.0]), np.array([0.9, 0.1])) == pytest.approx(
        (0.9 - 1) * np.log(0.9) + (0.1 - 1e-4) * np.log(0.1 / 1e-4)
    )


def test_flags_and_many_categories_without_a_fit():
    """A profile built directly: a flag (no KS test), more categories than the profile keeps, a dropped column."""
    rng = np.random.default_rng(0)
    n = 2000
    X = pd.DataFrame(
        {
            "flag": rng.random(n) < 0.3,
            "code": pd.array([f"c{i}" for i in rng.integers(0, 150, size=n)], dtype="str"),
            "const": 1.0,
        }
    )
    model = types.SimpleNamespace(
        data_profile_={"table": profile_table(X, infer_schema(X)), "predictions": None},
        predict=lambda X: np.zeros(len(X)),
    )
    new = X.assign(code=pd.array([f"c{i}" for i in rng.integers(100, 300, size=n)], dtype="str"))
    report = drift(model, new)
    flag, code, const = (_row(report, c) for c in ("flag", "code", "const"))
    assert flag["verdict"] == "stable" and math.isnan(flag["ks_pvalue"])
    assert math.isnan(code["unseen_share"]) and code["verdict"] == "drift"
    assert const["verdict"] == "not used" and report.table.iloc[-1]["column"] == "const"
    assert any("'code'" in note for note in report.notes)
    assert any("no profile of its predictions" in note for note in report.notes)
    assert drift(model, X.drop(columns="const")).drifted is False


def test_durations_in_another_dtype():
    """A duration column is compared as durations, whatever the unit or dtype of the new values."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"wait": pd.to_timedelta(rng.uniform(0, 100, size=1000), unit="h"), "f": rng.normal(size=1000)})
    model = types.SimpleNamespace(data_profile_={"table": profile_table(X, infer_schema(X)), "predictions": None})
    for wait in (X["wait"].astype("timedelta64[s]"), X["wait"].astype(object)):
        report = drift(model, X.assign(wait=wait))
        assert _row(report, "wait")["psi"] == pytest.approx(0, abs=1e-9), str(report)
    assert _row(drift(model, X.assign(wait=X["wait"] * 2)), "wait")["verdict"] == "drift"
    report = drift(model, X.assign(wait="soon"))
    assert _row(report, "wait")["verdict"] == "wrong type"
    assert any("durations" in note for note in report.notes)
