"""XGBoost models whose number of trees is learned by early stopping during the search.

During the search the plugin's ``build`` returns :class:`XGBEarlyStoppingClassifier`
or :class:`XGBEarlyStoppingRegressor`: it holds out a share of the training rows,
stops adding trees when the validation loss stops improving, and reports the
number of trees (scaled to all its rows) as ``learned_params_``. The engine
passes the median over the folds to the final refit, which is a plain XGBoost
model trained on every row with that number of trees.

The classifier also encodes the class labels it is given as ``0..m-1`` (XGBoost
requires that), so a fold that lacks one of the classes still fits.

Both take ``fit(X, y, sample_weight=None)``: the weights of the training rows go
to XGBoost's ``sample_weight``, those of the held-out rows to
``sample_weight_eval_set`` (the validation loss is weighted too). With
``shuffle=False`` (rows in time order) the held-out rows are the last ones.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from automl_xgboost.lean import booster_op

logger = logging.getLogger(__name__)

#: below this many training rows, boosting runs its full number of trees (no rows held out)
MIN_ROWS_FOR_EARLY_STOPPING = 300


def _take(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of a DataFrame or an array."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


class _XGBEarlyStopping(BaseEstimator):
    def __init__(
        self,
        estimator: Any = None,
        validation_fraction: float = 0.1,
        stopping_rounds: int = 50,
        random_state: int | None = None,
        shuffle: bool = True,
    ) -> None:
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.stopping_rounds = stopping_rounds
        self.random_state = random_state
        self.shuffle = shuffle

    def _uses_early_stopping(self, n_rows: int) -> bool:
        return n_rows >= MIN_ROWS_FOR_EARLY_STOPPING and 0 < self.validation_fraction < 1

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices.

        A random share, stratified for classes with at least two rows each; with
        ``shuffle=False`` (rows in time order) the last ``validation_fraction``
        of the rows. A class the training rows lack cannot be learned, so its
        held-out rows go back to training.
        """
        n = len(y)
        if not self.shuffle:
            cut = n - max(1, int(round(self.validation_fraction * n)))
            idx_tr, idx_va = np.arange(cut), np.arange(cut, n)
        else:
            strat = None
            if isinstance(self, ClassifierMixin):
                _, counts = np.unique(y, return_counts=True)
                strat = y if counts.min() >= 2 else None
            idx_tr, idx_va = train_test_split(
                np.arange(n), test_size=self.validation_fraction, random_state=self.random_state, stratify=strat
            )
        if isinstance(self, ClassifierMixin):
            unseen = ~np.isin(y[idx_va], y[idx_tr])
            if unseen.any():
                idx_tr, idx_va = np.sort(np.concatenate([idx_tr, idx_va[unseen]])), idx_va[~unseen]
        return idx_tr, idx_va

    def _fit_encoded(self, X: Any, y: np.ndarray, sample_weight: Any = None) -> _XGBEarlyStopping:
        """Fit on a target XGBoost accepts as it is (class codes ``0..m-1`` or values), weighted if asked."""
        est = clone(self.estimator)
        n = len(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float).reshape(-1)
        if w is not None and len(w) != n:
            raise ValueError(f"sample_weight has {len(w)} values for {n} rows; pass one weight per row")
        split = self._split(y) if self._uses_early_stopping(n) else None
        if split is not None and len(split[1]):
            idx_tr, idx_va = split
            weighted: dict[str, Any] = {}
            if w is not None:
                weighted["sample_weight"] = w[idx_tr]
                # held-out rows that all weigh 0 would make the weighted validation loss 0 / 0: leave them unweighted
                if w[idx_va].sum() > 0:
                    weighted["sample_weight_eval_set"] = [w[idx_va]]
            est.set_params(early_stopping_rounds=self.stopping_rounds)
            est.fit(_take(X, idx_tr), y[idx_tr], eval_set=[(_take(X, idx_va), y[idx_va])], verbose=False, **weighted)
            self.n_estimators_ = int(est.best_iteration) + 1
            share = 1.0 - self.validation_fraction
        else:
            est.fit(X, y, sample_weight=w)
            self.n_estimators_ = int(est.n_estimators)
            share = 1.0
        # for a refit on all these rows: trees in proportion to the rows trained on
        self.learned_params_ = {"n_estimators": max(1, int(np.ceil(self.n_estimators_ / share)))}
        logger.debug("xgboost kept %d trees of %d", self.n_estimators_, est.n_estimators)
        self.estimator_ = est
        self.n_features_in_ = est.n_features_in_
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        return self

    def lean_op(self, method: str) -> Any:
        """The lean form of ``method`` (see :mod:`automl.lean`): the fitted XGBoost model's, on an array.

        XGBoost reads a pandas ``category`` column as its codes, which is what
        the lean form of the native encoder gives.
        """
        check_is_fitted(self, "estimator_")
        classifier = isinstance(self, ClassifierMixin)
        if method == "predict_proba" and classifier:
            return booster_op(self.estimator_, classifier) or self.estimator_.predict_proba
        if method == "predict" and not classifier:
            return booster_op(self.estimator_, classifier) or self.estimator_.predict
        return None

    @property
    def feature_importances_(self) -> np.ndarray:
        """The boosted model's feature importances."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_


class XGBEarlyStoppingClassifier(ClassifierMixin, _XGBEarlyStopping):
    """An XGBoost classifier whose number of trees is chosen by early stopping.

    Parameters
    ----------
    estimator : xgboost.XGBClassifier
        The model; its ``n_estimators`` is the most trees allowed.
    validation_fraction : float
        Share of the training rows held out to decide when to stop; 0 fits on
        every row with all the trees (as do tables under
        ``MIN_ROWS_FOR_EARLY_STOPPING`` rows).
    stopping_rounds : int
        Stop after this many trees without improvement of the validation loss.
    random_state : int or None
        Seed of the hold-out split.
    shuffle : bool
        Hold out a random (stratified) share of the rows; False holds out the
        last rows, for rows in time order (``ctx.time_ordered``).

    Attributes
    ----------
    classes_ : ndarray
        The class labels seen in ``fit``, sorted.
    n_estimators_ : int
        Trees kept.
    learned_params_ : dict
        ``{"n_estimators": ...}`` for a refit on all the rows given to ``fit``.
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> XGBEarlyStoppingClassifier:
        """Encode the labels as ``0..m-1`` and fit with early stopping (when there are enough rows).

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
            Training rows; ``category`` columns are split on natively.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row, in the training loss and in the validation loss of early stopping.

        Returns
        -------
        self
        """
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        return self._fit_encoded(X, codes.astype(np.int64), sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, one column per class of ``classes_``."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class label."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class XGBEarlyStoppingRegressor(RegressorMixin, _XGBEarlyStopping):
    """An XGBoost regressor whose number of trees is chosen by early stopping.

    Parameters are those of :class:`XGBEarlyStoppingClassifier`.
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> XGBEarlyStoppingRegressor:
        """Fit with early stopping (when there are enough rows).

        Parameters
        ----------
        X : DataFrame or array of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Target values.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row, in the training loss and in the validation loss of early stopping.

        Returns
        -------
        self
        """
        return self._fit_encoded(X, np.asarray(y, dtype=float), sample_weight)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values of the early-stopped model."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)


__all__ = ["MIN_ROWS_FOR_EARLY_STOPPING", "XGBEarlyStoppingClassifier", "XGBEarlyStoppingRegressor"]
