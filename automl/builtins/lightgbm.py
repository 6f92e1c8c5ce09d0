"""LightGBM gradient boosting, with native categorical and missing-value handling."""

from __future__ import annotations

from automl.markers import hookimpl
from automl.specs import ModelSpec


def space(trial, ctx):
    return {
        "n_estimators": trial.suggest_int("n_estimators", 20, 2000, log=True),
        "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
    }


def build(params, ctx):
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if ctx.is_classification else lgb.LGBMRegressor
    subsample = params.get("subsample", 1.0)
    return cls(
        n_estimators=params.get("n_estimators", 100),
        learning_rate=params.get("learning_rate", 0.1),
        num_leaves=params.get("num_leaves", 31),
        min_child_samples=params.get("min_child_samples", 20),
        subsample=subsample,
        subsample_freq=1 if subsample < 1.0 else 0,
        colsample_bytree=params.get("colsample_bytree", 1.0),
        reg_alpha=params.get("reg_alpha", 0.0),
        reg_lambda=params.get("reg_lambda", 0.0),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbose=-1,
    )


@hookimpl
def automl_register_models(register):
    """Register LightGBM."""
    register(
        ModelSpec(
            name="lightgbm",
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            defaults=(
                {
                    "n_estimators": 100,
                    "learning_rate": 0.1,
                    "num_leaves": 31,
                    "min_child_samples": 20,
                    "subsample": 1.0,
                    "colsample_bytree": 1.0,
                    "reg_alpha": 1e-8,
                    "reg_lambda": 1e-8,
                },
                {
                    "n_estimators": 500,
                    "learning_rate": 0.03,
                    "num_leaves": 15,
                    "min_child_samples": 10,
                    "subsample": 0.8,
                    "colsample_bytree": 0.6,
                    "reg_alpha": 1e-8,
                    "reg_lambda": 1.0,
                },
            ),
            handles_missing=True,
            native_categorical=True,
            cost=3.0,
        )
    )
