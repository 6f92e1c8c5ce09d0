"""Random forest and extremely randomised trees."""

from __future__ import annotations

from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from automl.markers import hookimpl
from automl.specs import ModelSpec


def space(trial, ctx):
    return {
        "n_estimators": trial.suggest_int("n_estimators", 50, 500, log=True),
        "max_features": trial.suggest_float("max_features", 0.05, 1.0, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 30, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced_subsample"])
        if ctx.is_classification
        else None,
    }


def _builder(classifier, regressor):
    def build(params, ctx):
        cls = classifier if ctx.is_classification else regressor
        return cls(
            n_estimators=params.get("n_estimators", 200),
            max_features=params.get("max_features", 0.5),
            min_samples_leaf=params.get("min_samples_leaf", 1),
            **({"class_weight": params.get("class_weight")} if ctx.is_classification else {}),
            n_jobs=ctx.n_threads,
            random_state=ctx.random_state,
        )

    return build


def _default(ctx_free_max_features):
    return {"n_estimators": 200, "max_features": ctx_free_max_features, "min_samples_leaf": 1, "class_weight": None}


@hookimpl
def automl_register_models(register):
    """Register random_forest and extra_trees."""
    register(
        ModelSpec(
            name="random_forest",
            tasks=("binary", "multiclass", "regression"),
            build=_builder(RandomForestClassifier, RandomForestRegressor),
            space=space,
            defaults=(_default(0.5),),
            cost=5.0,
        )
    )
    register(
        ModelSpec(
            name="extra_trees",
            tasks=("binary", "multiclass", "regression"),
            build=_builder(ExtraTreesClassifier, ExtraTreesRegressor),
            space=space,
            defaults=(_default(0.7),),
            cost=4.0,
        )
    )
