"""The ``automl`` command, run as a user runs it: a separate process, files in, files and exit codes out."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table

import automl
from automl.cli import main


def run(*args: str, check_code: int | None = 0) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "automl", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check_code is not None:
        assert proc.returncode == check_code, proc.stderr
    return proc


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    X, y = mixed_table(300, seed=2)
    train = X.assign(target=y)
    train.to_csv(folder / "train.csv", index=False)
    X.head(40).to_parquet(folder / "new.parquet")
    model = folder / "model.automl"
    proc = run("fit", str(folder / "train.csv"), "--target", "target", "-t", "6", "--n-jobs", "2", "-o", str(model))
    return folder, model, proc, X


def test_fit_saves_a_model_and_prints_the_leaderboard(files):
    folder, model, proc, X = files
    assert "rank" in proc.stdout and "final model:" in proc.stdout and str(model) in proc.stdout
    fitted = automl.load(model)
    assert fitted.task_ == "binary" and list(fitted.feature_names_in_) == list(X.columns)


def test_predict_writes_labels_or_probabilities(files):
    folder, model, _, X = files
    run("predict", str(model), str(folder / "new.parquet"), "-o", str(folder / "pred.csv"))
    labels = pd.read_csv(folder / "pred.csv")["prediction"]
    fitted = automl.load(model)
    expected = fitted.predict(pd.read_parquet(folder / "new.parquet"))
    np.testing.assert_array_equal(labels.to_numpy(dtype=object), expected)
    proba = run("predict", str(model), str(folder / "new.parquet"), "--proba").stdout
    table = pd.read_csv(pd.io.common.StringIO(proba))
    assert list(table.columns) == ["no", "yes"] and len(table) == 40
    np.testing.assert_allclose(table.sum(axis=1), 1.0)


def test_leaderboard_reads_the_file(files):
    _, model, _, _ = files
    out = run("leaderboard", str(model), "--top", "3").stdout
    assert "metric: roc_auc" in out and len([line for line in out.splitlines() if " ok" in line]) == 3
    meta = json.loads(run("leaderboard", str(model), "--json").stdout)
    assert meta["task"] == "binary" and meta["leaderboard"]["columns"][0] == "rank"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["fit", "{folder}/train.csv", "--target", "nope", "-o", "{folder}/x.automl"], "no column 'nope'"),
        (["fit", "{folder}/missing.csv", "--target", "target", "-o", "{folder}/x.automl"], "missing.csv: no such file"),
        (["fit", "{folder}/train.csv", "-y", "target", "--groups", "who", "-o", "x"], "no column 'who' (--groups)"),
        (["fit", "{folder}/train.csv", "-y", "target", "--weight", "w", "-o", "x"], "no column 'w' (--weight)"),
        (["fit", "{folder}/train.csv", "-y", "target", "--time", "when", "-o", "x"], "time='when' is not a column"),
        (["fit", "{folder}/train.csv", "--target", "target", "-t", "-1", "-o", "x"], "must be positive"),
        (["fit", "{folder}/model.automl", "--target", "target", "-o", "x"], "unknown file type"),
        (["predict", "{folder}/train.csv", "{folder}/new.parquet"], "not an automl model file"),
        (["predict", "{folder}/model.automl", "{folder}/nothing.csv"], "nothing.csv: no such file"),
        (["predict", "{folder}/model.automl", "{folder}/bad.csv"], "bad.csv"),
        (["leaderboard", "{folder}/absent.automl"], "absent.automl: no such model file"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(files, args, message, capsys):
    folder = files[0]
    (folder / "bad.csv").write_text('a,b\n1,"unterminated\n')
    try:  # the command's own function, in this process: a new interpreter for each would cost seconds
        code = main([a.format(folder=folder) for a in args])
    except SystemExit as exc:  # argparse's own errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2
    assert message in err, err
    assert "Traceback" not in err and not out


@pytest.mark.parametrize(("args", "message"), [(["frobnicate"], "invalid choice"), (["fit", "x.csv"], "--target")])
def test_errors_of_the_real_command_are_one_line_with_exit_code_2(args, message):
    proc = run(*args, check_code=2)
    assert message in proc.stderr and "Traceback" not in proc.stderr and not proc.stdout


def test_fit_takes_weight_groups_and_time_columns(tmp_path):
    rng = np.random.default_rng(0)
    n = 240
    table = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "day": pd.date_range("2025-01-01", periods=n, freq="D").astype(str),
            "store": np.repeat(np.arange(24), 10),
            "w": rng.uniform(0.5, 2.0, n),
        }
    )
    table["sales"] = 2 * table["x"] + rng.normal(scale=0.1, size=n)
    table.to_csv(tmp_path / "sales.csv", index=False)
    common = ["fit", str(tmp_path / "sales.csv"), "-y", "sales", "-t", "4", "--n-jobs", "2", "-v", "0"]
    run(*common, "--weight", "w", "--time", "day", "-o", str(tmp_path / "t.automl"))
    by_time = automl.load(tmp_path / "t.automl")
    assert list(by_time.feature_names_in_) == ["x", "day", "store"], "the weight column is not a feature"
    assert "time-ordered" in by_time.cv_
    run(*common, "--groups", "store", "-o", str(tmp_path / "g.automl"))
    by_group = automl.load(tmp_path / "g.automl")
    assert list(by_group.feature_names_in_) == ["x", "day", "w"] and "by group" in by_group.cv_


def test_every_subcommand_documents_its_options():
    for command in ("fit", "predict", "leaderboard", "export-onnx", "serve", "drift", "plugins", "worker"):
        out = run(command, "--help").stdout
        assert f"usage: automl {command}" in out and "--" in out


def test_export_onnx_writes_a_checked_graph(files):
    from automl.deploy.onnx import load_onnx

    folder, model, _, X = files
    out = run("export-onnx", str(model), "-o", str(folder / "model.onnx")).stdout
    assert "ONNX parity on 1000 rows" in out and "0 labels differ" in out and "passed" in out
    graph = load_onnx(folder / "model.onnx")
    fitted = automl.load(model)
    np.testing.assert_allclose(graph.predict_proba(X.head(50)), fitted.predict_proba(X.head(50)), atol=1e-3)
    proc = run("export-onnx", str(model), "-o", str(folder / "no" / "such" / "dir.onnx"), check_code=None)
    assert proc.returncode == 2 and "dir.onnx" in proc.stderr and "Traceback" not in proc.stderr


def _installed(folder, name, code):
    """A distribution named ``name`` with an ``automl`` entry point, importable from ``folder`` (no pip needed)."""
    module = name.replace("-", "_")
    (folder / f"{module}.py").write_text(code)
    info = folder / f"{module}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[automl]\n{name.split('-')[-1]} = {module}\n")


def test_plugins_lists_installed_plugins_their_components_and_failures(tmp_path):
    _installed(
        tmp_path,
        "automl-probe",
        "from sklearn.linear_model import LogisticRegression\n"
        "from automl import ModelSpec, hookimpl\n"
        "@hookimpl\n"
        "def automl_register_models(register):\n"
        "    register(ModelSpec(name='probe', tasks='classification', build=lambda p, c: LogisticRegression()))\n",
    )
    _installed(tmp_path, "automl-broken", "import fancyboost_that_does_not_exist\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "automl", "plugins"], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    assert "automl-probe 1.2.3 (entry point 'probe' = automl_probe)" in proc.stdout
    assert "model        probe" in proc.stdout and "binary, multiclass" in proc.stdout
    assert "failed:" in proc.stdout and "fancyboost_that_does_not_exist" in proc.stdout
    assert "model        lightgbm" in proc.stdout  # the built-ins too
    out = subprocess.run(
        [sys.executable, "-m", "automl", "plugins", "--json"], capture_output=True, text=True, env=env, check=True
    )
    data = json.loads(out.stdout)
    probe = next(p for p in data["plugins"] if p["name"] == "probe")
    assert (probe["distribution"], probe["version"], probe["builtin"]) == ("automl-probe", "1.2.3", False)
    assert probe["components"] == [{"kind": "model", "name": "probe", "tasks": ["binary", "multiclass"]}]
    assert [f["name"] for f in data["failures"]] == ["broken"]


def test_fit_continues_a_stored_study_and_refuses_another_metric(files, tmp_path):
    folder, _, _, _ = files
    data, journal = str(folder / "train.csv"), str(tmp_path / "search.log")
    common = ["fit", data, "--target", "target", "-t", "4", "--n-jobs", "2", "--storage", journal, "--study", "t"]
    run(*common, "-o", str(tmp_path / "a.skops"))
    second = automl.load(run(*common, "-o", str(tmp_path / "b.skops")) and tmp_path / "b.skops")
    assert second.leaderboard_.earlier.any()
    proc = run(*common, "-o", str(tmp_path / "c.skops"), "--metric", "accuracy", check_code=2)
    assert proc.stderr.strip().endswith("or give a new study_name.")
    assert "the metric differs (metric 'roc_auc' then, 'accuracy' now)" in proc.stderr
    assert not (tmp_path / "c.skops").exists()
