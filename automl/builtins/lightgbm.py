"""LightGBM gradient boosting, with native categorical and missing-value handling.

The number of trees is learned, not searched: during the search
:class:`LGBMEarlyStoppingClassifier` holds out a validation share of the
training rows and stops adding trees when the validation loss stops improving.
It reports that number (scaled to all its rows) as ``learned_params_``, so the
final model is a plain LightGBM model refit on every row with it.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted

from automl.lean import lightgbm_op
from automl.markers import hookimpl
from automl.specs import ModelSpec

#: below this many training rows, boosting runs its full number of trees
MIN_ROWS_FOR_EARLY_STOPPING = 300


class _EarlyStopping(BaseEstimator):
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

    def _split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows: a random (stratified) share, or the last rows when they are in time order."""
        n = len(y)
        if not self.shuffle:
            cut = n - max(1, int(round(self.validation_fraction * n)))
            return np.arange(cut), np.arange(cut, n)
        strat = None
        if isinstance(self, ClassifierMixin):
            _, counts = np.unique(y, return_counts=True)
            strat = y if counts.min() >= 2 else None
        return train_test_split(
            np.arange(n), test_size=self.validation_fraction, random_state=self.random_state, stratify=strat
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _EarlyStopping:
        """Fit with early stopping on a held-out share of the rows (when there are enough), weighted if asked."""
        import lightgbm as lgb

        est = clone(self.estimator)
        y = np.asarray(y)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        n = len(y)
        if n >= MIN_ROWS_FOR_EARLY_STOPPING and 0 < self.validation_fraction < 1:
            idx_tr, idx_va = self._split(y)
            take = (lambda a, i: a.iloc[i]) if hasattr(X, "iloc") else (lambda a, i: a[i])
            weighted = {} if w is None else {"sample_weight": w[idx_tr], "eval_sample_weight": [w[idx_va]]}
            with warnings.catch_warnings():
                # LightGBM 4.7 deprecates eval_set for eval_X / eval_y, but does not encode
                # string class labels given as eval_y: keep eval_set, which it does encode
                warnings.filterwarnings("ignore", message=".*eval_set.*deprecated", category=Warning)
                est.fit(
                    take(X, idx_tr),
                    y[idx_tr],
                    eval_set=[(take(X, idx_va), y[idx_va])],
                    callbacks=[lgb.early_stopping(self.stopping_rounds, verbose=False)],
                    **weighted,
                )
            self.n_estimators_ = int(est.best_iteration_ or est.n_estimators)
        else:
            est.fit(X, y, sample_weight=w)
            self.n_estimators_ = int(est.n_estimators)
        # for a refit on all these rows: trees in proportion to the rows trained on
        share = 1.0 - self.validation_fraction if n >= MIN_ROWS_FOR_EARLY_STOPPING else 1.0
        self.learned_params_ = {"n_estimators": max(1, int(np.ceil(self.n_estimators_ / share)))}
        self.estimator_ = est
        if hasattr(est, "classes_"):
            self.classes_ = est.classes_
        self.n_features_in_ = est.n_features_in_
        if hasattr(est, "feature_names_in_"):
            self.feature_names_in_ = est.feature_names_in_
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predict with the early-stopped model."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def lean_op(self, method: str) -> Any:
        """The lean form of ``method`` (:mod:`automl.pipeline.lean_predict`): the early-stopped model's Booster."""
        check_is_fitted(self, "estimator_")
        return lightgbm_op(self.estimator_, method)

    @property
    def feature_importances_(self) -> np.ndarray:
        """The boosted model's feature importances."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.feature_importances_


class LGBMEarlyStoppingClassifier(ClassifierMixin, _EarlyStopping):
    """A LightGBM classifier whose number of trees is chosen by early stopping.

    Parameters
    ----------
    estimator : lightgbm.LGBMClassifier
        The model; its ``n_estimators`` is the most trees allowed.
    validation_fraction : float
        Share of the training rows held out to decide when to stop.
    stopping_rounds : int
        Stop after this many trees without improvement.
    random_state : int or None
        Seed of the hold-out split.
    shuffle : bool
        Hold out a random share of the rows; False holds out the last rows
        (rows in time order, ``ctx.time_ordered``).

    Attributes
    ----------
    n_estimators_ : int
        Trees kept.
    learned_params_ : dict
        ``{"n_estimators": ...}`` for a refit on all the rows given to ``fit``.
    """

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of the early-stopped model."""
        check_is_fitted(self, "estimator_")
        return self.estimator_.predict_proba(X)


class LGBMEarlyStoppingRegressor(RegressorMixin, _EarlyStopping):
    """A LightGBM regressor whose number of trees is chosen by early stopping.

    Parameters are those of :class:`LGBMEarlyStoppingClassifier`.
    """


def space(trial, ctx):
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, 256, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 2, 100, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
        "reg_alpha": trial.suggest_float("reg_alpha", 1e-8, 10.0, log=True),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-8, 10.0, log=True),
        "class_weight": trial.suggest_categorical("class_weight", [None, "balanced"])
        if ctx.is_classification
        else None,
    }


