"""CatBoost models that find their categorical columns at fit time and learn their number of trees.

:class:`CatBoostModelClassifier` and :class:`CatBoostModelRegressor` wrap
CatBoost's scikit-learn-style classes. At ``fit`` they

- take every pandas ``category`` or ``object`` column as a categorical feature
  (``cat_features``), its values as strings, a missing value as
  :data:`MISSING_CATEGORY`, because CatBoost accepts no NaN there;
- with ``validation_fraction > 0`` and enough rows, hold out that share of the
  rows, stop adding trees when the loss on it stops improving, and report the
  number of trees (scaled to all the rows) as ``learned_params_``, so the
  final refit uses it on every row without holding any out;
- take ``sample_weight`` (CatBoost's ``sample_weight`` for the training rows,
  the held-out rows' weights in the evaluation ``Pool``);
- with ``shuffle=False`` (rows in time order) hold out the last rows and tell
  CatBoost ``has_time=True``, so that it does not permute the rows either.

A fitted model pickles, and saves in skops' safe format, as CatBoost's own
serialized model (bytes) plus plain parameters.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from automl.lean import FEW_ROWS
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from automl_catboost.lean import RAW_LOSSES, CatBoostTrees, c_exp

logger = logging.getLogger(__name__)

#: below this many training rows, boosting runs its full number of trees
MIN_ROWS_FOR_EARLY_STOPPING = 300

#: what a missing (or, after the ``native`` preprocessor, rare or unseen) category becomes
MISSING_CATEGORY = "__missing__"


def categorical_columns(X: Any) -> list[int]:
    """Positions of the categorical columns of ``X``: pandas ``category``, ``object`` or string columns.

    Parameters
    ----------
    X : DataFrame or array-like
        The model's input; an array has no categorical columns.

    Returns
    -------
    list of int
    """
    if not isinstance(X, pd.DataFrame):
        return []
    dtypes = X.dtypes
    return [
        i
        for i, dtype in enumerate(dtypes)
        if isinstance(dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(dtype)
        or pd.api.types.is_string_dtype(dtype)
    ]


def to_catboost_frame(X: Any, cat_features: list[int]) -> Any:
    """``X`` as CatBoost reads it: categorical columns as strings, missing values as :data:`MISSING_CATEGORY`.

    Parameters
    ----------
    X : DataFrame or array-like
        The model's input.
    cat_features : list of int
        Positions of the categorical columns.

    Returns
    -------
    DataFrame or array-like
        A new DataFrame when there are categorical columns, else ``X`` itself.
    """
    if not cat_features:
        return X
    out = X.copy()
    out.columns = [str(c) for c in X.columns]
    for i in cat_features:
        values = X.iloc[:, i].to_numpy(dtype=object, copy=True)
        missing = pd.isna(values)
        values[missing] = MISSING_CATEGORY
        values[~missing] = [str(v) for v in values[~missing]]
        out.isetitem(i, values)
    return out


def _categories(X: Any, cat_features: list[int]) -> list[list[str]] | None:
    """The categories of each categorical column when all are pandas ``category`` columns, else None."""
    if not cat_features:
        return []
    dtypes = [X.dtypes.iloc[i] for i in cat_features]
    if not all(isinstance(d, pd.CategoricalDtype) for d in dtypes):
        return None
    return [[str(c) for c in d.categories] for d in dtypes]


def _take(X: Any, rows: np.ndarray) -> Any:
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]


class _CatBoostModel(BaseEstimator):
    """Shared fitting of the classifier and the regressor (see the module docstring)."""

    _catboost_class = ""

    def __init__(
        self,
        iterations: int = 1000,
        learning_rate: float = 0.08,
        depth: int = 6,
        l2_leaf_reg: float = 3.0,
        random_strength: float = 1.0,
        subsample: float = 0.8,
        border_count: int = 254,
        one_hot_max_size: int = 2,
        auto_class_weights: str | None = None,
        validation_fraction: float = 0.0,
        early_stopping_rounds: int = 50,
        thread_count: int = 1,
        random_seed: int | None = None,
        shuffle: bool = True,
    ) -> None:
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.subsample = subsample
        self.border_count = border_count
        self.one_hot_max_size = one_hot_max_size
        self.auto_class_weights = auto_class_weights
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds
        self.thread_count = thread_count
        self.random_seed = random_seed
        self.shuffle = shuffle

    def _new_catboost(self, cat_features: list[int]) -> Any:
        import catboost

        params: dict[str, Any] = {
            "iterations": int(self.iterations),
            "learning_rate": float(self.learning_rate),
            "depth": int(self.depth),
            "l2_leaf_reg": float(self.l2_leaf_reg),
            "random_strength": float(self.random_strength),
            "bootstrap_type": "MVS" if self.subsample < 1.0 else "No",
            "border_count": int(self.border_count),
            "one_hot_max_size": int(self.one_hot_max_size),
            "cat_features": cat_features or None,
            "thread_count": int(self.thread_count),
            "random_seed": 0 if self.random_seed is None else int(self.random_seed),
            "allow_writing_files": False,
            "logging_level": "Silent",
        }
        if self.subsample < 1.0:
            params["subsample"] = float(self.subsample)
        if not self.shuffle:
            # rows in time order: no random permutations (ordered target statistics, ordered boosting)
            params["has_time"] = True
        if isinstance(self, ClassifierMixin):
            params["auto_class_weights"] = self.auto_class_weights
            return catboost.CatBoostClassifier(**params)
        return catboost.CatBoostRegressor(**params)

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Training and validation rows for early stopping, or None when there are too few rows.

        A random share (stratified for classifiers), or with ``shuffle=False``
        the last ``validation_fraction`` of the rows.
        """
        n = len(y)
        if n < MIN_ROWS_FOR_EARLY_STOPPING or not 0 < self.validation_fraction < 1:
            return None
        if not self.shuffle:
            cut = n - max(1, int(round(self.validation_fraction * n)))
            idx_tr, idx_va = np.arange(cut), np.arange(cut, n)
        else:
            stratify = None
            if isinstance(self, ClassifierMixin):
                _, counts = np.unique(y, return_counts=True)
                stratify = y if counts.min() >= 2 else None
            idx_tr, idx_va = train_test_split(
                np.arange(n), test_size=self.validation_fraction, random_state=self.random_seed, stratify=stratify
            )
        if isinstance(self, ClassifierMixin):
            # a class the training rows lack cannot be validated on: keep its rows for training
            unseen = ~np.isin(y[idx_va], y[idx_tr])
            idx_tr, idx_va = np.concatenate([idx_tr, idx_va[unseen]]), idx_va[~unseen]
        return (idx_tr, idx_va) if len(idx_va) else None

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _CatBoostModel:
        """Fit CatBoost, with early stopping on a held-out share of the rows when there are enough.

        Parameters
        ----------
        X : DataFrame or array-like
            Features; ``category`` and ``object`` columns are categorical.
        y : array-like
            Target.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row, in the training loss and in the loss on the held-out rows.

        Returns
        -------
        self
        """
        import catboost

        y = np.asarray(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float).reshape(-1)
        if w is not None and len(w) != len(y):
            raise ValueError(f"sample_weight has {len(w)} values for {len(y)} rows; pass one weight per row")
        self.cat_features_ = categorical_columns(X)
        self.cat_categories_ = _categories(X, self.cat_features_)
        data = to_catboost_frame(X, self.cat_features_)
        model = self._new_catboost(self.cat_features_)
        split = self._split(y)
        if split is None:
            model.fit(data, y, sample_weight=w)
            self.n_estimators_ = int(model.tree_count_)
            share = 1.0
        else:
            idx_tr, idx_va = split
            eval_set: Any = (_take(data, idx_va), y[idx_va])
            # CatBoost takes the held-out rows' weights only in a Pool; held-out rows that all weigh 0
            # would make the weighted loss 0 / 0, so they stay unweighted
            if w is not None and w[idx_va].sum() > 0:
                eval_set = catboost.Pool(*eval_set, cat_features=self.cat_features_ or None, weight=w[idx_va])
            model.fit(
                _take(data, idx_tr),
                y[idx_tr],
                sample_weight=None if w is None else w[idx_tr],
                eval_set=eval_set,
                early_stopping_rounds=self.early_stopping_rounds,
                use_best_model=True,
            )
            self.n_estimators_ = int(model.tree_count_)
            share = len(idx_tr) / len(y)
            logger.debug("CatBoost early stopping kept %d of %d trees", self.n_estimators_, self.iterations)
        # for a refit on all these rows: trees in proportion to the rows trained on
        self.learned_params_ = {"iterations": max(1, int(np.ceil(self.n_estimators_ / share)))}
        self.model_ = model
        self.n_features_in_ = int(np.shape(X)[1])
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        if isinstance(self, ClassifierMixin):
            self.classes_ = np.asarray(model.classes_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict labels (classifier) or values (regressor).

        Parameters
        ----------
        X : DataFrame or array-like
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "model_")
        pred = self.model_.predict(to_catboost_frame(X, self.cat_features_))
        return np.asarray(pred).reshape(-1) if isinstance(self, ClassifierMixin) else np.asarray(pred, dtype=float)

    def lean_op(self, method: str) -> Any:
        """The lean form of ``method`` (see :mod:`automl.lean`): CatBoost on an array, or None.

        In lean form a ``category`` column arrives as its codes (NaN outside
        the categories); they become the category strings again (or
        :data:`MISSING_CATEGORY`), as :func:`to_catboost_frame` gives them.
        A few rows are predicted on one thread: CatBoost's default, every
        core, keeps a second core spinning between calls for no gain (each
        row's value is the same on any number of threads). A regressor or a
        binary classifier on numbers alone walks a few rows in its stacked
        trees instead (:class:`~automl_catboost.lean.CatBoostTrees`, built on
        the first such call).
        """
        check_is_fitted(self, "model_")
        classifier = isinstance(self, ClassifierMixin)
        if method not in ("predict_proba", "predict") or classifier != (method == "predict_proba"):
            return None
        categories = getattr(self, "cat_categories_", None)
        if self.cat_features_ and categories is None:
            return None  # fitted on columns other than pandas categories, or before categories were recorded
        tables = [np.array([*c, MISSING_CATEGORY], dtype=object) for c in categories or []]
        positions = list(self.cat_features_)
        model = self.model_
        walk: CatBoostTrees | None = None
        loss = model.get_all_params().get("loss_function")
        walkable = not positions and (loss == "Logloss" and c_exp() is not None if classifier else loss in RAW_LOSSES)

        def run(X: np.ndarray) -> np.ndarray:
            nonlocal walk, walkable
            if walkable and len(X) <= FEW_ROWS:
                if walk is None:
                    walk = CatBoostTrees.of(model)
                    walkable = walk is not None
                if walk is not None:
                    return walk.proba(X) if classifier else walk(X)
            if positions:
                values = X.astype(object)
                for table, i in zip(tables, positions, strict=True):
                    codes = X[:, i]
                    values[:, i] = table[np.where(np.isnan(codes), len(table) - 1, codes).astype(np.intp)]
                X = values
            threads = {"thread_count": 1} if len(X) <= FEW_ROWS else {}
            if classifier:
                return np.asarray(model.predict_proba(X, **threads))
            return np.asarray(model.predict(X, **threads), dtype=float)

        return run

    @property
    def feature_importances_(self) -> np.ndarray:
        """CatBoost's feature importances (PredictionValuesChange)."""
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.get_feature_importance())


