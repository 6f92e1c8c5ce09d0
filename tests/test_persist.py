"""Saving and loading a fitted AutoML: exact round trips, the safe format, and clear errors on bad files."""

from __future__ import annotations

import hashlib
import json
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from conftest import FAST, mixed_table
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

import automl
from automl import AutoML, ModelSpec, UntrustedTypeError, VersionWarning, hookimpl
from automl.deploy import trusted_types


def _regression_table(n: int = 240) -> tuple[pd.DataFrame, pd.Series]:
    X, _ = mixed_table(n, seed=3)
    y = pd.Series(2 * X["num"].to_numpy() + (X["city"] == "rome").to_numpy() + 0.1 * np.arange(n) % 3, name="y")
    return X, y


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A binary, a multiclass (string labels) and a regression model, each saved in the safe format."""
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    tables = {
        "binary": mixed_table(240),
        "multiclass": (iris.data, pd.Series(np.asarray(iris.target_names)[iris.target])),
        "regression": _regression_table(),
    }
    out = {}
    for task, (X, y) in tables.items():
        model = AutoML(time_budget=4, **FAST).fit(X, y)
        path = tmp_path_factory.mktemp(task) / "model.automl"
        model.save(path)
        out[task] = (model, X, y, path)
    return out


def _outputs(model, X):
    outs = [model.predict(X)]
    if model.task_ != "regression":
        outs.append(model.predict_proba(X))
    return outs


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_save_then_load_gives_the_same_model(fitted, task):
    model, X, y, path = fitted[task]
    loaded = automl.load(path)
    assert type(loaded) is type(model)
    for a, b in zip(_outputs(model, X), _outputs(loaded, X), strict=True):
        np.testing.assert_array_equal(a, b)  # exactly, not approximately
    assert loaded.score(X, y) == model.score(X, y)
    pd.testing.assert_frame_equal(loaded.leaderboard_, model.leaderboard_)
    for attr in ("task_", "metric_", "best_score_", "threshold_", "n_features_in_", "cv_", "data_profile_"):
        assert getattr(loaded, attr) == getattr(model, attr), attr
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    if task != "regression":
        np.testing.assert_array_equal(loaded.classes_, model.classes_)
        assert loaded.classes_.dtype == model.classes_.dtype
    assert loaded.get_params()["time_budget"] == 4


def test_the_file_carries_metadata_for_people_and_drift_checks(fitted):
    model, X, _, path = fitted["binary"]
    meta = automl.read_metadata(path)
    assert meta["task"] == "binary" and meta["metric"] == model.metric_ == "roc_auc"
    assert meta["classes"]["values"] == ["no", "yes"]
    assert meta["best_score"] == model.best_score_
    assert set(meta["versions"]) >= {"automl", "scikit-learn", "lightgbm", "python", "numpy", "pandas"}
    assert meta["serializer"] == "skops"
    columns = meta["profile"]["table"]["columns"]
    assert list(columns) == list(X.columns)
    assert columns["num"]["kind"] == "numeric" and len(columns["num"]["edges"]) == 9
    assert columns["city"]["kind"] == "categorical" and set(columns["city"]["shares"]) == {"paris", "rome", "oslo"}
    assert 0.1 < columns["num_nan"]["missing"] < 0.2
    assert meta["profile"]["predictions"]["type"] == "categorical"  # shares of predicted classes
    assert meta["profile"]["table"]["n_rows"] == len(X)


def test_joblib_format_is_loaded_only_when_allowed(fitted, tmp_path):
    model, X, _, _ = fitted["regression"]
    path = tmp_path / "model.automl"
    model.save(path, format="joblib")
    with pytest.raises(ValueError, match="pickle.*allow_pickle=True"):
        automl.load(path)
    np.testing.assert_array_equal(automl.load(path, allow_pickle=True).predict(X), model.predict(X))


class Evil(ClassifierMixin, BaseEstimator):
    """A type nobody declared trusted."""

    def fit(self, X, y):
        return self


def _replace_model(path, payload: bytes, out, fix_checksum: bool = True):
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("automl.json"))
    if fix_checksum:
        meta["sha256"] = hashlib.sha256(payload).hexdigest()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("automl.json", json.dumps(meta))
        zf.writestr(meta["model_member"], payload)
    return out


def test_the_safe_format_refuses_a_tampered_file_naming_the_type(fitted, tmp_path):
    _, _, _, path = fitted["binary"]
    evil = sio.dumps(Pipeline([("model", Evil())]))
    tampered = _replace_model(path, evil, tmp_path / "tampered.automl")
    name = f"{Evil.__module__}.Evil"
    with pytest.raises(UntrustedTypeError, match=name.replace(".", r"\.")):
        automl.load(tampered)
    # the caller may vouch for it explicitly
    assert isinstance(automl.load(tampered, trusted=[name]).best_pipeline_[-1], Evil)


def test_changed_bytes_fail_the_checksum(fitted, tmp_path):
    _, _, _, path = fitted["binary"]
    with zipfile.ZipFile(path) as zf:
        payload = bytearray(zf.read("model.skops"))
    payload[len(payload) // 2] ^= 0xFF
    changed = _replace_model(path, bytes(payload), tmp_path / "changed.automl", fix_checksum=False)
    with pytest.raises(ValueError, match="checksum"):
        automl.load(changed)


@pytest.mark.parametrize("damage", ["truncated", "random", "no_metadata", "other_json", "missing", "folder"])
def test_bad_files_raise_a_clear_value_error(fitted, tmp_path, damage):
    _, _, _, path = fitted["binary"]
    bad = tmp_path / "bad.automl"
    if damage == "truncated":
        bad.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif damage == "random":
        bad.write_bytes(np.random.default_rng(0).bytes(5000))
    elif damage == "no_metadata":
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("hello.txt", "hi")
    elif damage == "other_json":
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("automl.json", json.dumps({"format": "something-else"}))
    elif damage == "folder":
        bad.mkdir()
    with pytest.raises(ValueError, match=str(bad.name)) as info:
        automl.load(bad)
    assert not isinstance(info.value, (zipfile.BadZipFile, json.JSONDecodeError))
    assert "Traceback" not in str(info.value)


def test_other_library_versions_warn_with_both_versions(fitted, tmp_path):
    _, X, _, path = fitted["binary"]
    with zipfile.ZipFile(path) as zf:
        meta = json.loads(zf.read("automl.json"))
        payload = zf.read(meta["model_member"])
    meta["versions"]["scikit-learn"] = "1.0.0"
    old = tmp_path / "old.automl"
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("automl.json", json.dumps(meta))
        zf.writestr(meta["model_member"], payload)
    with pytest.warns(VersionWarning, match=r"scikit-learn 1\.0\.0.*scikit-learn \d"):
        automl.load(old)


def test_save_checks_its_arguments(fitted, tmp_path):
    with pytest.raises(ValueError, match="not fitted"):
        AutoML().save(tmp_path / "x.automl")
    model = fitted["binary"][0]
    with pytest.raises(ValueError, match="format="):
        model.save(tmp_path / "x.automl", format="pickle")
    with pytest.raises(ValueError, match="folder"):
        model.save(tmp_path)
    assert not list(tmp_path.glob("*.tmp"))  # nothing half-written left behind


def test_a_failed_save_keeps_the_older_file(fitted, tmp_path, monkeypatch):
    model, _, _, path = fitted["binary"]
    target = tmp_path / "model.automl"
    target.write_bytes(path.read_bytes())
    before = target.read_bytes()

    def broken(pipeline, format):
        raise RuntimeError("disk full")

    monkeypatch.setattr("automl.deploy.persist._serialise", broken)
    with pytest.raises(RuntimeError):
        model.save(target)
    assert target.read_bytes() == before


class SquashedLogistic(LogisticRegression):
    """A plugin's own model class."""