def build(params, ctx):
    import lightgbm as lgb

    cls = lgb.LGBMClassifier if ctx.is_classification else lgb.LGBMRegressor
    subsample = params.get("subsample", 1.0)
    lr = params.get("learning_rate", 0.1)
    # the final refit reuses the number of trees learned on the folds (params["n_estimators"])
    early = ctx.n_rows >= MIN_ROWS_FOR_EARLY_STOPPING and not (ctx.final and params.get("n_estimators"))
    # with early stopping, n_estimators is only a ceiling; without it, scale trees to the rate
    n_trees = params.get("n_estimators") or (int(min(3000, max(100, 20 / lr))) if early else int(min(500, 10 / lr)))
    model = cls(
        n_estimators=n_trees,
        learning_rate=lr,
        num_leaves=params.get("num_leaves", 31),
        min_child_samples=params.get("min_child_samples", 20),
        subsample=subsample,
        subsample_freq=1 if subsample < 1.0 else 0,
        colsample_bytree=params.get("colsample_bytree", 1.0),
        reg_alpha=params.get("reg_alpha", 0.0),
        reg_lambda=params.get("reg_lambda", 0.0),
        class_weight=params.get("class_weight"),
        n_jobs=ctx.n_threads,
        random_state=ctx.random_state,
        verbose=-1,
    )
    if not early:
        return model
    wrapper = LGBMEarlyStoppingClassifier if ctx.is_classification else LGBMEarlyStoppingRegressor
    return wrapper(
        model,
        validation_fraction=0.1,
        stopping_rounds=50,
        random_state=ctx.random_state,
        shuffle=not ctx.time_ordered,
    )


def onnx_converters() -> None:
    """Register LightGBM's ONNX converter (onnxmltools) with skl2onnx, for the plain and the early-stopped models."""
    import copy

    import lightgbm as lgb
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    def convert_wrapped(scope, operator, container):
        # an early-stopped model converts as the LightGBM model it holds
        inner = copy.copy(operator)
        inner.raw_operator = operator.raw_operator.estimator_
        convert_lightgbm(scope, inner, container)

    options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    for cls, convert, alias in (
        (lgb.LGBMClassifier, convert_lightgbm, "LightGbmLGBMClassifier"),
        (LGBMEarlyStoppingClassifier, convert_wrapped, "AutomlLGBMEarlyStoppingClassifier"),
    ):
        update_registered_converter(cls, alias, calculate_linear_classifier_output_shapes, convert, options=options)
    for cls, convert, alias in (
        (lgb.LGBMRegressor, convert_lightgbm, "LightGbmLGBMRegressor"),
        (LGBMEarlyStoppingRegressor, convert_wrapped, "AutomlLGBMEarlyStoppingRegressor"),
    ):
        update_registered_converter(cls, alias, calculate_linear_regressor_output_shapes, convert)


@hookimpl
def automl_register_models(register):
    """Register LightGBM."""
    register(
        ModelSpec(
            name="lightgbm",
            tasks=("binary", "multiclass", "regression"),
            build=build,
            space=space,
            # what a fitted LightGBM model holds, for the safe model format
            trusted_types=(
                "automl.builtins.lightgbm.LGBMEarlyStoppingClassifier",
                "automl.builtins.lightgbm.LGBMEarlyStoppingRegressor",
                "lightgbm.sklearn.LGBMClassifier",
                "lightgbm.sklearn.LGBMRegressor",
                "lightgbm.basic.Booster",
                "collections.OrderedDict",
            ),
            defaults=(
                {
                    "learning_rate": 0.1,
                    "num_leaves": 31,
                    "min_child_samples": 20,
                    "subsample": 1.0,
                    "colsample_bytree": 1.0,
                    "reg_alpha": 1e-8,
                    "reg_lambda": 1e-8,
                    "class_weight": None,
                },
                {
                    "learning_rate": 0.03,
                    "num_leaves": 15,
                    "min_child_samples": 10,
                    "subsample": 0.8,
                    "colsample_bytree": 0.6,
                    "reg_alpha": 1e-8,
                    "reg_lambda": 1.0,
                    "class_weight": None,
                },
            ),
            handles_missing=True,
            native_categorical=True,
            cost=3.0,
            onnx_converters=onnx_converters,
        )
    )
