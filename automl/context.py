"""What a component is told about the problem when it builds an estimator or a space."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True)
class Context:
    """Facts about the fit that components may use.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        The learning task.
    n_rows : int
        Number of training rows the estimator will see (a fold, or the whole table).
    n_features : int
        Number of input columns kept after cleaning.
    n_numeric, n_categorical : int
        How many of those columns are numeric and categorical.
    n_classes : int
        Number of classes; 0 for regression.
    random_state : int or None
        Seed to pass to the estimator.
    n_threads : int
        Threads the estimator may use. During the search each trial gets one;
        the final refit gets all of ``n_jobs``.
    final : bool
        True when the estimator is the final one, refit on all rows after the
        search; False while it is evaluated on folds.
    time_ordered : bool
        The rows reach ``fit`` in time order (``fit(..., time=...)`` or
        ``cv="time"``): a model that holds rows out of its training set (early
        stopping) should hold out the last ones, and nothing should shuffle.
    """

    task: str
    n_rows: int
    n_features: int
    n_numeric: int = 0
    n_categorical: int = 0
    n_classes: int = 0
    random_state: int | None = None
    n_threads: int = 1
    final: bool = False
    time_ordered: bool = False

    @property
    def is_classification(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.task != "regression"

    def replace(self, **changes: object) -> Context:
        """Return a copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class SearchContext:
    """What observers learn when a search starts.

    Parameters
    ----------
    context : Context
        Facts about the data and task.
    metric : str
        Name of the metric being optimised.
    models : tuple of str
        Candidate model names, fixed for the whole search.
    cv : str
        Description of the evaluation scheme, e.g. ``"5-fold stratified"``.
    time_budget : float
        Seconds allowed for the whole fit.
    """

    context: Context
    metric: str
    models: tuple[str, ...]
    cv: str
    time_budget: float
