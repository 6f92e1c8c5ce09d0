"""The per-group report: fairlearn's MetricFrame on out-of-fold predictions or on rows passed, from real fits."""

from __future__ import annotations

import copy
import pickle
import re
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score, mean_absolute_error, recall_score, roc_auc_score, root_mean_squared_error

from automl import AutoML, AutoMLRegressor
from automl.evaluation.thresholds import decide
from automl.exceptions import DataError
from automl.report.fairness import gap_table

SMALL = {"time_budget": None, "max_trials": 2, "n_jobs": 1, "random_state": 0, "verbose": 0}
BINARY_COLUMNS = ["rows", "roc_auc", "accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"]


@pytest.fixture(scope="module")
def binary() -> tuple[AutoML, pd.DataFrame, pd.Series]:
    X, y = mixed_table(400)
    return AutoML(include=["linear"], **SMALL).fit(X, y), X, y


@pytest.fixture(scope="module")
def regression(diabetes) -> tuple[AutoMLRegressor, pd.DataFrame, pd.Series]:
    X, y = diabetes[0].iloc[:300], diabetes[1].iloc[:300]
    return AutoMLRegressor(include=["linear"], **SMALL).fit(X, y), X, y


@pytest.fixture(scope="module")
def multiclass(iris_str) -> tuple[AutoML, pd.DataFrame, pd.Series]:
    X, y = iris_str
    return AutoML(include=["linear"], **SMALL).fit(X, y), X, y


def out_of_fold(automl: AutoML) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """The training rows with out-of-fold predictions, their targets and predictions."""
    oof = automl.oof_
    return automl._train[0].iloc[oof["rows"]].reset_index(drop=True), oof["y"], oof["pred"]


def positive(pred: np.ndarray) -> np.ndarray:
    """The positive class's probability from binary out-of-fold predictions (kept 1-D or as two columns)."""
    return pred if pred.ndim == 1 else pred[:, 1]


def fresh_copy(automl: AutoML) -> AutoML:
    """A copy that shares the fit but has no group report yet (copying drops the training table: put it back)."""
    automl.explain()  # the report's explanation, computed once and shared by the copies
    model = copy.copy(automl)
    model._train, model._explained = automl._train, automl._explained
    vars(model).pop("_group_report", None)
    return model


# -- what the numbers are ---------------------------------------------------------------------------
def test_groups_add_up_and_match_the_metrics_computed_by_hand(binary):
    automl = binary[0]
    frame = automl.group_report(sensitive="city")
    assert list(frame.columns) == [*BINARY_COLUMNS, "few_rows"]
    assert frame.index.name == "city" and set(frame.index) == {"paris", "rome", "oslo"}
    X_oof, y_oof, pred = out_of_fold(automl)
    pred = positive(pred)
    assert frame["rows"].sum() == len(y_oof) == frame.attrs["overall"]["rows"]
    assert not frame["few_rows"].any()

    rome = (X_oof["city"] == "rome").to_numpy()
    decided = decide(pred, automl.threshold_)[rome]
    row = frame.loc["rome"]
    assert row["rows"] == rome.sum()
    assert row["roc_auc"] == pytest.approx(roc_auc_score(y_oof[rome], pred[rome]))
    assert row["accuracy"] == pytest.approx(accuracy_score(y_oof[rome], decided))
    assert row["selection_rate"] == pytest.approx(np.mean(decided == 1))
    assert row["true_positive_rate"] == pytest.approx(recall_score(y_oof[rome], decided, pos_label=1))
    assert row["false_positive_rate"] == pytest.approx(1 - recall_score(y_oof[rome], decided, pos_label=0))
    assert frame.attrs["overall"]["roc_auc"] == pytest.approx(roc_auc_score(y_oof, pred))
    assert frame.attrs["predictions"] == "out_of_fold" and frame.attrs["notes"] == []
    assert "Out-of-fold predictions of the training data" in frame.attrs["description"]


def test_gaps_are_the_largest_minus_the_smallest_group(binary):
    frame = binary[0].group_report(sensitive="city")
    gaps = gap_table(frame)
    assert list(gaps.index) == BINARY_COLUMNS[1:]  # every metric column, not rows or few_rows
    for name in gaps.index:
        column = frame[name]
        assert gaps.loc[name, "difference"] == pytest.approx(column.max() - column.min())
        assert gaps.loc[name, "ratio"] == pytest.approx(column.min() / column.max())
        assert gaps.loc[name, "smallest_group"] == column.idxmin()
        assert gaps.loc[name, "largest"] == pytest.approx(column.max())
    assert frame.attrs["gaps"]["accuracy"]["difference"] == gaps.loc["accuracy", "difference"]


def test_small_groups_are_flagged_never_dropped(binary):
    automl = binary[0]
    n = len(automl._train[0])
    sensitive = np.where(np.arange(n) % 2 == 0, "even", "odd").astype(object)
    sensitive[:8] = "tiny"  # an array aligned with the training rows
    frame = automl.group_report(sensitive=sensitive, min_rows=30)
    assert frame.index.name == "sensitive"
    assert frame.loc["tiny", "rows"] == 8 and frame.loc["tiny", "few_rows"]
    assert not frame.loc[["even", "odd"], "few_rows"].any()
    assert frame["rows"].sum() == len(automl.oof_["rows"])
    assert not automl.group_report(sensitive=sensitive, min_rows=0)["few_rows"].any()


