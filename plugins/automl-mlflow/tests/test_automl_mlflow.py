"""automl-mlflow against real local tracking stores (SQLite and a directory), read back with MlflowClient."""

from __future__ import annotations

import copy
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from automl import AutoML
from automl.context import Context, SearchContext
from sklearn.datasets import load_breast_cancer, load_diabetes

pytest.importorskip("automl_mlflow", reason="the automl-mlflow distribution is not installed")

import mlflow.artifacts
import mlflow.pyfunc
from mlflow.tracking import MlflowClient

from automl_mlflow import MLflowTracker, MLflowTrackingWarning
from automl_mlflow.plugin import ENV_TRACKER
from automl_mlflow.records import RUN_STATUS

FIT = {"time_budget": 5, "n_jobs": 1, "random_state": 0, "verbose": 0}


@pytest.fixture(autouse=True)
def _no_env_tracking(monkeypatch):
    for name in ("MLFLOW_TRACKING_URI", "AUTOML_MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(name, raising=False)


def classification_table() -> tuple[pd.DataFrame, pd.Series]:
    """300 rows: six numeric columns, a string column and a constant column (dropped when cleaning)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:300, :6].copy()
    X["size"] = np.where(X["mean radius"] > X["mean radius"].median(), "large", "small")
    X["source"] = "lab"
    return X, y.iloc[:300].map({0: "malignant", 1: "benign"})


def parent_and_trials(client: MlflowClient, run_id: str) -> tuple:
    parent = client.get_run(run_id)
    trials = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'", max_results=1000)
    return parent, trials


def load_logged_model(uri: str, run_id: str, tmp_path) -> mlflow.pyfunc.PyFuncModel:
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="model", dst_path=str(tmp_path / "download"), tracking_uri=uri
    )
    return mlflow.pyfunc.load_model(local)


def test_sqlite_store_gets_the_fit_its_trials_and_a_model_that_predicts(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    X, y = classification_table()
    artifact_dir = tmp_path / "artifacts"
    tracker = MLflowTracker(
        tracking_uri=uri, experiment_name="cancer", tags={"team": "tests"}, artifact_location=artifact_dir.as_uri()
    )
    automl = AutoML(plugins=[tracker], **FIT).fit(X, y)
    assert tracker.flush(120)

    client = MlflowClient(uri)
    parent, trials = parent_and_trials(client, tracker.last_run_id)
    assert client.get_experiment(parent.info.experiment_id).name == "cancer"
    assert parent.info.status == "FINISHED"
    params = parent.data.params
    assert params["task"] == "binary" and params["metric"] == automl.metric_ and params["time_budget"] == "5"
    assert params["n_features"] == "7" and params["n_categorical"] == "1" and params["n_classes"] == "2"
    assert set(params["models"].split(",")) >= {"linear", "lightgbm"} and params["cv"]
    assert params["n_rows"] == "300" and 0 < int(params["fold_rows"]) < 300
    assert set(params["classes"].split(",")) == {"benign", "malignant"}
    if np.isfinite(automl.best_score_):  # on a loaded machine no trial may finish: then the baseline is the model
        assert parent.data.metrics["best_score"] == pytest.approx(automl.best_score_)
    assert parent.data.tags["team"] == "tests"
    assert parent.data.tags["automl.final_model"] == params["final_model"]

    # one nested run per trial, its MLflow status from the trial's status
    board = automl.leaderboard_
    searched = board[board["trial"].notna()]
    assert len(trials) == len(searched) == parent.data.metrics["n_trials"]
    by_trial = {int(run.data.tags["automl.trial"]): run for run in trials}
    for row in searched.itertuples():
        run = by_trial[int(row.trial)]
        assert run.data.tags["automl.status"] == row.status
        assert run.info.status == RUN_STATUS[row.status]
        assert run.data.params["model"] == row.model
        if row.status == "ok":
            assert run.data.metrics["score_mean"] == pytest.approx(row.score_mean)
            folds = client.get_metric_history(run.info.run_id, "fold_score")
            assert [m.step for m in folds] == list(range(row.n_folds))
        if row.error:
            assert run.data.tags["automl.error"] == row.error[:5000]

    # artifacts: the leaderboard as CSV, and the model, which predicts as the estimator does
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert {"leaderboard.csv", "model", "pipeline.txt"} <= artifacts
    assert any(artifact_dir.rglob("MLmodel")) and not (Path.cwd() / "mlruns").exists()
    csv = client.download_artifacts(parent.info.run_id, "leaderboard.csv", str(tmp_path))
    logged_board = pd.read_csv(csv)
    assert list(logged_board.columns) == list(board.columns) and len(logged_board) == len(board)
    assert tracker.last_model_uri == f"runs:/{parent.info.run_id}/model"
    model = load_logged_model(uri, parent.info.run_id, tmp_path)
    inputs = {spec.name: spec for spec in model.metadata.get_input_schema().inputs}
    assert list(inputs) == list(X.columns)
    assert inputs["size"].type.name == "string" and inputs["mean radius"].type.name == "double"
    np.testing.assert_array_equal(model.predict(X), automl.predict(X))


def test_file_store_regression_model_predicts_through_pyfunc(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file store behind this switch
    uri = (tmp_path / "mlruns").as_uri()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X, y = X.iloc[:200], y.iloc[:200]
    tracker = MLflowTracker(tracking_uri=uri, experiment_name="diabetes", run_name="first")
    automl = AutoML(plugins=[tracker], **FIT).fit(X, y)
    assert tracker.flush(120)

    client = MlflowClient(uri)
    parent, trials = parent_and_trials(client, tracker.last_run_id)
    assert parent.info.run_name == "first" and parent.info.status == "FINISHED"
    assert parent.data.params["task"] == "regression" and parent.data.params["n_rows"] == "200"
    assert len(trials) == automl.leaderboard_["trial"].notna().sum()
    model = load_logged_model(uri, parent.info.run_id, tmp_path)
    np.testing.assert_allclose(model.predict(X), automl.predict(X))


def test_a_broken_tracking_store_costs_one_warning_not_the_fit(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    tracker = MLflowTracker(tracking_uri=f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}")
    X, y = classification_table()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        automl = AutoML(plugins=[tracker], **FIT).fit(X, y)
    ours = [w for w in caught if issubclass(w.category, MLflowTrackingWarning)]
    assert len(ours) == 1
    assert "automl-mlflow" in str(ours[0].message) and "a-file" in str(ours[0].message)
    assert not [w for w in caught if "observer" in str(w.message)]  # the hooks themselves never raised
    assert automl.predict(X).shape == (len(X),)


def search_context() -> SearchContext:
    ctx = Context(task="binary", n_rows=10, n_features=2, n_numeric=2, n_classes=2)
    return SearchContext(context=ctx, metric="roc_auc", models=("linear",), cv="holdout", time_budget=4.0)


def test_the_installed_tracker_waits_for_a_tracking_uri(monkeypatch):
    ENV_TRACKER.automl_search_started(search_context())
    assert ENV_TRACKER._fit is None  # no variable: nothing is tracked, no store is created
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///nowhere.db")
    monkeypatch.setenv("AUTOML_MLFLOW_TRACKING_URI", "sqlite:///first.db")
    assert ENV_TRACKER._resolve_uri() == "sqlite:///first.db"
    ENV_TRACKER._fit = None


def test_the_installed_tracker_tracks_from_the_environment_and_never_doubles_a_parent_run(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'env.db'}"
    monkeypatch.chdir(tmp_path)  # a database store keeps new experiments' artifacts in ./mlruns
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    X, y = classification_table()
    AutoML(**FIT).fit(X, y)  # no plugin given: the entry point's tracker records the fit
    assert ENV_TRACKER.flush(120)
    explicit = MLflowTracker(tracking_uri=uri)
    AutoML(plugins=[explicit], **FIT).fit(X, y)  # both present: one parent run, the explicit tracker's
    assert explicit.flush(120) and ENV_TRACKER.flush(120)

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("from-env")
    parents = client.search_runs([experiment.experiment_id], "tags.`automl.plugin` = 'automl-mlflow'")
    assert len(parents) == 2
    assert {run.info.run_id for run in parents} == {ENV_TRACKER.last_run_id, explicit.last_run_id}
    assert all(run.info.status == "FINISHED" for run in parents)


def test_tracker_survives_deepcopy_and_pickle():
    tracker = MLflowTracker(tracking_uri="sqlite:///x.db", experiment_name="e", log_model=False)
    for twin in (copy.deepcopy(tracker), pickle.loads(pickle.dumps(tracker))):
        assert repr(twin) == repr(tracker) and twin.log_model is False and twin.last_run_id is None
