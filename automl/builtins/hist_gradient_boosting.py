"""scikit-learn's HistGradientBoosting, with native categorical and missing-value handling.

On more than 10,000 rows HistGradientBoosting stops early on a held-out tenth
of its rows. During the search it reports the number of iterations it kept
(``learned_params_``), so the final model is refit on every row with that
number and no early stopping.
"""

from __future__ import annotations

import math
from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from automl.markers import hookimpl
from automl.specs import ModelSpec


def space(trial, ctx):
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_iter": trial.suggest_int("max_iter", 50, 1000, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 128, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 2, 100, log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
        "max_features": trial.suggest_float("max_features", 0.3, 1.0),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"])
        if ctx.is_classification
        else None,
    }


class _ReportsIterations:
    """After ``fit``, report the iterations early stopping kept, for a refit on all rows."""

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        super().fit(X, y, sample_weight=sample_weight)  # type: ignore[misc]
        if getattr(self, "do_early_stopping_", False) and isinstance(self.validation_fraction, float):
            share = 1.0 - self.validation_fraction
            self.learned_params_ = {"max_iter": max(1, math.ceil(self.n_iter_ / share)), "early_stopping": False}
        return self


class SearchHGBClassifier(_ReportsIterations, HistGradientBoostingClassifier):
    """HistGradientBoostingClassifier that reports the iterations early stopping kept."""


class SearchHGBRegressor(_ReportsIterations, HistGradientBoostingRegressor):
    """HistGradientBoostingRegressor that reports the iterations early stopping kept."""


def build(params, ctx):
    if ctx.final:  # a plain scikit-learn model in the returned pipeline
        cls = HistGradientBoostingClassifier if ctx.is_classification else HistGradientBoostingRegressor
    else:
        cls = SearchHGBClassifier if ctx.is_classification else SearchHGBRegressor
    return cls(
        early_stopping=params.get("early_stopping", "auto"),
        learning_rate=params.get("learning_rate", 0.1),
        max_iter=params.get("max_iter", 100),
        max_leaf_nodes=params.get("max_leaf_nodes", 31),
        min_samples_leaf=params.get("min_samples_leaf", 20),
        l2_regularization=params.get("l2_regularization", 0.0),
        max_features=params.get("max_features", 1.0),
        categorical_features="from_dtype",
        **({"class_weight": params.get("class_weight")} if ctx.is_classification else {}),
        random_state=ctx.random_state,
    )


@hookimpl
def automl_register_models(register):
    """Register HistGradientBoosting."""
    register(
        ModelSpec(
            name="hist_gradient_boosting",
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            # what a fitted model holds, for the safe model format (the partial is
            # scikit-learn's own categorical preprocessing calling check_array)
            trusted_types=(
                "automl.builtins.hist_gradient_boosting.SearchHGBClassifier",
                "automl.builtins.hist_gradient_boosting.SearchHGBRegressor",
                "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                "functools.partial",
                "sklearn.utils.validation.check_array",
            ),
            # scikit-learn's own defaults first: strong on many tables
            defaults=(
                {
                    "learning_rate": 0.1,
                    "max_iter": 100,
                    "max_leaf_nodes": 31,
                    "min_samples_leaf": 20,
                    "l2_regularization": 1e-6,
                    "max_features": 1.0,
                    "class_weight": None,
                },
            ),
            handles_missing=True,
            native_categorical=True,
            cost=3.0,
        )
    )