def _plugin(declare: bool):
    class Plugin:
        @hookimpl
        def automl_register_models(self, register):
            register(
                ModelSpec(
                    name="squashed",
                    tasks="classification",
                    build=lambda params, ctx: SquashedLogistic(max_iter=200),
                    needs_scaling=True,
                    trusted_types=(f"{__name__}.SquashedLogistic",) if declare else (),
                )
            )

    return Plugin()


def test_a_plugin_declares_the_types_its_models_hold(tmp_path):
    X, y = mixed_table(160)
    plugin = _plugin(declare=True)
    model = AutoML(time_budget=4, include=["squashed"], plugins=[plugin], ensemble=False, **FAST).fit(X, y)
    model.save(tmp_path / "m.automl")
    assert f"{__name__}.SquashedLogistic" in trusted_types([plugin])
    with pytest.raises(UntrustedTypeError, match="SquashedLogistic"):
        automl.load(tmp_path / "m.automl")  # the plugin is not installed here
    loaded = automl.load(tmp_path / "m.automl", plugins=[plugin])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    with pytest.raises(UntrustedTypeError):
        automl.load(tmp_path / "m.automl", plugins=[_plugin(declare=False)])


@pytest.mark.parametrize(
    "name", ["linear", "knn", "hist_gradient_boosting", "lightgbm", "random_forest", "extra_trees"]
)
def test_every_built_in_model_round_trips_in_the_safe_format(name, tmp_path):
    X, y = mixed_table(200, seed=1)
    model = AutoML(max_trials=2, time_budget=None, include=[name], ensemble=False, cv=3, **FAST).fit(X, y)
    model.save(tmp_path / "m.automl")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no version warning, no untrusted type
        loaded = automl.load(tmp_path / "m.automl")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
