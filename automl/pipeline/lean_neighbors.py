"""k-nearest neighbours in lean form: the fitted search asked directly, without each call's checks.

``KNeighborsClassifier.predict_proba`` and ``KNeighborsRegressor.predict``
check the input, then ``kneighbors`` checks it again (and, with a tree,
hands the rows to joblib) before the search answers: on one row that is
about half of a kNN member's half millisecond. With one output, the lean
form asks the search itself with the arguments scikit-learn gives it: the
KD or ball tree's ``query`` (each row's neighbours do not depend on the rows
beside it), or by brute force scikit-learn's pairwise reduction
(``ArgKmin``; ``ArgKminClassMode`` for a classifier's uniform votes), and
weighs the neighbours as scikit-learn does (``_get_weights``, the same votes
in the same order). Other metrics' joblib path, several outputs, a
precomputed metric, weights given as a function and subclasses keep their
own calls, and so does every model if scikit-learn's internals moved.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from automl.lean import LeanOp

NEIGHBORS = (KNeighborsClassifier, KNeighborsRegressor)

logger = logging.getLogger(__name__)


def neighbors_op(model: Any, method: str) -> LeanOp | None:
    """The lean form of a fitted k-nearest-neighbours model's ``method``, or None where it keeps its own."""
    try:
        return _neighbors_op(model, method)
    except Exception:  # noqa: BLE001  (scikit-learn's internals moved: the model's own call answers)
        logger.debug("no lean form for %s", type(model).__name__, exc_info=True)
        return None


def _neighbors_op(model: Any, method: str) -> LeanOp | None:
    from sklearn.neighbors._base import _get_weights

    kind = type(model)
    search = getattr(model, "_fit_method", None)
    if kind not in NEIGHBORS or search not in ("kd_tree", "ball_tree", "brute") or model.metric == "precomputed":
        return None
    if model.weights not in ("uniform", "distance") or np.ndim(model._y) != 1:
        return None
    k, y = model.n_neighbors, model._y
    distance = model.weights == "distance"
    votes = _ClassMode(model) if kind is KNeighborsClassifier and not distance and search == "brute" else None

    def neighbours(X: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        if search != "brute":
            found = model._tree.query(X, k, distance)
        else:
            found = _brute(model, X, k, distance)
        return found if distance else (None, found)

    if kind is KNeighborsClassifier and method == "predict_proba":
        n_classes = len(model.classes_)

        def proba(X: np.ndarray) -> np.ndarray:
            if votes is not None and votes.usable(X):
                return votes(X)
            dist, ind = neighbours(X)
            weights = _get_weights(dist, model.weights)
            if weights is None:
                weights = np.ones_like(ind)
            elif np.any(np.all(weights == 0, axis=1)):
                raise ValueError("all neighbours of a row weigh nothing")  # the model's own call says so
            out = np.zeros((X.shape[0], n_classes))
            rows = np.arange(X.shape[0])
            for i, labels in enumerate(y[ind].T):  # one neighbour rank after the other, as scikit-learn votes
                out[rows, labels] += weights[:, i]
            out /= out.sum(axis=1)[:, np.newaxis]
            return out

        return proba
    if kind is KNeighborsRegressor and method == "predict":

        def predict(X: np.ndarray) -> np.ndarray:
            dist, ind = neighbours(X)
            weights = _get_weights(dist, model.weights)
            column = y.reshape((-1, 1))
            if weights is None:
                return np.mean(column[ind], axis=1).ravel()
            return (np.sum(column[ind, 0] * weights, axis=1) / np.sum(weights, axis=1)).ravel()

        return predict
    return None


def _brute(model: Any, X: np.ndarray, k: int, distance: bool) -> Any:
    """``kneighbors`` by brute force, as scikit-learn computes it (its pairwise reduction; else an error)."""
    from sklearn.metrics._pairwise_distances_reduction import ArgKmin

    if not ArgKmin.is_usable_for(X, model._fit_X, model.effective_metric_):
        raise ValueError("scikit-learn would take its joblib path: the model's own call answers")
    return ArgKmin.compute(
        X=X,
        Y=model._fit_X,
        k=k,
        metric=model.effective_metric_,
        metric_kwargs=model.effective_metric_params_,
        strategy="auto",
        return_distance=distance,
    )


class _ClassMode:
    """A brute-force classifier's uniform votes, as ``predict_proba`` takes them (``ArgKminClassMode``)."""

    def __init__(self, model: Any) -> None:
        from sklearn.metrics._pairwise_distances_reduction import ArgKminClassMode
        from sklearn.neighbors._classification import _adjusted_metric

        self.model, self.mode = model, ArgKminClassMode
        adjusted = _adjusted_metric(metric=model.metric, metric_kwargs=model.metric_params, p=model.p)
        self.metric, self.metric_kwargs = adjusted

    def usable(self, X: np.ndarray) -> bool:
        return bool(self.mode.is_usable_for(X, self.model._fit_X, self.metric))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        m = self.model
        return self.mode.compute(
            X,
            m._fit_X,
            k=m.n_neighbors,
            weights=m.weights,
            Y_labels=m._y,
            unique_Y_labels=np.arange(len(m.classes_), dtype=np.intp),
            metric=self.metric,
            metric_kwargs=self.metric_kwargs,
            strategy="parallel_on_X",
        )


__all__ = ["NEIGHBORS", "neighbors_op"]
