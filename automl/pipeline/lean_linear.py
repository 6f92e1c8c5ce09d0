"""Lean forms of arithmetic models: linear models' and Gaussian naive Bayes' answers, without the checks.

On one row, scikit-learn's checks of the input (dtype, namespace, feature
count) cost a hundred times the dot product. Once the input is the array the
model was fitted on (the stacked output of the ``prepare`` branches), the
answer is the same few numpy operations scikit-learn runs after its checks,
in the same order, so the output is the same element for element.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge
from sklearn.naive_bayes import GaussianNB

from automl.lean import LeanOp

try:  # the function GaussianNB normalizes with; private, so a scikit-learn without it has no lean GaussianNB
    from sklearn.utils._array_api import _logsumexp
except ImportError:  # pragma: no cover
    _logsumexp = None

#: linear models whose lean form is known (exactly these classes: a subclass may compute differently)
REGRESSORS = (Ridge, ElasticNet)


def linear_op(model: Any, method: str) -> LeanOp | None:
    """The lean form of a fitted linear model's ``method``, or None when it has none.

    Parameters
    ----------
    model : LogisticRegression, Ridge, ElasticNet or GaussianNB
        Fitted, on a dense array (any other model, or a subclass, gets None).
    method : {"predict", "predict_proba"}
        ``predict_proba`` of a logistic regression or a naive Bayes model, ``predict`` of a regressor.
    """
    if type(model) is GaussianNB and method == "predict_proba" and _logsumexp is not None:
        return _gaussian_nb_proba(model)
    coef = getattr(model, "coef_", None)
    if not isinstance(coef, np.ndarray) or coef.dtype.kind != "f":
        return None
    if type(model) is LogisticRegression and method == "predict_proba":
        return _logistic_proba(coef, model.intercept_, binary=len(model.classes_) <= 2)
    if type(model) in REGRESSORS and method == "predict":
        return _linear(coef, model.intercept_)
    return None


def _linear(coef: np.ndarray, intercept: Any) -> LeanOp:
    """``LinearModel._decision_function`` after its checks."""
    if coef.ndim == 1:
        return lambda X: X @ coef + intercept
    return lambda X: X @ coef.T + intercept


def _logistic_proba(coef: np.ndarray, intercept: np.ndarray, binary: bool) -> LeanOp:
    """``LogisticRegression.predict_proba`` after its checks: the expit of one score, or the softmax of several."""
    coef_t = coef.T

    def proba(X: np.ndarray) -> np.ndarray:
        scores = X @ coef_t + intercept
        if binary:
            prob = scores.reshape(-1) if scores.shape[1] == 1 else scores
            prob = expit(prob, out=prob)
            return np.stack([1 - prob, prob], axis=1)
        scores -= np.max(scores, axis=1).reshape((-1, 1))
        np.exp(scores, out=scores)
        scores /= np.sum(scores, axis=1).reshape((-1, 1))
        return scores

    return proba


def _gaussian_nb_proba(model: GaussianNB) -> LeanOp:
    """``GaussianNB.predict_proba`` after its check: the exponential of the normalized joint log-likelihood."""
    joint_log_likelihood = model._joint_log_likelihood

    def proba(X: np.ndarray) -> np.ndarray:
        jll = joint_log_likelihood(X)
        return np.exp(jll - np.atleast_2d(_logsumexp(jll, axis=1)).T)

    return proba


__all__ = ["REGRESSORS", "linear_op"]
