"""k-nearest neighbours."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from automl.markers import hookimpl
from automl.specs import ModelSpec


def space(trial, ctx):
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, 100, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }


def build(params, ctx):
    cls = KNeighborsClassifier if ctx.is_classification else KNeighborsRegressor
    k = max(1, min(int(params.get("n_neighbors", 5)), max(1, ctx.n_rows - 1)))
    return cls(n_neighbors=k, weights=params.get("weights", "uniform"), p=params.get("p", 2), n_jobs=ctx.n_threads)


@hookimpl
def automl_register_models(register):
    """Register k-nearest neighbours."""
    register(
        ModelSpec(
            name="knn",
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            defaults=({"n_neighbors": 15, "weights": "distance", "p": 2},),
            needs_scaling=True,
            cost=2.0,
            # the fitted search structure (KD or ball tree) and its distance (p=1 or 2), for the safe model format
            trusted_types=(
                "sklearn.neighbors._kd_tree.KDTree",
                "sklearn.neighbors._ball_tree.BallTree",
                "sklearn.metrics._dist_metrics.EuclideanDistance64",
                "sklearn.metrics._dist_metrics.ManhattanDistance64",
                "sklearn.metrics._dist_metrics.MinkowskiDistance64",
            ),
        )
    )
