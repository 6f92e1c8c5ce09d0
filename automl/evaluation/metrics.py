"""Turning the user's ``metric`` argument into one object that scores predictions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer, get_scorer_names

from automl.specs import MetricSpec

DEFAULT_METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


class _ClassifierPredictions(ClassifierMixin, BaseEstimator):
    """Stands in for a fitted classifier and returns stored predictions."""

    def __init__(self, proba: np.ndarray, classes: np.ndarray) -> None:
        self.proba = proba
        self.classes = classes
        self.classes_ = classes

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.proba

    def predict(self, X: Any) -> np.ndarray:
        return self.classes[self.proba.argmax(axis=1)]

    def decision_function(self, X: Any) -> np.ndarray:
        return self.proba[:, 1] if self.proba.shape[1] == 2 else self.proba


class _RegressorPredictions(RegressorMixin, BaseEstimator):
    """Stands in for a fitted regressor and returns stored predictions."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.n_features_in_ = 0

    def predict(self, X: Any) -> np.ndarray:
        return self.values


def _takes_sample_weight(func: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        return True
    return "sample_weight" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


@dataclass(frozen=True)
class Metric:
    """A resolved metric.

    Exactly one of ``spec`` (a registered :class:`~automl.specs.MetricSpec`) and
    ``scorer`` (a scikit-learn scorer ``scorer(estimator, X, y)``) is set.
    """

    name: str
    greater_is_better: bool
    spec: MetricSpec | None = None
    scorer: Callable[..., float] | None = None

    def score(
        self,
        y_codes: np.ndarray,
        pred: np.ndarray,
        classes: np.ndarray | None,
        X: Any = None,
        sample_weight: np.ndarray | None = None,
    ) -> float:
        """Score predictions in the metric's natural units.

        Parameters
        ----------
        y_codes : ndarray
            True class indices (classification) or values (regression).
        pred : ndarray
            Class probabilities (n, k) aligned to ``classes``, or predicted values.
        classes : ndarray or None
            Class labels in the user's terms.
        X : table, optional
            The rows predicted, handed to scorer callables.
        sample_weight : ndarray, optional
            Weight of each row, passed on as ``sample_weight=``.

        Raises
        ------
        ValueError
            When weights are given to a metric function that does not take them.
        """
        weights = {} if sample_weight is None else {"sample_weight": sample_weight}
        if self.spec is not None:
            needs = self.spec.needs
            y_pred = np.asarray(pred).argmax(axis=1) if needs == "label" else pred
            if weights and not _takes_sample_weight(self.spec.func):
                raise ValueError(
                    f"metric {self.name!r} does not accept sample_weight; score without weights, "
                    "or register a metric whose function takes sample_weight="
                )
            return float(self.spec.func(y_codes, y_pred, **weights))
        assert self.scorer is not None
        if classes is None:
            holder: BaseEstimator = _RegressorPredictions(pred)
            y_true = y_codes
        else:
            holder = _ClassifierPredictions(pred, classes)
            y_true = classes[np.asarray(y_codes, dtype=int)]
        rows = X if X is not None else np.zeros((len(y_true), 1))
        return float(self.scorer(holder, rows, y_true, **weights))

    @property
    def takes_weights(self) -> bool:
        """True when the metric can weight rows (its function takes ``sample_weight``, as scorers do)."""
        return self.spec is None or _takes_sample_weight(self.spec.func)

    def objective(self, value: float) -> float:
        """Map a natural value to "greater is better" for the search."""
        return value if self.greater_is_better else -value


def resolve_metric(metric: Any, task: str, registered: Mapping[str, MetricSpec]) -> Metric:
    """Resolve ``AutoML(metric=...)``.

    Parameters
    ----------
    metric : str or callable
        ``"auto"``, a registered short name (``roc_auc``, ``rmse``, ...), any
        scikit-learn scorer name, or a scorer callable ``scorer(estimator, X, y)``
        where greater is better.
    task : str
        The task, to pick the default and check the metric applies.
    registered : mapping
        Metrics registered by plugins, by name.

    Raises
    ------
    ValueError
        When the name is unknown or the metric does not apply to the task.
    """
    if metric is None or (isinstance(metric, str) and metric == "auto"):
        metric = DEFAULT_METRIC[task]
    if isinstance(metric, str):
        spec = registered.get(metric)
        if spec is not None:
            if task not in spec.tasks:
                usable = sorted(n for n, s in registered.items() if task in s.tasks)
                raise ValueError(
                    f"metric={metric!r} does not apply to a {task} task; use one of {usable} "
                    "or a scikit-learn scorer name"
                )
            return Metric(name=spec.name, greater_is_better=spec.greater_is_better, spec=spec)
        if metric in get_scorer_names():
            return Metric(name=metric, greater_is_better=True, scorer=get_scorer(metric))
        usable = sorted(n for n, s in registered.items() if task in s.tasks)
        raise ValueError(
            f"metric={metric!r} is unknown; use one of {usable}, a scikit-learn scorer name "
            "(sklearn.metrics.get_scorer_names()) or a callable scorer(estimator, X, y)"
        )
    if callable(metric):
        name = getattr(metric, "__name__", None) or type(metric).__name__
        return Metric(name=str(name), greater_is_better=True, scorer=metric)
    raise ValueError(f"metric must be a name or a callable scorer, got {type(metric).__name__}")


__all__ = ["DEFAULT_METRIC", "Metric", "resolve_metric"]
