"""The conformance kit: every built-in component passes it; deliberately broken plugins fail it, each clearly."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score

from automl import MetricSpec, ModelSpec, PreprocessorSpec, hookimpl
from automl.registry import DEFAULT_PLUGINS
from automl.testing import PluginCheckError, check_plugin, parametrize_plugin_checks, plugin_checks

BUILTINS = [importlib.import_module(name) for name in DEFAULT_PLUGINS]


@parametrize_plugin_checks(BUILTINS[0])
def test_builtin_metrics(check):
    check()


@parametrize_plugin_checks(BUILTINS[1])
def test_builtin_preprocessors(check):
    check()


@pytest.mark.parametrize("check", [c for module in BUILTINS[2:] for c in plugin_checks(module)], ids=lambda c: c.id)
def test_builtin_models(check):
    check()


# -- broken plugins -------------------------------------------------------------------------------------------
def model_plugin(**spec):
    """A plugin registering one model spec (a logistic regression unless told otherwise)."""
    spec = {
        "name": "probe",
        "tasks": "classification",
        "build": lambda params, ctx: LogisticRegression(C=params.get("C", 1.0)),
        "space": lambda trial, ctx: {"C": trial.suggest_float("C", 0.01, 10, log=True)},
    } | spec

    class Plugin:
        @hookimpl
        def automl_register_models(self, register):
            register(ModelSpec(**spec))

    return Plugin()


def failures(plugin, **options):
    with pytest.raises(PluginCheckError) as info:
        check_plugin(plugin, time_budget=None, seeds=5, **options)
    return str(info.value)


def test_a_sound_plugin_passes_every_check_end_to_end():
    passed = check_plugin(model_plugin(), seeds=5, time_budget=4)
    assert "model[probe]-end_to_end" in passed and "model[probe]-random_state" in passed


def test_a_space_that_raises():
    def space(trial, ctx):
        c = trial.suggest_float("C", 0.01, 10, log=True)
        if c > 5:
            raise ValueError("C too large")
        return {"C": c}

    message = failures(model_plugin(space=space))
    assert "model[probe]-space" in message and "ValueError: C too large" in message and "Fix:" in message


def test_a_dishonest_missing_value_tag():
    message = failures(model_plugin(handles_missing=True))
    assert "model[probe]-handles_missing" in message
    assert "handles_missing=True" in message and "set handles_missing=False" in message


def test_a_dishonest_categorical_tag():
    message = failures(model_plugin(native_categorical=True))
    assert "model[probe]-native_categorical" in message and "native_categorical=False" in message


def test_a_model_that_ignores_random_state():
    build = lambda params, ctx: ExtraTreesClassifier(n_estimators=5, max_features=1)  # noqa: E731
    message = failures(model_plugin(build=build, space=lambda trial, ctx: {}))
    assert "model[probe]-random_state" in message and "pass ctx.random_state" in message


def test_a_model_that_takes_every_core():
    build = lambda params, ctx: LogisticRegression(n_jobs=-1)  # noqa: E731
    message = failures(model_plugin(build=build))
    assert "model[probe]-n_threads" in message and "'n_jobs': -1" in message


class _WrongLeanForm(LogisticRegression):
    """Its lean form (what an ensemble calls instead of predict_proba) is not its predict_proba."""

    def lean_op(self, method):
        return lambda X: np.full((len(X), 2), 0.5)


def test_a_lean_form_that_predicts_otherwise():
    message = failures(model_plugin(build=lambda params, ctx: _WrongLeanForm(C=params.get("C", 1.0))))
    assert "model[probe]-lean_form" in message and "lean_op(method) must return exactly" in message


def test_a_default_outside_its_space_or_misnamed():
    assert "outside the space" in failures(model_plugin(defaults=({"C": 100.0},)))
    message = failures(model_plugin(defaults=({"probe.C": 1.0},)))
    assert "never suggests" in message and "without any prefix" in message


def test_a_name_taken_by_a_builtin():
    message = failures(model_plugin(name="lightgbm"))
    assert "plugin-registers" in message and "'lightgbm'" in message


def test_a_plugin_that_registers_nothing_or_raises():
    class Empty:
        @hookimpl
        def automl_register_models(self, register):
            pass

    class Raising:
        @hookimpl
        def automl_register_models(self, register):
            raise ImportError("no module named 'fancyboost'")

    assert "registers no model" in failures(Empty())
    assert "fancyboost" in failures(Raising())


class DropsRows(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.nan_to_num(np.asarray(X, dtype=float))[:-1]


def test_a_preprocessor_that_loses_rows_and_a_metric_upside_down():
    class Plugin:
        @hookimpl
        def automl_register_preprocessors(self, register):
            register(PreprocessorSpec(name="dropper", kind="numeric", build=lambda params, ctx: DropsRows()))

        @hookimpl
        def automl_register_metrics(self, register):
            register(MetricSpec("upside_down", accuracy_score, greater_is_better=False, needs="label", tasks="binary"))

    message = failures(Plugin())
    assert "preprocessor[dropper]-transform" in message and "keep every row" in message
    assert "metric[upside_down]-scores" in message and "greater_is_better" in message
