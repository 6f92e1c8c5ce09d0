"""Estimators and plugin objects shared by the tests.

This module lives in ``tests/``, which pytest puts on ``sys.path``; worker
processes inherit ``sys.path`` through ``PYTHONPATH``, so the estimator classes
below unpickle there by reference.
"""

from __future__ import annotations

import ctypes
import os
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


def _no_core_dump() -> None:
    """Crash without leaving a core file behind (this runs in a worker process)."""
    import resource

    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, hard))


class MemoryHog(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` allocates (and touches) memory without end.

    Parameters
    ----------
    give_up_bytes : int
        A safety net for the machine running the tests: past this many bytes
        (when no memory limit stopped it), ``fit`` sleeps instead, so a missing
        limit shows as a timeout rather than as a machine out of memory.
    """

    def __init__(self, give_up_bytes: int = 6 << 30) -> None:
        self.give_up_bytes = give_up_bytes

    def fit(self, X: Any, y: Any) -> MemoryHog:
        chunks = []
        chunk = 64 << 20
        while len(chunks) * chunk < self.give_up_bytes:
            block = np.empty(chunk // 8)
            block[::512] = 1.0  # touch every 4 KiB page: the memory is really used
            chunks.append(block)
        time.sleep(10**6)
        return self  # pragma: no cover

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never fitted")


class Abort(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` kills its own process with ``os.abort()`` (SIGABRT)."""

    def fit(self, X: Any, y: Any) -> Abort:
        _no_core_dump()
        os.abort()

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never fitted")


class Segfault(ClassifierMixin, BaseEstimator):
    """A classifier whose ``fit`` crashes in native code (reads address 0: SIGSEGV)."""

    def fit(self, X: Any, y: Any) -> Segfault:
        _no_core_dump()
        ctypes.string_at(0)
        return self  # pragma: no cover

    def predict(self, X: Any) -> np.ndarray:  # pragma: no cover
        raise AssertionError("never fitted")


class _Prior(ClassifierMixin, BaseEstimator):
    """Predicts the class shares seen in ``fit`` (the base of the faulty models below)."""

    def fit(self, X: Any, y: Any) -> _Prior:
        self.classes_, counts = np.unique(np.asarray(y), return_counts=True)
        self.prior_ = counts / counts.sum()
        self.n_features_in_ = np.asarray(X).shape[1]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class WrongShapeProba(_Prior):
    """A classifier whose ``predict_proba`` has one column too many."""

    def predict_proba(self, X: Any) -> np.ndarray:
        k = len(self.classes_) + 1
        return np.full((len(X), k), 1.0 / k)


class NaNProba(_Prior):
    """A classifier whose ``predict_proba`` returns NaN."""

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.full((len(X), len(self.classes_)), np.nan)


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
