"""automl.registry: loading plugins and collecting their components."""

from __future__ import annotations

import warnings

import pytest
from automl_test_plugins import model_plugin
from sklearn.naive_bayes import GaussianNB

from automl import ModelSpec, PluginError, PluginLoadWarning, PreprocessorSpec, hookimpl
from automl.registry import DEFAULT_PLUGINS, collect_components, get_plugin_manager

BUILTIN_MODELS = {"linear", "knn", "hist_gradient_boosting", "lightgbm", "random_forest", "extra_trees"}
BUILTIN_PREPROCESSORS = {"impute", "impute_scale", "passthrough", "onehot", "ordinal", "native", "target"}
BUILTIN_METRICS = {"roc_auc", "log_loss", "accuracy", "balanced_accuracy", "f1", "rmse", "mae", "r2"}


def collect(*plugins):
    return collect_components(get_plugin_manager(plugins, entry_points=False))


def test_builtins_are_registered_through_hooks():
    comps = collect()
    assert set(comps.models) == BUILTIN_MODELS
    assert set(comps.preprocessors) == BUILTIN_PREPROCESSORS
    assert set(comps.metrics) == BUILTIN_METRICS
    assert comps.owners[("models", "lightgbm")] == "automl.builtins.lightgbm"
    assert set(comps.owners.values()) <= set(DEFAULT_PLUGINS)


def test_builtin_models_serve_every_task():
    for spec in collect().models.values():
        assert spec.tasks == {"binary", "multiclass", "regression"}


def test_an_extra_plugin_adds_its_model():
    comps = collect(model_plugin("gnb", GaussianNB, tasks="classification"))
    assert "gnb" in comps.models
    assert comps.models["gnb"].tasks == {"binary", "multiclass"}
    assert BUILTIN_MODELS < set(comps.models)


def test_a_module_like_plugin_object_works():
    class Plugin:  # hooks as static functions on a class, the way a module would hold them
        @staticmethod
        @hookimpl
        def automl_register_preprocessors(register):
            register(PreprocessorSpec(name="zero", kind="numeric", build=lambda p, c: "passthrough"))

    comps = collect(Plugin)
    assert "zero" in comps.preprocessors


def test_duplicate_names_raise_naming_both_plugins():
    dup = model_plugin("linear", GaussianNB)
    with pytest.raises(PluginError, match="two plugins register a model named 'linear'") as info:
        collect(dup)
    assert "'automl.builtins.linear'" in str(info.value)
    assert "'ModelPlugin@" in str(info.value)


def test_components_are_collected_in_load_order():
    comps = collect(model_plugin("gnb", GaussianNB))
    assert list(comps.models) == [
        "linear",
        "knn",
        "hist_gradient_boosting",
        "lightgbm",
        "random_forest",
        "extra_trees",
        "gnb",
    ]


def test_duplicates_between_two_extra_plugins():
    with pytest.raises(PluginError, match="two plugins register a model named 'gnb'"):
        collect(model_plugin("gnb", GaussianNB), model_plugin("gnb", GaussianNB))


def test_the_same_plugin_object_twice_is_registered_once():
    plugin = model_plugin("gnb", GaussianNB)
    assert "gnb" in collect(plugin, plugin, None).models


def test_a_hook_that_raises_is_skipped_with_a_warning():
    class Broken:
        @hookimpl
        def automl_register_models(self, register):
            register(ModelSpec(name="half", tasks="binary", build=lambda p, c: GaussianNB()))
            raise RuntimeError("plugin bug")

    with pytest.warns(
        PluginLoadWarning, match=r"plugin 'Broken@[0-9a-f]+' failed in automl_register_models.*plugin bug"
    ):
        comps = collect(Broken())
    assert BUILTIN_MODELS <= set(comps.models)


def test_registering_the_wrong_spec_type_raises():
    class Wrong:
        @hookimpl
        def automl_register_models(self, register):
            register(PreprocessorSpec(name="p", kind="numeric", build=lambda p, c: "passthrough"))

    with pytest.raises(PluginError, match="registered PreprocessorSpec through the models hook"):
        collect(Wrong())


def test_unknown_hook_name_raises():
    class Typo:
        @hookimpl
        def automl_register_modells(self, register):  # misspelt
            pass

    with pytest.raises(PluginError, match=r"unknown hook\(s\) \['automl_register_modells'\]"):
        get_plugin_manager([Typo()], entry_points=False)


def test_unknown_hook_name_without_marker_also_raises():
    class Typo:
        def automl_trial_finnished(self, result, leaderboard):
            pass

    with pytest.raises(PluginError, match="automl_trial_finnished"):
        get_plugin_manager([Typo()], entry_points=False)


def test_hook_with_wrong_arguments_raises():
    class BadArgs:
        @hookimpl
        def automl_register_models(self, register, extra):
            pass

    with pytest.raises(PluginError, match="invalid"):
        get_plugin_manager([BadArgs()], entry_points=False)


def test_plugins_do_not_leak_between_managers():
    collect(model_plugin("gnb", GaussianNB))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "gnb" not in collect().models
