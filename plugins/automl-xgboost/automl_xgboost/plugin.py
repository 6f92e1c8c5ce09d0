"""The automl plugin: registers the model ``xgboost`` (binary, multiclass, regression).

XGBoost's scikit-learn classes with ``tree_method="hist"``, native missing
values and native categorical splits (``enable_categorical=True`` on the
pandas ``category`` columns the built-in ``native`` preprocessor delivers).
The number of trees is learned by early stopping on the folds
(:mod:`automl_xgboost.estimators`) and reused by the final refit on all rows.
The models take ``fit(X, y, sample_weight=...)``; when ``ctx.time_ordered``,
the rows held out for early stopping are the last ones.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from automl.context import Context
from automl.markers import hookimpl
from automl.specs import ModelSpec

from automl_xgboost.estimators import (
    MIN_ROWS_FOR_EARLY_STOPPING,
    XGBEarlyStoppingClassifier,
    XGBEarlyStoppingRegressor,
)

logger = logging.getLogger(__name__)

#: the plugin's model name, as on the leaderboard and in ``include``/``exclude``
NAME = "xgboost"

#: trees held out rows are allowed to add before the validation loss must improve
STOPPING_ROUNDS = 50

#: share of a fold's training rows held out for early stopping
VALIDATION_FRACTION = 0.1

#: what a fitted model of this plugin holds, for the safe model format (skops)
TRUSTED_TYPES = (
    "automl_xgboost.estimators.XGBEarlyStoppingClassifier",
    "automl_xgboost.estimators.XGBEarlyStoppingRegressor",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRegressor",
    "xgboost.core.Booster",
)

#: known-good configurations, tried before the sampler, best first: the best on average over 12 tables, then
#: the two that most often win where it does not (README.md, "How the defaults were chosen")
DEFAULTS = (
    {
        "learning_rate": 0.05,
        "max_depth": 4,
        "min_child_weight": 2.0,
        "subsample": 0.8,
        "colsample_bytree": 0.7,
        "reg_lambda": 3.0,
        "reg_alpha": 1e-8,
    },
    {
        "learning_rate": 0.03,
        "max_depth": 8,
        "min_child_weight": 1.0,
        "subsample": 0.7,
        "colsample_bytree": 0.5,
        "reg_lambda": 1.0,
        "reg_alpha": 1e-8,
    },
    {
        "learning_rate": 0.1,
        "max_depth": 3,
        "min_child_weight": 1.0,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "reg_lambda": 1.0,
        "reg_alpha": 1e-8,
    },
)


def space(trial: Any, ctx: Context) -> dict[str, Any]:
    """Suggest XGBoost's parameters (the number of trees is learned, not searched).

    Parameters
    ----------
    trial : optuna.Trial
        The (prefixed) trial the engine hands over.
    ctx : automl.Context
        The problem.

    Returns
    -------
    dict
        Parameters for :func:`build`.
    """
    # min_child_weight bounds a leaf's hessian sum (at most 0.25 a row for a binary target):
    # much above 20 a fold of a few hundred rows cannot split at all
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 10),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 20.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
    }


def n_trees(learning_rate: float, early: bool) -> int:
    """The most trees: a ceiling for early stopping, else a number scaled to the learning rate.

    Parameters
    ----------
    learning_rate : float
        Shrinkage of every tree.
    early : bool
        Whether early stopping will cut the number down.

    Returns
    -------
    int
    """
    if early:
        return int(min(3000, max(100, 20 / learning_rate)))
    return int(min(500, max(10, 10 / learning_rate)))


def _model(params: dict[str, Any], ctx: Context, n_estimators: int) -> Any:
    """A plain XGBoost model of ``params`` for ``ctx``."""
    import xgboost as xgb

    cls = xgb.XGBClassifier if ctx.is_classification else xgb.XGBRegressor
    return cls(
        n_estimators=n_estimators,
        learning_rate=params.get("learning_rate", 0.1),
        max_depth=params.get("max_depth", 6),
        min_child_weight=params.get("min_child_weight", 1.0),
        subsample=params.get("subsample", 1.0),
        colsample_bytree=params.get("colsample_bytree", 1.0),
        reg_lambda=params.get("reg_lambda", 1.0),
        reg_alpha=params.get("reg_alpha", 0.0),
        tree_method="hist",
        enable_categorical=True,
        missing=np.nan,
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbosity=0,
    )


def build(params: dict[str, Any], ctx: Context) -> Any:
    """An unfitted XGBoost model: early-stopped during the search, refit on all rows with the learned trees at the end.

    Parameters
    ----------
    params : dict
        From :func:`space` or :data:`DEFAULTS`; in the final refit also
        ``n_estimators``, learned on the folds.
    ctx : automl.Context
        The problem; ``ctx.final`` marks the refit on all rows, ``ctx.time_ordered``
        (read when the core has it) rows in time order, of which early stopping
        holds out the last ones.

    Returns
    -------
    estimator
        :class:`XGBEarlyStoppingClassifier` or :class:`XGBEarlyStoppingRegressor`:
        during the search they hold rows out to stop early; in the final refit
        they hold no rows out and only wrap the XGBoost model (the classifier
        maps any labels to the ``0..k-1`` XGBoost accepts; both answer a few
        rows through the Booster, see ``lean_op``).
    """
    lr = params.get("learning_rate", 0.1)
    shuffle = not getattr(ctx, "time_ordered", False)
    if ctx.final:
        # all rows, the number of trees the folds learned (without it, the fixed number small folds used)
        model = _model(params, ctx, int(params.get("n_estimators") or n_trees(lr, early=False)))
        # wrapped, without rows held out: the classifier's wrapper maps any class labels to 0..k-1
        wrapper = XGBEarlyStoppingClassifier if ctx.is_classification else XGBEarlyStoppingRegressor
        return wrapper(model, validation_fraction=0.0, shuffle=shuffle)
    early = ctx.n_rows >= MIN_ROWS_FOR_EARLY_STOPPING
    wrapper = XGBEarlyStoppingClassifier if ctx.is_classification else XGBEarlyStoppingRegressor
    return wrapper(
        _model(params, ctx, n_trees(lr, early)),
        validation_fraction=VALIDATION_FRACTION if early else 0.0,
        stopping_rounds=STOPPING_ROUNDS,
        random_state=ctx.random_state,
        shuffle=shuffle,
    )


def onnx_converters() -> None:
    """Register onnxmltools' XGBoost converter with skl2onnx, for the plain and the early-stopped models."""
    from automl_xgboost.onnx import register

    register()


@hookimpl
def automl_register_models(register: Any) -> None:
    """Register the model ``xgboost``.

    Parameters
    ----------
    register : callable
        The engine's ``register(ModelSpec)``.
    """
    register(
        ModelSpec(
            name=NAME,
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            defaults=DEFAULTS,
            handles_missing=True,
            native_categorical=True,
            cost=3.5,
            trusted_types=TRUSTED_TYPES,
            onnx_converters=onnx_converters,
        )
    )
