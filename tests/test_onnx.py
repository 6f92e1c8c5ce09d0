"""ONNX export: the whole final model in one graph that ONNX Runtime runs as the model predicts."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxmltools")
ort = pytest.importorskip("onnxruntime")

from automl_test_plugins import model_plugin  # noqa: E402

from automl import AutoML, ModelSpec, PreprocessorSpec  # noqa: E402
from automl.context import Context  # noqa: E402
from automl.deploy.onnx import (  # noqa: E402
    OnnxConversionError,
    OnnxParityError,
    export,
    load_onnx,
    onnx_inputs,
)
from automl.evaluation.thresholds import with_threshold  # noqa: E402
from automl.pipeline.build import build_pipeline  # noqa: E402
from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor  # noqa: E402
from automl.pipeline.schema import infer_schema  # noqa: E402
from automl.registry import collect_components, get_plugin_manager  # noqa: E402
from automl.search.trial import TrialConfig  # noqa: E402

#: the new rows hold an infinite number, which the model reads as missing with a DataWarning
pytestmark = pytest.mark.filterwarnings("ignore::automl.exceptions.DataWarning")

FIT = {"ensemble": False, "max_trials": 2, "time_budget": None, "n_jobs": 2, "random_state": 0, "verbose": 0}
MODELS = ("linear", "knn", "hist_gradient_boosting", "lightgbm", "random_forest", "extra_trees")
TASKS = ("binary", "multiclass", "regression")


def table(n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Numbers with NaN, strings with missing values and a rare one, a category, booleans, durations; three targets."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num_nan = np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n))
    city = rng.choice(["paris", "rome", "oslo", "lima"], size=n, p=[0.4, 0.3, 0.27, 0.03]).astype(object)
    city[rng.random(n) < 0.1] = None
    X = pd.DataFrame(
        {
            "num": num,
            "num nan (%)": num_nan,
            "city": pd.array(city, dtype="str"),
            "color": pd.Categorical(rng.choice(["red", "green", "blue"], size=n)),
            "flag": rng.random(n) < 0.5,
            "wait": pd.to_timedelta(rng.integers(0, 3600, size=n), unit="s"),
            "id": [f"row{i}" for i in range(n)],  # an identifier: ignored, not an input
        }
    )
    signal = 1.5 * num + (city == "rome") * 1.2 - X["flag"] * 1.0 + (X["color"] == "red").to_numpy() * 0.8
    signal = signal + np.nan_to_num(num_nan) * 0.5
    noisy = signal + rng.normal(scale=0.5, size=n)
    targets = {
        "binary": np.where(noisy > 0, "yes", "no"),
        "multiclass": np.digitize(noisy, [-0.7, 0.7]),  # integer classes 0, 1, 2
        "regression": 10.0 * noisy + 100.0,
    }
    return X, targets


@pytest.fixture(scope="module")
def data():
    return table()


@pytest.fixture(scope="module")
def new_rows():
    """Rows the model never saw, with an unseen category and missing values everywhere they may be."""
    X, _ = table(n=60, seed=7)
    X.loc[0, "city"] = "atlantis"
    X.loc[1, ["num nan (%)", "city"]] = [np.nan, None]
    X.loc[2, "num"] = np.inf  # a missing value, with a DataWarning
    return X


@pytest.fixture(scope="module")
def comps():
    return collect_components(get_plugin_manager(entry_points=False))


def same_as_model(model, onnx_model, X) -> None:
    """The ONNX model predicts what the model predicts on X."""
    if model.task_ == "regression":
        np.testing.assert_allclose(onnx_model.predict(X), model.predict(X), atol=1e-3 * np.std(model.predict(X)))
        return
    np.testing.assert_allclose(onnx_model.predict_proba(X), model.predict_proba(X), atol=1e-3)
    np.testing.assert_array_equal(onnx_model.predict(X), model.predict(X))


def with_pipeline(model, pipeline, **attrs):
    """A copy of a fitted AutoML whose final model is ``pipeline``."""
    out = copy.copy(model)
    out.best_pipeline_ = pipeline
    out.threshold_ = None
    for k, v in attrs.items():
        setattr(out, k, v)
    return out


def fitted_pipeline(comps, task, X, y, model, numeric, categorical, model_params=None, final=True):
    ctx = Context(task=task, n_rows=len(X), n_features=X.shape[1], random_state=0, final=final)
    config = TrialConfig(
        model=model, model_params=model_params or {}, preprocessing={"numeric": numeric, "categorical": categorical}
    )
    return build_pipeline(config, comps.models, comps.preprocessors, infer_schema(X), ctx).fit(X, y)


@pytest.fixture(scope="module")
def fitted(data):
    """One quick fit per task, whose final model the tests replace."""
    X, targets = data
    return {task: AutoML(include=["linear"], **{**FIT, "max_trials": 1}).fit(X, targets[task]) for task in TASKS}


# -- every built-in model -------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("name", MODELS)
def test_every_builtin_model_converts_and_reproduces_the_model(tmp_path, data, new_rows, name, task):
    X, targets = data
    model = AutoML(include=[name], cv=3, **FIT).fit(X, targets[task])  # the folds are not what is tested
    report = export(model, tmp_path / "model.onnx", X)
    assert report.passed and report.rows == len(X) and report.label_mismatches == 0
    assert report.max_abs_diff <= report.tolerance
    onnx_model = load_onnx(tmp_path / "model.onnx")
    same_as_model(model, onnx_model, new_rows)


def test_the_graph_takes_the_original_columns_and_gives_named_outputs(tmp_path, data, fitted):
    X, _ = data
    export(fitted["binary"], tmp_path / "m.onnx", X)
    session = ort.InferenceSession(str(tmp_path / "m.onnx"))
    inputs = {i.name: (i.type, i.shape) for i in session.get_inputs()}
    assert list(inputs) == ["num", "num nan (%)", "city", "color", "flag", "wait"]  # not the identifier
    assert inputs["city"] == ("tensor(string)", [None, 1]) and inputs["flag"] == ("tensor(float)", [None, 1])
    outputs = {o.name: o.type for o in session.get_outputs()}
    assert outputs == {"label": "tensor(string)", "probabilities": "tensor(float)"}
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["automl.task"] == "binary" and json.loads(meta["automl.classes"])["values"] == ["no", "yes"]
    # the feed is the table given to predict, one [N, 1] array per input; "" is a missing string
    feed = onnx_inputs(fitted["binary"], X.head(3).assign(city=[None, "rome", "paris"]))
    assert feed["city"].tolist() == [[""], ["rome"], ["paris"]] and feed["wait"].dtype == np.float32
    label, proba = session.run(None, feed)
    assert label.shape == (3,) and proba.shape == (3, 2)
    assert onnx_inputs(load_onnx(tmp_path / "m.onnx").metadata, X).keys() == feed.keys()


def test_a_regressor_outputs_one_variable_and_integer_classes_stay_integers(tmp_path, data, fitted):
    X, _ = data
    export(fitted["regression"], tmp_path / "r.onnx", X)
    assert [o.name for o in ort.InferenceSession(str(tmp_path / "r.onnx")).get_outputs()] == ["variable"]
    export(fitted["multiclass"], tmp_path / "c.onnx", X)
    labels = load_onnx(tmp_path / "c.onnx").predict(X)
    assert labels.dtype == fitted["multiclass"].predict(X).dtype and set(labels) <= {0, 1, 2}


# -- preprocessors ----------------------------------------------------------------------------------

PREPROCESSING = [
    (
        "linear",
        ("impute_scale", {"scaler": "robust", "add_indicator": True}),
        ("onehot", {"min_frequency": 10, "max_categories": 3}),
    ),
    ("linear", ("impute_scale", {"scaler": "quantile", "strategy": "mean"}), ("target", {"smooth": 5.0})),
    ("knn", ("impute_scale", {"scaler": "standard"}), ("onehot", {"min_frequency": 1, "max_categories": 32})),
    ("random_forest", ("impute", {"strategy": "mean", "add_indicator": True}), ("ordinal", {})),
    ("hist_gradient_boosting", ("passthrough", {}), ("native", {"min_frequency": 10})),
    ("lightgbm", ("passthrough", {}), ("native", {"min_frequency": 1})),
    ("lightgbm", ("impute", {}), ("target", {})),
]


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize(("model", "numeric", "categorical"), PREPROCESSING)
def test_every_builtin_preprocessor_converts(
    tmp_path, comps, data, fitted, new_rows, task, model, numeric, categorical
):
    X, targets = data
    pipeline = fitted_pipeline(comps, task, X, targets[task], model, numeric, categorical)
    automl = with_pipeline(fitted[task], pipeline)
    assert export(automl, tmp_path / "m.onnx", X).passed
    same_as_model(automl, load_onnx(tmp_path / "m.onnx"), new_rows)


def test_an_imputer_adds_no_indicator_when_no_column_missed_values(tmp_path, comps, data, fitted):
    X, targets = data
    X = X.drop(columns=["num nan (%)"])
    numeric = ("impute_scale", {"add_indicator": True})
    pipeline = fitted_pipeline(comps, "binary", X, targets["binary"], "linear", numeric, ("onehot", {}))
    assert export(with_pipeline(fitted["binary"], pipeline), tmp_path / "m.onnx", X).passed


def test_native_categories_split_the_trees_of_hist_gradient_boosting(comps, data):
    """The native case above is a real one: HistGradientBoosting splits on the categories."""
    X, targets = data
    pipeline = fitted_pipeline(
        comps, "binary", X, targets["binary"], "hist_gradient_boosting", ("passthrough", {}), ("native", {})
    )
    nodes = np.concatenate([p.nodes for trees in pipeline[-1]._predictors for p in trees])
    assert nodes["is_categorical"].any()


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_models_of_the_search_convert_too(tmp_path, comps, fitted, new_rows, task):
    """LightGBM with early stopping (300 rows or more) and the HistGradientBoosting subclass the search fits."""
    X, targets = table(n=320, seed=3)
    y = targets[task]
    lgbm = fitted_pipeline(comps, task, X, y, "lightgbm", ("passthrough", {}), ("native", {}))
    hgb = fitted_pipeline(comps, task, X, y, "hist_gradient_boosting", ("passthrough", {}), ("native", {}), final=False)
    assert type(lgbm[-1]).__name__.startswith("LGBMEarlyStopping") and type(hgb[-1]).__name__.startswith("SearchHGB")
    for pipeline in (lgbm, hgb):
        automl = with_pipeline(fitted[task], pipeline)
        assert export(automl, tmp_path / "s.onnx", X).passed
        same_as_model(automl, load_onnx(tmp_path / "s.onnx"), new_rows)


# -- ensembles and thresholds -------------------------------------------------------------------------


@pytest.mark.parametrize("task", TASKS)
def test_an_ensemble_feeds_every_member_the_same_inputs(tmp_path, comps, data, fitted, new_rows, task):
    X, targets = data
    members = [
        fitted_pipeline(comps, task, X, targets[task], "linear", ("impute_scale", {}), ("onehot", {})),
        fitted_pipeline(comps, task, X, targets[task], "lightgbm", ("passthrough", {}), ("native", {})),
        fitted_pipeline(
            comps, task, X, targets[task], "extra_trees", ("impute", {}), ("ordinal", {}), {"n_estimators": 20}
        ),
    ]
    cls = EnsembleRegressor if task == "regression" else EnsembleClassifier
    ensemble = cls.from_fitted([(f"m{i}", m) for i, m in enumerate(members)], [0.5, 0.3, 0.2])
    automl = with_pipeline(fitted[task], Pipeline([("ensemble", ensemble)]))
    assert export(automl, tmp_path / "e.onnx", X).passed
    onnx_model = load_onnx(tmp_path / "e.onnx")
    same_as_model(automl, onnx_model, new_rows)
    assert len(onnx_model.session.get_inputs()) == 6  # the inputs once, for every member


def test_a_member_without_some_class_puts_its_probabilities_in_their_columns(tmp_path, comps, data, fitted):
    X, targets = data
    y = targets["multiclass"]
    full = fitted_pipeline(comps, "multiclass", X, y, "linear", ("impute_scale", {}), ("onehot", {}))
    rows = y != 2
    partial = fitted_pipeline(comps, "multiclass", X[rows], y[rows], "random_forest", ("impute", {}), ("onehot", {}))
    ensemble = EnsembleClassifier.from_fitted([("full", full), ("partial", partial)], [1.0, 1.0])
    assert export(
        with_pipeline(fitted["multiclass"], Pipeline([("ensemble", ensemble)])), tmp_path / "e.onnx", X
    ).passed


def test_a_tuned_threshold_decides_the_label(tmp_path, comps, data, fitted, new_rows):
    X, targets = data
    y = targets["binary"]
    pipeline = fitted_pipeline(comps, "binary", X, y, "linear", ("impute_scale", {}), ("onehot", {}))
    automl = with_pipeline(fitted["binary"], with_threshold(pipeline, 0.8, X, y), threshold_=0.8)
    assert (automl.predict(X) != pipeline.predict(X)).sum() > 5  # the threshold changes labels
    assert export(automl, tmp_path / "t.onnx", X).passed
    same_as_model(automl, load_onnx(tmp_path / "t.onnx"), new_rows)


def test_a_fit_for_f1_with_its_threshold_and_ensemble_exports(tmp_path, data, new_rows):
    X, targets = data
    model = AutoML(metric="f1", **{**FIT, "ensemble": True, "max_trials": 6}).fit(X, targets["binary"])
    assert model.threshold_ is not None
    assert export(model, tmp_path / "f1.onnx", X).passed
    same_as_model(model, load_onnx(tmp_path / "f1.onnx"), new_rows)


# -- errors and plugins --------------------------------------------------------------------------------


class PluginLogistic(LogisticRegression):
    """A plugin's classifier whose converter the plugin declares."""