def test_a_group_that_cannot_be_scored_is_nan_with_a_note(binary):
    automl = binary[0]
    _, y_oof, _ = out_of_fold(automl)
    positives = np.flatnonzero(y_oof == 1)[:12]
    sensitive = pd.Series("rest", index=range(len(automl._train[0])), name="who", dtype=object)
    sensitive.iloc[automl.oof_["rows"][positives]] = "only_yes"
    frame = automl.group_report(sensitive=sensitive)
    row = frame.loc["only_yes"]
    assert np.isnan(row["roc_auc"]) and np.isnan(row["false_positive_rate"])
    assert row["true_positive_rate"] == pytest.approx(
        np.mean(decide(positive(automl.oof_["pred"])[positives], automl.threshold_) == 1)
    )
    notes = " ".join(frame.attrs["notes"])
    assert "roc_auc is NaN for who=only_yes: the group has one class only ('yes')" in notes
    assert "false_positive_rate is NaN for who=only_yes: the group has no row of the negative class 'no'" in notes
    assert np.isfinite(frame.loc["rest", BINARY_COLUMNS].astype(float)).all()


def test_several_sensitive_columns_group_by_their_combinations(binary):
    automl = binary[0]
    frame = automl.group_report(sensitive=["city", "flag"])
    X_oof, _, _ = out_of_fold(automl)
    counts = X_oof.groupby(["city", "flag"]).size()
    assert frame.index.names == ["city", "flag"]
    assert frame["rows"].to_dict() == counts.to_dict()
    assert frame.attrs["sensitive"] == ["city", "flag"]


def test_missing_sensitive_values_form_their_own_group(binary):
    automl = binary[0]
    frame = automl.group_report(sensitive="obj")  # an object column with missing values
    X_oof, _, _ = out_of_fold(automl)
    assert frame.loc["missing", "rows"] == X_oof["obj"].isna().sum() > 0
    assert frame["rows"].sum() == len(X_oof)


def test_rows_passed_are_scored_with_the_final_model(binary):
    automl = binary[0]
    X_new, y_new = mixed_table(200, seed=1)
    frame = automl.group_report(X_new, y_new, sensitive=X_new["color"].astype(str).to_numpy())
    assert frame["rows"].sum() == 200 and frame.attrs["predictions"] == "given"
    assert frame.attrs["description"] == "Predictions of the final model on the 200 rows passed (X, y)."
    red = (X_new["color"] == "red").to_numpy()
    assert frame.loc["red", "accuracy"] == pytest.approx(accuracy_score(y_new[red], automl.predict(X_new[red])))
    proba = automl.predict_proba(X_new[red])[:, 1]
    assert frame.loc["red", "roc_auc"] == pytest.approx(roc_auc_score(y_new[red] == "yes", proba))
    by_name = automl.group_report(X_new, y_new, sensitive="color")
    assert np.allclose(by_name.loc["red", BINARY_COLUMNS], frame.loc["red", BINARY_COLUMNS])


def test_regression_reports_errors_per_group(regression):
    automl, X, _ = regression
    sex = pd.Series(np.where(X["sex"] > 0, "f", "m"), name="sex")
    frame = automl.group_report(sensitive=sex)
    metric = automl.metric_
    assert list(frame.columns) == ["rows", metric, *[c for c in ("mae", "rmse") if c != metric]] + [
        "mean_prediction",
        "mean_target",
        "few_rows",
    ]
    X_oof, y_oof, pred = out_of_fold(automl)
    f = (X_oof["sex"] > 0).to_numpy()
    assert frame.loc["f", "rows"] == f.sum()
    assert frame.loc["f", "rmse"] == pytest.approx(root_mean_squared_error(y_oof[f], pred[f]), rel=1e-6)
    assert frame.loc["m", "mae"] == pytest.approx(mean_absolute_error(y_oof[~f], pred[~f]), rel=1e-6)
    assert frame.loc["m", "mean_prediction"] == pytest.approx(pred[~f].mean(), rel=1e-6)
    assert frame.loc["m", "mean_target"] == pytest.approx(y_oof[~f].mean())
    assert gap_table(frame).loc["mae", "difference"] == pytest.approx(abs(frame["mae"].diff().iloc[1]))


def test_multiclass_reports_the_metric_and_accuracy_without_rates(multiclass):
    automl, X, _ = multiclass
    sensitive = np.where(X["sepal length (cm)"] > 5.8, "long", "short")
    frame = automl.group_report(sensitive=sensitive)
    assert list(frame.columns) == ["rows", automl.metric_, "accuracy", "few_rows"]
    X_oof, y_oof, pred = out_of_fold(automl)
    long = (X_oof["sepal length (cm)"] > 5.8).to_numpy()
    assert frame.loc["long", "accuracy"] == pytest.approx(accuracy_score(y_oof[long], pred[long].argmax(axis=1)))


