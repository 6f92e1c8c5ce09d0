"""Estimators and plugin objects shared by the tests.

This module lives in ``tests/``, which pytest puts on ``sys.path``; worker
processes inherit ``sys.path`` through ``PYTHONPATH``, so the estimator classes
below unpickle there by reference.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from automl import ModelSpec, hookimpl

ALL_TASKS = ("binary", "multiclass", "regression")


class SleepForever(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` never returns."""

    def fit(self, X: Any, y: Any) -> SleepForever:
        time.sleep(10**6)
        return self  # pragma: no cover

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never fitted")


class Explode(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` raises."""

    def fit(self, X: Any, y: Any) -> Explode:
        raise RuntimeError("kaboom: this model always fails")

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never fitted")


class MeanRegressor(RegressorMixin, BaseEstimator):
    """Predicts the training mean (a tiny model of our own, not from scikit-learn)."""

    def fit(self, X: Any, y: Any) -> MeanRegressor:
        self.mean_ = float(np.mean(y))
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.mean_)


class ModelPlugin:
    """A plugin object that registers the given model specs."""

    def __init__(self, *specs: ModelSpec) -> None:
        self.specs = specs

    @hookimpl
    def automl_register_models(self, register: Callable[[ModelSpec], None]) -> None:
        for spec in self.specs:
            register(spec)


def model_plugin(
    name: str, make: Callable[[], Any], tasks: Iterable[str] | str = ALL_TASKS, **kwargs: Any
) -> ModelPlugin:
    """A plugin with one model named ``name`` built by ``make()``."""
    return ModelPlugin(ModelSpec(name=name, tasks=tasks, build=lambda params, ctx: make(), **kwargs))


class Recorder:
    """A plugin that records every observer call."""

    def __init__(self) -> None:
        self.started: list[Any] = []
        self.trials: list[tuple[Any, Any]] = []
        self.finished: list[Any] = []

    @hookimpl
    def automl_search_started(self, context: Any) -> None:
        self.started.append(context)

    @hookimpl
    def automl_trial_finished(self, result: Any, leaderboard: Any) -> None:
        self.trials.append((result, leaderboard.copy()))

    @hookimpl
    def automl_fit_finished(self, automl: Any) -> None:
        self.finished.append(automl)