class NoConverterLogistic(ClassifierMixin, BaseEstimator):
    """A plugin's classifier nobody converts."""

    def fit(self, X, y):
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X)

    def predict(self, X):
        return self.model_.predict(X)


def register_plugin_logistic() -> None:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
    from skl2onnx.operator_converters.linear_classifier import convert_sklearn_linear_classifier

    update_registered_converter(
        PluginLogistic,
        "TestPluginLogistic",
        calculate_linear_classifier_output_shapes,
        convert_sklearn_linear_classifier,
        options={"zipmap": [True, False, "columns"], "nocl": [True, False], "raw_scores": [True, False]},
    )


def test_a_plugin_declares_its_converter_in_its_spec(tmp_path, data, new_rows):
    X, targets = data
    plugin = model_plugin(
        "plugin_logistic", PluginLogistic, needs_scaling=True, onnx_converters=register_plugin_logistic
    )
    model = AutoML(include=["plugin_logistic"], plugins=[plugin], **{**FIT, "max_trials": 1}).fit(X, targets["binary"])
    assert isinstance(model.best_pipeline_[-1], PluginLogistic)
    assert export(model, tmp_path / "p.onnx", X).passed
    same_as_model(model, load_onnx(tmp_path / "p.onnx"), new_rows)


def test_a_component_without_a_converter_is_named(tmp_path, data):
    X, targets = data
    plugin = model_plugin("no_converter", NoConverterLogistic, needs_scaling=True)
    model = AutoML(include=["no_converter"], plugins=[plugin], **{**FIT, "max_trials": 1}).fit(X, targets["binary"])
    with pytest.raises(OnnxConversionError, match=r"test_onnx\.NoConverterLogistic \(pipeline step 'model'\)"):
        export(model, tmp_path / "n.onnx", X)
    assert not (tmp_path / "n.onnx").exists()


