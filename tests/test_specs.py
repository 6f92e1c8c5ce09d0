"""automl.specs: validation of what plugins register."""

from __future__ import annotations

import pytest
from sklearn.naive_bayes import GaussianNB

from automl import MetricSpec, ModelSpec, PreprocessorSpec


def build(params, ctx):
    return GaussianNB()


def test_model_spec_defaults_and_normalisation():
    spec = ModelSpec(name="nb", tasks="classification", build=build)
    assert spec.tasks == frozenset({"binary", "multiclass"})
    assert spec.defaults == ({},)
    assert spec.space(None, None) == {}
    assert spec.tags == frozenset()
    assert spec.cost == 1.0


def test_model_spec_space_none_means_no_space():
    spec = ModelSpec(name="nb", tasks=["binary"], build=build, space=None, defaults=None)
    assert spec.space(None, None) == {}
    assert spec.defaults == ({},)


def test_model_spec_tags():
    spec = ModelSpec(
        name="m", tasks="regression", build=build, handles_missing=True, native_categorical=True, needs_scaling=True
    )
    assert spec.tags == {"handles_missing", "native_categorical", "needs_scaling"}


def test_model_spec_defaults_are_copied():
    given = {"a": 1}
    spec = ModelSpec(name="m", tasks="regression", build=build, defaults=[given])
    given["a"] = 2
    assert spec.defaults == ({"a": 1},)


@pytest.mark.parametrize("name", ["", "1abc", "has space", "dot.ted", "_x", None, 3])
def test_invalid_names_raise(name):
    with pytest.raises(ValueError, match="name .* is not valid"):
        ModelSpec(name=name, tasks="binary", build=build)
    with pytest.raises(ValueError, match="name .* is not valid"):
        PreprocessorSpec(name=name, kind="numeric", build=build)
    with pytest.raises(ValueError, match="name .* is not valid"):
        MetricSpec(name=name, func=len, greater_is_better=True, needs="label", tasks="binary")


def test_valid_names():
    for name in ["a", "my-model", "Model_2"]:
        assert ModelSpec(name=name, tasks="binary", build=build).name == name


def test_unknown_task_raises():
    with pytest.raises(ValueError, match="unknown task 'ranking'"):
        ModelSpec(name="m", tasks=("binary", "ranking"), build=build)


def test_no_task_raises():
    with pytest.raises(ValueError, match="declares no task"):
        ModelSpec(name="m", tasks=(), build=build)


def test_build_must_be_callable():
    with pytest.raises(TypeError, match="build must be callable"):
        ModelSpec(name="m", tasks="binary", build=GaussianNB())
    with pytest.raises(TypeError, match="build must be callable"):
        PreprocessorSpec(name="p", kind="numeric", build="passthrough")


def test_space_must_be_callable():
    with pytest.raises(TypeError, match="space must be callable"):
        ModelSpec(name="m", tasks="binary", build=build, space={"C": [1, 2]})


@pytest.mark.parametrize("cost", [0, -1.0, float("nan")])
def test_cost_must_be_positive(cost):
    with pytest.raises(ValueError, match="cost must be positive"):
        ModelSpec(name="m", tasks="binary", build=build, cost=cost)


def test_preprocessor_kind_must_be_known():
    with pytest.raises(ValueError, match="kind must be one of"):
        PreprocessorSpec(name="p", kind="image", build=build)


def test_preprocessor_accepts_by_tags():
    scaler = PreprocessorSpec(name="s", kind="numeric", build=build, requires=["needs_scaling"])
    plain = PreprocessorSpec(name="p", kind="numeric", build=build, excludes=["needs_scaling"])
    linear = ModelSpec(name="lin", tasks="binary", build=build, needs_scaling=True)
    tree = ModelSpec(name="tree", tasks="binary", build=build)
    assert scaler.accepts(linear) and not scaler.accepts(tree)
    assert plain.accepts(tree) and not plain.accepts(linear)
    assert scaler.requires == frozenset({"needs_scaling"})


def test_metric_needs_must_be_known():
    with pytest.raises(ValueError, match="needs must be"):
        MetricSpec(name="m", func=len, greater_is_better=True, needs="scores", tasks="binary")


def test_metric_tasks_are_validated():
    spec = MetricSpec(name="m", func=len, greater_is_better=True, needs="value", tasks="regression")
    assert spec.tasks == frozenset({"regression"})
    with pytest.raises(ValueError, match="unknown task"):
        MetricSpec(name="m", func=len, greater_is_better=True, needs="value", tasks="forecasting")


def test_specs_are_frozen():
    spec = ModelSpec(name="m", tasks="binary", build=build)
    with pytest.raises(AttributeError):
        spec.name = "other"
