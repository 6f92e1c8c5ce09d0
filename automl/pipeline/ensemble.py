"""The estimators that average fitted pipelines: the final model when the search chooses an ensemble."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted


class _Ensemble(BaseEstimator):
    def __init__(self, estimators: Sequence[tuple[str, Any]], weights: Sequence[float]) -> None:
        self.estimators = estimators
        self.weights = weights

    def _check(self) -> None:
        if len(self.estimators) != len(self.weights) or not self.estimators:
            raise ValueError("an ensemble needs one weight per estimator and at least one estimator")

    def fit(self, X: Any, y: Any) -> _Ensemble:
        """Fit a clone of every member on X, y."""
        self._check()
        self.estimators_ = [clone(est).fit(X, y) for _, est in self.estimators]
        self._fitted(y)
        return self

    def _fitted(self, y: Any) -> None:
        first = self.estimators_[0]
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_

    @classmethod
    def from_fitted(cls, estimators: Sequence[tuple[str, Any]], weights: Sequence[float]) -> _Ensemble:
        """Wrap members that are already fitted."""
        ens = cls(list(estimators), list(weights))
        ens._check()
        ens.estimators_ = [est for _, est in estimators]
        if hasattr(ens.estimators_[0], "classes_"):
            ens.classes_ = np.asarray(ens.estimators_[0].classes_)
        ens._fitted(None)
        return ens


class EnsembleClassifier(ClassifierMixin, _Ensemble):
    """Weighted average of the class probabilities of fitted classifiers.

    Parameters
    ----------
    estimators : list of (name, estimator)
        The members (pipelines or estimators with ``predict_proba``).
    weights : list of float
        One weight per member; they are normalised to sum to one.
    """

    def fit(self, X: Any, y: Any) -> EnsembleClassifier:
        """Fit every member and record the classes."""
        super().fit(X, y)
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "estimators_")
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        out = None
        for weight, est in zip(w, self.estimators_, strict=True):
            p = np.asarray(est.predict_proba(X), dtype=float)
            cols = np.searchsorted(self.classes_, np.asarray(est.classes_))
            full = np.zeros((p.shape[0], len(self.classes_)))
            full[:, cols] = p
            out = weight * full if out is None else out + weight * full
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest averaged probability."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EnsembleRegressor(RegressorMixin, _Ensemble):
    """Weighted average of the predictions of fitted regressors.

    Parameters
    ----------
    estimators : list of (name, estimator)
        The members.
    weights : list of float
        One weight per member; they are normalised to sum to one.
    """

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' predictions."""
        check_is_fitted(self, "estimators_")
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        return sum(
            weight * np.asarray(est.predict(X), dtype=float) for weight, est in zip(w, self.estimators_, strict=True)
        )


__all__ = ["EnsembleClassifier", "EnsembleRegressor"]
