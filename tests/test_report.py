"""The notebook experience: progress bar, summaries, plots, explanations and the HTML report, from real fits."""

from __future__ import annotations

import base64
import io
import pickle
import re
import sys
import threading

import matplotlib
import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table
from sklearn.exceptions import NotFittedError

from automl import AutoML, AutoMLRegressor, DataWarning
from automl.report.plots import PLOTS
from automl.report.progress import ProgressBar

matplotlib.use("Agg")
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

SMALL = {"time_budget": None, "max_trials": 6, "n_jobs": 1, "random_state": 0, "verbose": 0}


@pytest.fixture(scope="module")
def binary() -> tuple[AutoML, pd.DataFrame, pd.Series]:
    X, y = mixed_table(300)
    X["noise"] = np.random.default_rng(1).normal(size=len(X))
    return AutoML(include=["linear", "lightgbm"], **SMALL).fit(X, y), X, y


@pytest.fixture(scope="module")
def multiclass(iris_str) -> AutoML:
    X, y = iris_str
    return AutoML(include=["linear", "knn"], **SMALL).fit(X, y)


@pytest.fixture(scope="module")
def regression(diabetes) -> AutoML:
    X, y = diabetes
    return AutoMLRegressor(include=["linear", "lightgbm"], **SMALL).fit(X.iloc[:300], y.iloc[:300])


# -- while it searches -------------------------------------------------------------------
def test_progress_bar_counts_trials_by_status_and_keeps_the_best():
    out = io.StringIO()
    bar = ProgressBar(time_budget=None, max_trials=4, metric="roc_auc", file=out)
    bar.trial("ok", "linear", 0.81)
    bar.trial("pruned", "lightgbm", None)
    bar.trial("ok", "lightgbm", 0.9)
    bar.phase("final refit")
    assert bar.postfix() == "2 ok, 1 pruned, best roc_auc 0.9 (lightgbm), final refit"
    bar.finished("ensemble", 0.91234567)
    bar.close(ok=True)
    assert bar.postfix() == "2 ok, 1 pruned, final ensemble roc_auc 0.91235, done"
    text = out.getvalue()
    assert "3/3 trials" in text and "100%" in text and "done" in text
    assert not any(t.name == "automl-progress" for t in threading.enumerate())


def test_fit_draws_the_bar_on_stderr_and_verbose_0_draws_nothing(breast_cancer, capsys):
    X, y = breast_cancer
    AutoML(include=["linear"], time_budget=None, max_trials=2, n_jobs=1, random_state=0, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert re.search(r"automl: 100%\|.*\| 2/2 trials, 2 ok, final linear roc_auc 0\.9\d+, done", err)
    AutoML(include=["linear"], **{**SMALL, "max_trials": 2}).fit(X, y)
    assert "automl:" not in capsys.readouterr().err


def test_the_bar_closes_when_fit_raises(capsys):
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="metric"):
        AutoML(metric="no_such_metric", time_budget=5, n_jobs=1, verbose=1).fit(X, [0, 1, 0, 1])
    assert "stopped" in capsys.readouterr().err
    assert not any(t.name == "automl-progress" for t in threading.enumerate())


# -- when it is done -----------------------------------------------------------------------
def test_repr_is_the_parameters_before_fit_and_a_summary_after(binary):
    assert repr(AutoML(time_budget=5)) == "AutoML(time_budget=5)"
    assert "<div" in AutoML()._repr_html_()  # scikit-learn's diagram of the parameters
    automl = binary[0]
    text = repr(automl)
    for fact in ("task         binary", "metric       roc_auc", "best score", "final model", "trials", "rank"):
        assert fact in text
    assert f"{automl.best_score_:.5g}" in text
    bundle = automl._repr_mimebundle_()
    assert bundle["text/plain"] == text
    assert "<table" in bundle["text/html"] and "score_mean" in bundle["text/html"]


