"""The automl plugin: registers the model ``catboost`` (binary, multiclass, regression).

The number of trees is learned, not searched: during the search the model
holds out a share of its training rows and stops when the loss on them stops
improving (tables of :data:`~automl_catboost.model.MIN_ROWS_FOR_EARLY_STOPPING`
rows or more). It reports that number as ``learned_params_``; the final model
refits on every row with it. The model takes ``fit(X, y, sample_weight=...)``;
when ``ctx.time_ordered``, it holds out the last rows and CatBoost keeps the
rows' order (``has_time``).
"""

from __future__ import annotations

from typing import Any

from automl import ModelSpec, hookimpl
from automl.context import Context

from automl_catboost.model import (
    MIN_ROWS_FOR_EARLY_STOPPING,
    CatBoostModelClassifier,
    CatBoostModelRegressor,
)
from automl_catboost.onnx import onnx_converters

#: share of the training rows held out for early stopping
VALIDATION_FRACTION = 0.1

#: most trees: with early stopping (a ceiling) and without it
MAX_TREES_EARLY, MAX_TREES_FIXED = 3000, 500

#: what a fitted model holds, for the safe model format (CatBoost's state is its serialized model, bytes)
TRUSTED_TYPES = (
    "automl_catboost.model.CatBoostModelClassifier",
    "automl_catboost.model.CatBoostModelRegressor",
    "catboost.core.CatBoostClassifier",
    "catboost.core.CatBoostRegressor",
)

#: known-good configurations, tried first (see README.md for how they were chosen)
DEFAULTS = (
    {
        "learning_rate": 0.1,
        "depth": 4,
        "l2_leaf_reg": 1.0,
        "random_strength": 1.0,
        "subsample": 0.8,
        "border_count": 254,
        "one_hot_max_size": 2,
        "auto_class_weights": None,
    },
    {
        "learning_rate": 0.03,
        "depth": 6,
        "l2_leaf_reg": 3.0,
        "random_strength": 1.0,
        "subsample": 0.8,
        "border_count": 254,
        "one_hot_max_size": 2,
        "auto_class_weights": None,
    },
)


def space(trial: Any, ctx: Context) -> dict[str, Any]:
    """CatBoost's search space (the number of trees is learned, not searched).

    Parameters
    ----------
    trial : optuna.Trial
        The trial to suggest with (the engine prefixes the names with ``catboost.``).
    ctx : automl.Context
        The problem.

    Returns
    -------
    dict
        Parameters for :func:`build`.
    """
    params = {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "depth": trial.suggest_int("depth", 3, 8),
        "l2_leaf_reg": trial.suggest_float("l2_leaf_reg", 0.5, 30.0, log=True),
        "random_strength": trial.suggest_float("random_strength", 1e-3, 10.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "border_count": trial.suggest_categorical("border_count", [32, 64, 128, 254]),
        "one_hot_max_size": trial.suggest_categorical("one_hot_max_size", [2, 10]),
    }
    if ctx.is_classification:
        params["auto_class_weights"] = trial.suggest_categorical("auto_class_weights", [None, "Balanced"])
    return params


def n_trees(params: dict[str, Any], early: bool) -> int:
    """Trees to grow: the learned number, else a ceiling scaled to the learning rate.

    Parameters
    ----------
    params : dict
        The configuration; ``iterations`` is present when learned on the folds.
    early : bool
        Whether early stopping will choose the number (then this is only a ceiling).

    Returns
    -------
    int
    """
    if params.get("iterations"):
        return int(params["iterations"])
    lr = float(params.get("learning_rate", 0.08))
    if early:
        return int(min(MAX_TREES_EARLY, max(100, 20 / lr)))
    return int(min(MAX_TREES_FIXED, max(50, 10 / lr)))


def build(params: dict[str, Any], ctx: Context) -> CatBoostModelClassifier | CatBoostModelRegressor:
    """An unfitted CatBoost model for ``params``.

    Parameters
    ----------
    params : dict
        From :func:`space`, a default, or (final refit) with the learned ``iterations``.
    ctx : automl.Context
        The problem; ``n_threads`` and ``random_state`` go to CatBoost, ``time_ordered``
        (read when the core has it) makes the model keep the rows' order (``shuffle=False``).

    Returns
    -------
    CatBoostModelClassifier or CatBoostModelRegressor
    """
    # the final refit reuses the number of trees learned on the folds (params["iterations"])
    early = ctx.n_rows >= MIN_ROWS_FOR_EARLY_STOPPING and not (ctx.final and params.get("iterations"))
    cls = CatBoostModelClassifier if ctx.is_classification else CatBoostModelRegressor
    kwargs = {
        "iterations": n_trees(params, early),
        "learning_rate": params.get("learning_rate", 0.08),
        "depth": params.get("depth", 6),
        "l2_leaf_reg": params.get("l2_leaf_reg", 3.0),
        "random_strength": params.get("random_strength", 1.0),
        "subsample": params.get("subsample", 0.8),
        "border_count": params.get("border_count", 254),
        "one_hot_max_size": params.get("one_hot_max_size", 2),
        "validation_fraction": VALIDATION_FRACTION if early else 0.0,
        "early_stopping_rounds": 50,
        "thread_count": ctx.n_threads,
        "random_seed": ctx.random_state,
        "shuffle": not getattr(ctx, "time_ordered", False),
    }
    if ctx.is_classification:
        kwargs["auto_class_weights"] = params.get("auto_class_weights")
    return cls(**kwargs)


def model_spec() -> ModelSpec:
    """The ``catboost`` model's spec.

    Returns
    -------
    automl.ModelSpec
    """
    return ModelSpec(
        name="catboost",
        tasks=("binary", "multiclass", "regression"),
        build=build,
        space=space,
        defaults=DEFAULTS,
        handles_missing=True,
        native_categorical=True,
        cost=5.0,
        trusted_types=TRUSTED_TYPES,
        onnx_converters=onnx_converters,
    )


@hookimpl
def automl_register_models(register: Any) -> None:
    """Register the ``catboost`` model.

    Parameters
    ----------
    register : callable
        The engine's ``register(spec)``.
    """
    register(model_spec())
