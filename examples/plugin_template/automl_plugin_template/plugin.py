"""The plugin: one model, Gaussian naive Bayes, with a search space and a default.

automl finds this module through the entry point in ``pyproject.toml`` and
calls the functions marked ``@hookimpl``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sklearn.naive_bayes import GaussianNB

from automl import Context, ModelSpec, hookimpl


def space(trial: Any, ctx: Context) -> dict[str, Any]:
    """The search space: suggest under plain names; the engine prefixes them with the model's name."""
    return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1e-3, log=True)}


def build(params: Mapping[str, Any], ctx: Context) -> GaussianNB:
    """An unfitted estimator for one configuration (naive Bayes has no seed and no threads to set)."""
    return GaussianNB(var_smoothing=params.get("var_smoothing", 1e-9))


SPEC = ModelSpec(
    name="template_nb",
    tasks="classification",  # binary and multiclass
    build=build,
    space=space,
    defaults=({"var_smoothing": 1e-9},),  # tried first
    needs_scaling=True,  # the engine standardises numeric columns for it
    cost=0.5,  # relative fit cost: cheaper than a linear model
)


@hookimpl
def automl_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register the model with automl."""
    register(SPEC)