def test_out_of_fold_predictions_are_kept_compactly(binary, regression):
    oof = binary[0].oof_
    assert oof["pred"].dtype == np.float32 and oof["y"].dtype == np.int32
    assert len(oof["pred"]) == len(oof["y"]) == len(oof["rows"]) == len(binary[1])
    assert regression.oof_["pred"].ndim == 1


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_plot_of_the_task_draws_from_a_real_fit(task, binary, multiclass, regression, tmp_path):
    automl = {"binary": binary[0], "multiclass": multiclass, "regression": regression}[task]
    assert automl.plot.names == PLOTS[task]
    for name in automl.plot.names:
        figure = Figure()
        ax = automl.plot(name, ax=figure.add_subplot())
        assert isinstance(ax, Axes) and ax.figure is figure
        assert ax.get_title(), name
        assert ax.has_data() or ax.images, name
        figure.savefig(tmp_path / f"{task}_{name}.png")
        assert (tmp_path / f"{task}_{name}.png").stat().st_size > 5000
    assert isinstance(automl.plot.history(), Axes)  # without ax: a new figure


def test_roc_is_drawn_from_the_out_of_fold_predictions(binary):
    from sklearn.metrics import roc_auc_score

    automl = binary[0]
    ax = automl.plot.roc(ax=Figure().add_subplot())
    auc = float(re.search(r"AUC = ([0-9.]+)", ax.get_legend().get_texts()[0].get_text()).group(1))
    pred = automl.oof_["pred"]
    assert auc == pytest.approx(roc_auc_score(automl.oof_["y"], pred if pred.ndim == 1 else pred[:, 1]), abs=0.01)
    assert f"Positive label: {automl.classes_[1]}" in ax.get_xlabel()


def test_multiclass_curves_are_one_per_class_against_the_rest(multiclass):
    ax = multiclass.plot.precision_recall(ax=Figure().add_subplot())
    names = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(names) == len(multiclass.classes_)
    assert all(str(c) in n for c, n in zip(multiclass.classes_, names, strict=True))
    assert "Positive label" not in ax.get_xlabel() and "against the rest" in ax.get_xlabel()


def test_history_counts_trials_as_the_leaderboard_does(binary):
    automl = binary[0]
    ax = automl.plot.history(ax=Figure().add_subplot())
    board = automl.leaderboard_
    numbers = set(board.loc[board["trial"].notna(), "trial"].astype(int))
    drawn = {int(round(x)) for points in ax.collections for x in points.get_offsets()[:, 0]}
    assert drawn and drawn <= numbers


def test_a_plot_of_another_task_says_which_plots_exist(regression, binary):
    with pytest.raises(ValueError, match=r"no 'roc' plot for a regression task; the plots for regression are: hist"):
        regression.plot.roc()
    with pytest.raises(ValueError, match="prediction_error, residuals"):
        regression.plot("confusion_matrix")
    with pytest.raises(ValueError, match="no 'residuals' plot for a binary task"):
        binary[0].plot.residuals()


def test_unfitted_estimators_raise_not_fitted(tmp_path):
    for call in (
        lambda m: m.plot,
        lambda m: m.explain(),
        lambda m: m.report(tmp_path / "r.html"),
    ):
        with pytest.raises(NotFittedError):
            call(AutoML())


def test_plots_without_matplotlib_name_the_extra_and_fit_is_unaffected(binary, breast_cancer, monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=re.escape('pip install "automl[report]"')):
        binary[0].plot.roc()
    X, y = breast_cancer
    AutoML(include=["linear"], **{**SMALL, "max_trials": 1}).fit(X, y)


# -- explanations --------------------------------------------------------------------------
def test_explain_ranks_the_original_columns_on_held_out_rows(binary):
    automl, X, _ = binary
    table = automl.explain(shap=False)
    assert set(table.index) == set(X.columns)  # never one-hot pieces or encoded names
    assert list(table.columns) == ["importance", "importance_std"]
    assert table.index[0] == "num"  # the strongest signal
    assert table.loc["num", "importance"] > table.loc["noise", "importance"] + 2 * table.loc["num", "importance_std"]
    assert automl.explain(shap=False) is not table and automl.explain(shap=False).equals(table)  # kept, copied


def test_explain_on_given_rows_works_for_a_loaded_model(binary):
    automl, X, y = binary
    loaded = pickle.loads(pickle.dumps(automl))
    assert not hasattr(loaded, "_train")  # the training table is never pickled
    with pytest.raises(ValueError, match=r"pass held-out rows, explain\(X_test, y_test\)"):
        loaded.explain()
    table = loaded.explain(X.iloc[:120], y.iloc[:120], shap=False, n_repeats=3)
    assert set(table.index) == set(X.columns) and table["importance_std"].ge(0).all()