def test_a_component_skl2onnx_refuses_is_named(tmp_path, data, fitted):
    X, _ = data
    pipeline = copy.deepcopy(fitted["binary"].best_pipeline_)
    numeric = dict((name, trans) for name, trans, _ in pipeline.named_steps["prepare"].transformers_)["numeric"]
    numeric.steps.insert(1, ("log", FunctionTransformer(np.log1p).fit(np.zeros((2, 4)))))
    with pytest.raises(OnnxConversionError, match=r"FunctionTransformer \(pipeline step 'prepare > numeric > log'\)"):
        export(with_pipeline(fitted["binary"], pipeline), tmp_path / "f.onnx", X)


def test_a_datetime_column_is_named(tmp_path, comps, data, fitted):
    X, targets = data
    X = X.assign(when=pd.date_range("2024-01-01", periods=len(X), freq="h"))
    pipeline = fitted_pipeline(comps, "binary", X, targets["binary"], "linear", ("impute_scale", {}), ("onehot", {}))
    with pytest.raises(OnnxConversionError, match="column 'when' holds dates"):
        export(with_pipeline(fitted["binary"], pipeline), tmp_path / "d.onnx", X)


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_a_parity_failure_raises_and_writes_nothing(tmp_path, data, fitted, monkeypatch, task):
    X, _ = data
    model = copy.copy(fitted[task])
    if task == "regression":
        monkeypatch.setattr(model, "predict", lambda X: fitted[task].predict(X) * 1.01)
    else:
        monkeypatch.setattr(model, "predict_proba", lambda X: np.clip(fitted[task].predict_proba(X) + 0.01, 0, 1))
    with pytest.raises(OnnxParityError, match="differ by up to") as info:
        export(model, tmp_path / "bad.onnx", X)
    assert not info.value.report.passed and info.value.report.rows == len(X)
    assert not (tmp_path / "bad.onnx").exists()


def test_a_wrong_label_fails_parity(tmp_path, data, fitted, monkeypatch):
    X, _ = data
    model = copy.copy(fitted["binary"])
    monkeypatch.setattr(model, "predict", lambda X: np.where(fitted["binary"].predict(X) == "yes", "no", "yes"))
    with pytest.raises(OnnxParityError, match=r"\d+ predicted label\(s\) differ"):
        export(model, tmp_path / "bad.onnx", X)


def test_the_spec_field_must_be_callable():
    with pytest.raises(TypeError, match="onnx_converters"):
        ModelSpec(name="m", tasks="binary", build=lambda p, c: None, onnx_converters="not callable")
    with pytest.raises(TypeError, match="onnx_converters"):
        PreprocessorSpec(name="p", kind="numeric", build=lambda p, c: None, onnx_converters=42)
