"""Linear baseline: logistic regression for classification, ridge or elastic net for regression."""

from __future__ import annotations

import inspect

from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge

from automl.markers import hookimpl
from automl.specs import ModelSpec

#: scikit-learn 1.8 replaced LogisticRegression's penalty by l1_ratio alone
_L1_RATIO_ONLY = inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated"


def space(trial, ctx):
    if ctx.is_classification:
        return {
            "C": trial.suggest_float("C", 1e-3, 1e2, log=True),
            "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"]),
            # L1 keeps the few columns that matter (FLAML's "lrl1" learner)
            "penalty": trial.suggest_categorical("penalty", ["l2", "l1"]),
        }
    family = trial.suggest_categorical("family", ["ridge", "elasticnet"])
    if family == "ridge":
        return {"family": family, "alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}
    return {
        "family": family,
        "alpha": trial.suggest_float("enet_alpha", 1e-4, 10.0, log=True),
        "l1_ratio": trial.suggest_float("l1_ratio", 0.05, 1.0),
    }


def build(params, ctx):
    if ctx.is_classification:
        l1 = params.get("penalty", "l2") == "l1"
        if not l1:
            regularisation: dict = {}
        elif _L1_RATIO_ONLY:
            regularisation = {"l1_ratio": 1.0}
        else:  # pragma: no cover - scikit-learn < 1.8
            regularisation = {"penalty": "l1"}
        return LogisticRegression(
            C=params.get("C", 1.0),
            class_weight=params.get("class_weight"),
            # liblinear is fast for L1 but binary only
            solver=("liblinear" if ctx.task == "binary" else "saga") if l1 else "lbfgs",
            max_iter=2000,
            random_state=ctx.random_state,
            **regularisation,
        )
    if params.get("family", "ridge") == "elasticnet":
        return ElasticNet(
            alpha=params["alpha"], l1_ratio=params["l1_ratio"], max_iter=5000, random_state=ctx.random_state
        )
    return Ridge(alpha=params.get("alpha", 1.0), random_state=ctx.random_state)


@hookimpl
def automl_register_models(register):
    """Register the linear baseline."""
    register(
        ModelSpec(
            name="linear",
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            defaults=({"C": 1.0, "class_weight": None, "penalty": "l2", "family": "ridge", "alpha": 1.0},),
            needs_scaling=True,
            cost=1.0,
        )
    )