def test_shap_values_explain_each_prediction_in_the_original_columns(binary, multiclass, iris_str):
    pytest.importorskip("shap")
    automl, X, _ = binary
    rows = X.iloc[:5]
    values = automl.explain(rows)
    assert values.shape == (5, X.shape[1]) and list(values.columns) == list(X.columns)
    predicted = automl.predict_proba(rows)[:, 1]
    np.testing.assert_allclose(values.attrs["base_value"] + values.sum(axis=1), predicted, atol=1e-6)
    per_class = multiclass.explain(iris_str[0].iloc[:3])
    assert per_class.columns.names == ["class", "column"]
    assert set(per_class.columns.get_level_values("class")) == set(multiclass.classes_)
    table = automl.explain(shap=True)
    assert "shap_mean_abs" in table and table["shap_mean_abs"].ge(0).all()


def test_the_shap_plot_of_training_rows_computes_their_values_once(binary, monkeypatch):
    pytest.importorskip("shap")
    from automl.report import explain

    automl = binary[0]
    calls = []
    real = explain.shap_values
    monkeypatch.setattr(explain, "shap_values", lambda *a, **k: calls.append(len(a[1])) or real(*a, **k))
    first = automl.plot.shap(ax=Figure().add_subplot(), rows=30)
    automl.plot.shap(ax=Figure().add_subplot(), rows=30)  # again, as report() does after the user's plot
    assert calls == [30] and first.get_title().endswith("(30 rows)")
    automl.plot.shap(ax=Figure().add_subplot(), rows=20)  # other rows: computed
    automl.plot.shap(ax=Figure().add_subplot(), X=automl._train[0].head(10))  # given rows: never kept
    assert calls == [30, 20, 10]
    assert not hasattr(pickle.loads(pickle.dumps(automl)), "_shap_sample")


# -- the report ------------------------------------------------------------------------
def test_report_is_one_self_contained_html_file(binary, regression, tmp_path):
    for name, automl in (("binary", binary[0]), ("regression", regression)):
        path = automl.report(tmp_path / f"{name}.html")
        page = path.read_text()
        for section in ("Summary", "Leaderboard", "Plots", "Explanation", "Data", "Warnings"):
            assert f"<h2>{section}</h2>" in page
        images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
        assert len(images) == len(automl.plot.names)  # every plot, importance included
        assert all(base64.b64decode(i)[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
        assert not re.search(r"(src|href)=['\"]?https?:", page) and "<script" not in page
        assert "not drawn" not in page


def test_report_lists_the_fits_warnings(tmp_path):
    X, y = mixed_table(120)
    y = y.where(np.arange(len(y)) % 10 != 0)  # a missing target in every tenth row
    with pytest.warns(DataWarning, match="y is missing on 12 of 120 rows"):  # still raised to the caller
        automl = AutoML(include=["linear"], **{**SMALL, "max_trials": 1}).fit(X, y)
    assert [w for w in automl.fit_warnings_ if w.startswith("DataWarning:") and "y is missing" in w]
    page = automl.report(tmp_path / "r.html").read_text()
    assert "y is missing on 12 of 120 rows" in page.split("<h2>Warnings</h2>")[1]


def test_report_to_an_unwritable_path_names_it(binary, tmp_path):
    automl = binary[0]
    with pytest.raises(OSError, match=re.escape(str(tmp_path / "missing" / "r.html"))):
        automl.report(tmp_path / "missing" / "r.html")
    with pytest.raises(OSError, match="is a directory"):
        automl.report(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_loaded_model_shows_its_summary(binary, tmp_path):
    from automl import load

    automl = binary[0]
    automl.save(tmp_path / "m.automl")
    loaded = load(tmp_path / "m.automl")
    text = repr(loaded)
    assert "final model" in text and "trials" in text and "<table" in loaded._repr_html_()


def test_report_renders_in_headless_chromium(binary, tmp_path):
    from browser import render, require_chromium

    require_chromium()
    path = binary[0].report(tmp_path / "report.html")
    rendered = render(path, tmp_path / "report.png")
    assert rendered.problems == []
    assert rendered.images == len(binary[0].plot.names)
    assert "Leaderboard" in rendered.text and rendered.screenshot.stat().st_size > 50_000
