"""Hook specifications: the whole plugin API of ``automl``.

A plugin is any object or module with functions marked by ``automl.hookimpl``
whose names match the specifications below. Built-in components are registered
through exactly these hooks (see :mod:`automl.builtins`). Third-party plugins are
found through the entry-point group ``automl``; ``AutoML(plugins=[obj])``
registers a plugin for one fit.

Registration hooks receive a ``register`` callable; call it once per component.
Observer hooks are named after the moment they observe (``*_started``,
``*_finished``) and must not change what they are given; an exception raised by
an observer is logged as a warning and never stops a fit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automl.markers import hookspec

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd

    from automl.context import SearchContext
    from automl.search.trial import TrialResult
    from automl.specs import MetricSpec, ModelSpec, PreprocessorSpec


@hookspec
def automl_register_models(register: Callable[[ModelSpec], None]) -> None:
    """Register model components.

    Parameters
    ----------
    register : callable
        Call ``register(ModelSpec(...))`` once for every model the plugin offers.
    """


@hookspec
def automl_register_preprocessors(register: Callable[[PreprocessorSpec], None]) -> None:
    """Register preprocessing components for one kind of column.

    Parameters
    ----------
    register : callable
        Call ``register(PreprocessorSpec(...))`` once for every preprocessor.
    """


@hookspec
def automl_register_metrics(register: Callable[[MetricSpec], None]) -> None:
    """Register metrics that users can name in ``AutoML(metric=...)``.

    Parameters
    ----------
    register : callable
        Call ``register(MetricSpec(...))`` once for every metric.
    """


@hookspec
def automl_search_started(context: SearchContext) -> None:
    """Observe the start of a search, after the data has been checked.

    Parameters
    ----------
    context : SearchContext
        Task, metric, table shape and the names of the candidate models.
    """


@hookspec
def automl_trial_finished(result: TrialResult, leaderboard: pd.DataFrame) -> None:
    """Observe one finished trial, whatever its status.

    Parameters
    ----------
    result : TrialResult
        The trial: model, parameters, fold scores, timings, status and error.
    leaderboard : pandas.DataFrame
        The leaderboard so far, best first, including this trial.
    """


@hookspec
def automl_fit_finished(automl: Any) -> None:
    """Observe the end of a successful ``fit``.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator: ``best_pipeline_``, ``leaderboard_`` and the rest are set.
    """
