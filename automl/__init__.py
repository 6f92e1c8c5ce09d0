"""automl: search preprocessing and models under a time budget, get a scikit-learn Pipeline.

>>> from automl import AutoML
>>> automl = AutoML(time_budget=60).fit(X, y)  # doctest: +SKIP
>>> automl.best_pipeline_, automl.leaderboard_  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from automl import _compat
from automl.context import Context, SearchContext
from automl.exceptions import (
    DataError,
    DataWarning,
    PluginError,
    PluginLoadWarning,
    SearchFailedError,
    UntrustedTypeError,
    VersionWarning,
)
from automl.markers import hookimpl
from automl.specs import MetricSpec, ModelSpec, PreprocessorSpec

__version__ = "0.1.0"

_compat.install()  # models pickled before the subpackages name the old module paths

_LAZY = {
    "AutoML": "automl.estimator",
    "AutoMLClassifier": "automl.estimator",
    "AutoMLRegressor": "automl.estimator",
    "TrialResult": "automl.search.trial",
    "drift": "automl.deploy.drift",
    "load": "automl.deploy.persist",
    "read_metadata": "automl.deploy.persist",
}


def __getattr__(name: str) -> Any:
    # the estimator pulls in Optuna; worker processes import this package without it
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")


__all__ = [
    "AutoML",
    "AutoMLClassifier",
    "AutoMLRegressor",
    "Context",
    "DataError",
    "DataWarning",
    "MetricSpec",
    "ModelSpec",
    "PluginError",
    "PluginLoadWarning",
    "PreprocessorSpec",
    "SearchContext",
    "SearchFailedError",
    "TrialResult",
    "UntrustedTypeError",
    "VersionWarning",
    "drift",
    "hookimpl",
    "load",
    "read_metadata",
]
