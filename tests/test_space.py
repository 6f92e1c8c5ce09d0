"""automl.space.SearchSpace: what one trial samples."""

from __future__ import annotations

import optuna
import pytest

from automl.context import Context
from automl.registry import collect_components, get_plugin_manager
from automl.search.space import MODEL_PARAM, PrefixedTrial, SearchSpace

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def comps():
    return collect_components(get_plugin_manager(entry_points=False))


def make_space(comps, task="binary", kinds=("numeric", "categorical")):
    ctx = Context(task=task, n_rows=200, n_features=5, n_numeric=3, n_categorical=2, n_classes=2, random_state=0)
    models = [m for m in comps.models.values() if task in m.tasks]
    by_kind = {k: [p for p in comps.preprocessors.values() if p.kind == k] for k in kinds}
    return SearchSpace(models, by_kind, kinds, ctx)


def test_prefixed_trial_prefixes_every_name():
    trial = optuna.create_study().ask()
    pt = PrefixedTrial(trial, "m.")
    pt.suggest_float("a", 0.0, 1.0)
    pt.suggest_int("b", 1, 3)
    pt.suggest_categorical("c", ["x", "y"])
    assert set(trial.params) == {"m.a", "m.b", "m.c"}
    assert pt.number == trial.number


def test_sample_with_a_real_trial(comps):
    space = make_space(comps)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    config = space.sample(trial)
    assert config.model in space.model_names
    assert trial.params[MODEL_PARAM] == config.model
    assert set(config.preprocessing) == {"numeric", "categorical"}
    for kind, (name, _params) in config.preprocessing.items():
        assert comps.preprocessors[name].kind == kind
        assert comps.preprocessors[name].accepts(comps.models[config.model])


def test_param_names_are_prefixed_with_the_model(comps):
    space = make_space(comps)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(40):
        trial = study.ask()
        config = space.sample(trial)
        for name in trial.params:
            assert name == MODEL_PARAM or name.startswith(config.model + "."), name
        # the model's own parameters come back under their plain names
        for key in config.model_params:
            assert f"{config.model}.{key}" in trial.params
        study.tell(trial, 0.0)


def test_the_params_never_change_shape(comps):
    # a parameter name always has the same distribution, and a model with a fixed
    # space always suggests the same set of names
    space = make_space(comps)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    distributions: dict[str, optuna.distributions.BaseDistribution] = {}
    names_by_choice: dict[tuple, set[frozenset[str]]] = {}
    for _ in range(80):
        trial = study.ask()
        config = space.sample(trial)
        study.tell(trial, 0.0)
        for name, dist in study.trials[-1].distributions.items():
            assert distributions.setdefault(name, dist) == dist, name
        choice = (config.model, config.describe_preprocessing(), config.model_params.get("family"))
        names_by_choice.setdefault(choice, set()).add(frozenset(trial.params))
    assert all(len(shapes) == 1 for shapes in names_by_choice.values()), names_by_choice
    assert {c[0] for c in names_by_choice} == set(space.model_names)


def test_choices_respect_tags(comps):
    space = make_space(comps)
    linear = [p.name for p in space.choices[("linear", "numeric")]]
    lgbm = [p.name for p in space.choices[("lightgbm", "numeric")]]
    assert linear == ["impute_scale"]  # needs scaling
    assert lgbm[0] == "passthrough"  # handles missing values: highest priority first
    assert "impute_scale" not in lgbm
    assert [p.name for p in space.choices[("lightgbm", "categorical")]][0] == "native"
    assert "native" not in [p.name for p in space.choices[("linear", "categorical")]]


def test_starting_points_are_the_defaults_cheapest_first(comps):
    space = make_space(comps)
    points = space.starting_points()
    first_round = [p[MODEL_PARAM] for p in points[: len(space.model_names)]]
    costs = [comps.models[m].cost for m in first_round]
    assert costs == sorted(costs)
    assert sorted(first_round) == sorted(space.model_names)
    # lightgbm has two defaults: its second comes after every model's first
    assert [p[MODEL_PARAM] for p in points].count("lightgbm") == 2
    assert len(points) == len(space.model_names) + 1


def test_starting_points_enqueue_their_values(comps):
    space = make_space(comps)
    study = optuna.create_study()
    points = space.starting_points()
    for params in points:
        study.enqueue_trial(params)
    for params in points:
        trial = study.ask()
        config = space.sample(trial)
        # every value suggested is the enqueued one (a default may name parameters that
        # this task's space does not suggest, like the linear model's regression family)
        assert trial.params.items() <= params.items()
        assert {f"{config.model}.{k}" for k in config.model_params} <= set(trial.params)
        for kind, (name, prep_params) in config.preprocessing.items():
            assert name == space.choices[(config.model, kind)][0].name
            assert prep_params == comps.preprocessors[name].defaults
        study.tell(trial, 0.0)


def test_only_present_kinds_are_sampled(comps):
    space = make_space(comps, task="regression", kinds=("numeric",))
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    for _ in range(10):
        config = space.sample(study.ask())
        assert set(config.preprocessing) == {"numeric"}


def test_a_portfolio_entry_is_completed_with_the_defaults_of_what_it_does_not_name(comps):
    space = make_space(comps)
    old = {"model": "linear", "linear.C": 7.0}  # from before penalties and target encoding existed
    (entry,) = [p for p in space.starting_points([old]) if p.get("linear.C") == 7.0]
    assert entry["linear.penalty"] == "l2"
    assert entry["linear.categorical"] == "onehot"  # the default encoder, not a random one
    assert entry["linear.categorical.onehot.max_categories"] == 32
    # an entry that chose another encoder keeps it, without the default encoder's parameters
    other = {"model": "linear", "linear.C": 3.0, "linear.categorical": "target"}
    (entry,) = [p for p in space.starting_points([other]) if p.get("linear.C") == 3.0]
    assert entry["linear.categorical"] == "target"
    assert not any(k.startswith("linear.categorical.onehot.") for k in entry)