class CatBoostModelClassifier(ClassifierMixin, _CatBoostModel):
    """A CatBoost classifier that finds its categorical columns at fit time and may learn its number of trees.

    Parameters
    ----------
    iterations : int
        Trees to grow; with early stopping, the most allowed.
    learning_rate, depth, l2_leaf_reg, random_strength, border_count, one_hot_max_size : float or int
        CatBoost's parameters of the same names.
    subsample : float
        Share of rows sampled per tree (MVS bootstrap); 1.0 samples none.
    auto_class_weights : {None, "Balanced", "SqrtBalanced"}
        CatBoost's class weighting.
    validation_fraction : float
        Share of the rows held out to decide when to stop; 0 for no early stopping.
    early_stopping_rounds : int
        Stop after this many trees without improvement.
    thread_count : int
        Threads CatBoost uses.
    random_seed : int or None
        Seed of CatBoost and of the hold-out split.
    shuffle : bool
        Hold out a random (stratified) share of the rows; False holds out the
        last rows and sets CatBoost's ``has_time`` (no random permutations of
        the rows), for rows in time order (``ctx.time_ordered``).

    Attributes
    ----------
    model_ : catboost.CatBoostClassifier
        The fitted model.
    cat_features_ : list of int
        Positions of the categorical columns.
    n_estimators_ : int
        Trees kept.
    learned_params_ : dict
        ``{"iterations": ...}`` for a refit on all the rows given to ``fit``.
    classes_ : ndarray
        The class labels.
    """

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, in the order of ``classes_``.

        Parameters
        ----------
        X : DataFrame or array-like
            Features with the columns seen in ``fit``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "model_")
        return np.asarray(self.model_.predict_proba(to_catboost_frame(X, self.cat_features_)))


class CatBoostModelRegressor(RegressorMixin, _CatBoostModel):
    """A CatBoost regressor that finds its categorical columns at fit time and may learn its number of trees.

    Parameters and attributes are those of :class:`CatBoostModelClassifier`
    (``auto_class_weights`` is ignored; there is no ``classes_``).
    """
