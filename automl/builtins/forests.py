"""Random forest and extremely randomised trees.

A fully grown tree has about two nodes per training row over
``min_samples_leaf``, so a forest of many deep trees on a larger table holds
millions of nodes (a 200-tree extra-trees regressor on 15,000 rows: 6 million
nodes, 400 MB pickled), which a worker builds, pickles and sends back whole.
The number of trees is capped so that a forest holds at most
:data:`MAX_FOREST_NODES` nodes; the cap only binds on tables of several
thousand rows with small leaves.
"""

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


#: nodes a forest may hold (about 70 bytes each, more for many classes)
MAX_FOREST_NODES = 2_000_000


def capped_trees(n_estimators: int, n_rows: int, min_samples_leaf: int, regression: bool) -> int:
    """The number of trees, capped so that fully grown trees hold at most :data:`MAX_FOREST_NODES` nodes.

    A regression tree splits until each leaf has ``min_samples_leaf`` rows
    (about two nodes per leaf); a classification tree stops at pure leaves,
    and has about half as many.
    """
    nodes_per_tree = max(1, (2 if regression else 1) * n_rows // max(1, min_samples_leaf))
    return max(10, min(n_estimators, MAX_FOREST_NODES // nodes_per_tree))


def _builder(classifier, regressor):
    def build(params, ctx):
        cls = classifier if ctx.is_classification else regressor
        leaf = params.get("min_samples_leaf", 1)
        return cls(
            n_estimators=capped_trees(params.get("n_estimators", 200), ctx.n_rows, leaf, not ctx.is_classification),
            max_features=params.get("max_features", 0.5),
            min_samples_leaf=leaf,
            **({"class_weight": params.get("class_weight")} if ctx.is_classification else {}),
            n_jobs=ctx.n_threads,
            random_state=ctx.random_state,
        )

    return build


def _default(ctx_free_max_features):
    return {"n_estimators": 200, "max_features": ctx_free_max_features, "min_samples_leaf": 1, "class_weight": None}


#: what a fitted forest holds, for the safe model format
_TREES = ("sklearn.tree._tree.Tree",)


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
            trusted_types=_TREES,
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
            trusted_types=_TREES,
        )
    )