# -- errors ---------------------------------------------------------------------------------------
def test_errors_name_the_argument(binary, tmp_path):
    automl, X, y = binary
    with pytest.raises(ValueError, match=r"sensitive names \['nope'\] .*its columns are: \['num', 'num_nan', 'city'"):
        automl.group_report(sensitive="nope")
    with pytest.raises(ValueError, match=r"sensitive has 10 values but the training table .* has 400 rows"):
        automl.group_report(sensitive=np.zeros(10))
    with pytest.raises(ValueError, match=r"sensitive has 400 values but X has 50 rows"):
        automl.group_report(X.iloc[:50], y.iloc[:50], sensitive=np.zeros(400))
    with pytest.raises(ValueError, match=r"group_report\(X\) needs y"):
        automl.group_report(X.iloc[:50], sensitive="city")
    with pytest.raises(DataError, match="y is missing on 1 of 50 rows"):
        automl.group_report(X.iloc[:50], y.iloc[:50].where(np.arange(50) != 3), sensitive="city")
    with pytest.raises(ValueError, match="sensitive makes .* groups"):
        automl.group_report(sensitive="num")  # a continuous column
    with pytest.raises(ValueError, match="min_rows=-1 must be an integer"):
        automl.group_report(sensitive="city", min_rows=-1)
    clash = X["obj"].where(X["obj"].notna() | (np.arange(len(X)) > 0), "missing")
    clash.iloc[1] = np.nan
    with pytest.raises(DataError, match="sensitive column 'obj' has missing values and also the value 'missing'"):
        automl.group_report(sensitive=clash)
    with pytest.raises(ValueError, match="sensitive names"):
        automl.report(tmp_path / "r.html", sensitive="nope")
    assert not (tmp_path / "r.html").exists()


def test_without_out_of_fold_predictions_or_training_table_it_asks_for_rows(binary, tmp_path):
    from automl import load

    automl, X, y = binary
    baseline = fresh_copy(automl)
    baseline.oof_ = None  # what a fit that fell back to the baseline keeps
    with pytest.raises(ValueError, match=r"oof_ is None.*pass labelled rows, group_report\(X, y, sensitive=\.\.\.\)"):
        baseline.group_report(sensitive="city")
    automl.group_report(sensitive="city")
    automl.save(tmp_path / "m.automl")  # a kept group report does not get in the way of the safe format
    for loaded in (load(tmp_path / "m.automl"), pickle.loads(pickle.dumps(automl))):
        with pytest.raises(
            ValueError, match=r"not in a saved or loaded model\): pass labelled rows, group_report\(X, y"
        ):
            loaded.group_report(sensitive="city")
        assert loaded.group_report(X.iloc[:100], y.iloc[:100], sensitive="city")["rows"].sum() == 100


def test_unfitted_raises_not_fitted():
    with pytest.raises(NotFittedError):
        AutoML().group_report(sensitive="city")


def test_without_fairlearn_the_error_names_the_extra_and_the_report_still_works(binary, tmp_path, monkeypatch):
    automl = fresh_copy(binary[0])
    for name in [m for m in sys.modules if m == "fairlearn" or m.startswith("fairlearn.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape('pip install "automl[fairness]"')):
        automl.group_report(sensitive="city")
    assert "<h2>Groups</h2>" not in automl.report(tmp_path / "r.html").read_text()


# -- the report ------------------------------------------------------------------------------------
def test_the_report_has_a_groups_section_only_when_there_is_a_group_report(binary, tmp_path):
    automl = fresh_copy(binary[0])
    page = automl.report(tmp_path / "none.html").read_text()
    assert "<h2>Groups</h2>" not in page
    images = len(re.findall(r"src='data:image/png;base64,", page))

    sensitive = np.array(automl._train[0]["city"], dtype=object)
    sensitive[:5] = "tiny"
    page = automl.report(tmp_path / "groups.html", sensitive=sensitive).read_text()
    section = page.split("<h2>Groups</h2>")[1].split("<h2>")[0]
    assert "Out-of-fold predictions of the training data" in section
    assert "<tr class='few'><th>tiny</th>" in section and "fewer than 30 rows" in section
    assert "Gaps between groups" in section and "roc auc by group" in section
    assert len(re.findall(r"src='data:image/png;base64,", page)) == images + 1
    assert "not drawn" not in page

    X_new, y_new = mixed_table(120, seed=2)
    automl.group_report(X_new, y_new, sensitive="city")  # the last one computed is shown
    page = automl.report(tmp_path / "given.html").read_text()
    assert "Predictions of the final model on the 120 rows passed" in page.split("<h2>Groups</h2>")[1]

    refit = fresh_copy(automl)
    refit._group_report = automl._group_report
    refit.best_pipeline_ = clone(automl.best_pipeline_)  # as after another fit: the old report is not shown
    assert "<h2>Groups</h2>" not in refit.report(tmp_path / "refit.html").read_text()


def test_the_returned_frame_is_a_copy(binary):
    automl = binary[0]
    frame = automl.group_report(sensitive="flag")
    frame["rows"] = 0
    assert automl._group_report[1]["rows"].sum() == len(automl.oof_["rows"])
