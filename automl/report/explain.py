"""Explanations of a fitted ``AutoML`` in terms of the user's own columns.

Both kinds work on the raw table the model takes, so an importance or a SHAP
value always belongs to an original column, never to a one-hot piece or an
encoded name:

* :func:`importance`: permutation importance on held-out rows (scikit-learn's
  ``permutation_importance``), the drop in the fit's metric when a column is
  shuffled, with its spread over repeats;
* :func:`shap_values`: SHAP values of individual predictions (the optional
  ``shap`` package's permutation explainer, which treats any model, an
  ensemble included, as a function of the columns).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.inspection import permutation_importance
from sklearn.model_selection import FixedThresholdClassifier, train_test_split

from automl.data.rows import RowInfo
from automl.evaluation.folds import make_splits
from automl.evaluation.thresholds import with_threshold
from automl.pipeline.build import fit_weighted

logger = logging.getLogger("automl")
EXTRA = 'pip install "automl[explain]"'
#: at most this many held-out rows are permuted
MAX_ROWS = 2000
#: background rows SHAP integrates over
BACKGROUND_ROWS = 40
#: held-out rows SHAP explains for the importance table
SHAP_ROWS = 40


def shap_module() -> Any:
    """The ``shap`` package, or an ImportError that names the extra to install."""
    try:
        import shap
    except ImportError as exc:
        raise ImportError(f"SHAP explanations need the shap package: {EXTRA}") from exc
    _keep_compiled()
    return shap


@functools.cache
def _keep_compiled() -> None:
    """Let numba keep shap's compiled masking functions on disk, for every later process.

    shap compiles them with numba on first use, which takes seconds (10 s on a
    small machine) in every new process: most of a first ``explain()``. shap
    does not ask numba to cache them, so this does (in numba's cache folder;
    where it cannot write, numba compiles as before).
    """
    try:
        from shap.maskers import _tabular
        from shap.utils import _masked_model
    except ImportError:  # another shap layout: nothing to cache
        return
    for module in (_tabular, _masked_model):
        for obj in vars(module).values():
            if callable(getattr(obj, "enable_caching", None)) and hasattr(obj, "py_func"):
                try:
                    obj.enable_caching()
                except Exception:  # noqa: BLE001  (no cache: shap compiles as it always did)
                    logger.debug("numba cannot cache %s", obj, exc_info=True)


def importance(
    automl: Any, X: Any, y: Any, *, n_repeats: int = 5, holdout: float = 0.25, random_state: int | None = 0
) -> pd.DataFrame:
    """Permutation importance of every original column on held-out rows.

    With ``X`` and ``y`` given, they are the held-out rows and the final model
    is scored on them as it is. Without them, the training table kept from
    ``fit`` is split: a copy of the final pipeline is refit on ``1 - holdout``
    of its rows and permuted on the rest, so no row is scored by a model that
    trained on it.

    Returns
    -------
    DataFrame
        Indexed by column, best first: ``importance`` (mean drop in the metric,
        greater is more important), ``importance_std`` (over the repeats).
    """
    pipeline, X_held, y_held, w_held = _held_out(automl, X, y, holdout, random_state)
    if len(X_held) > MAX_ROWS:
        picked = np.sort(np.random.default_rng(random_state).choice(len(X_held), MAX_ROWS, replace=False))
        X_held, y_held = X_held.iloc[picked], y_held[picked]
        w_held = None if w_held is None else w_held[picked]
    result = permutation_importance(
        pipeline,
        X_held,
        y_held,
        scoring=lambda est, X_, y_, sample_weight=None: automl._score_pipeline(est, X_, y_, sample_weight),
        n_repeats=n_repeats,
        random_state=random_state,
        n_jobs=1,
        sample_weight=w_held,
    )
    frame = pd.DataFrame(
        {"importance": result.importances_mean, "importance_std": result.importances_std},
        index=pd.Index(X_held.columns.astype(str), name="column"),
    )
    return frame.sort_values("importance", ascending=False)


def _held_out(
    automl: Any, X: Any, y: Any, holdout: float, random_state: int | None
) -> tuple[Any, pd.DataFrame, Any, np.ndarray | None]:
    """The pipeline to permute, the rows it never trained on, and their weights (None when unweighted)."""
    if X is not None:
        if y is None:
            raise ValueError("importance needs y with X: the targets of the held-out rows")
        X = automl._check_X(X)
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=automl.feature_names_in_)
        return automl.best_pipeline_, frame, np.asarray(y), None
    train = getattr(automl, "_train", None)
    if train is None:
        raise ValueError(
            "explain() without rows needs the training table, which is kept only in the process that ran fit "
            "(not in a saved model): pass held-out rows, explain(X_test, y_test)"
        )
    X_all, y_all = train
    info = getattr(automl, "_row_info", None) or RowInfo()
    fit_rows, held_rows = _split_rows(automl.task_, y_all, info, holdout, random_state)
    logger.info(
        "explain: refitting the final pipeline on %d rows, permuting %d held-out rows", len(fit_rows), len(held_rows)
    )
    w = info.weights
    pipeline = _refit(automl.best_pipeline_, X_all.iloc[fit_rows], y_all[fit_rows], None if w is None else w[fit_rows])
    return pipeline, X_all.iloc[held_rows], y_all[held_rows], None if w is None else w[held_rows]


def _refit(final: Any, X: pd.DataFrame, y: np.ndarray, weights: np.ndarray | None) -> Any:
    """A copy of the final pipeline fitted on ``X, y``; a tuned decision threshold is kept, its model refit too."""
    model = final.steps[-1][1] if hasattr(final, "steps") else final
    if isinstance(model, FixedThresholdClassifier):  # its model is frozen: cloning it would not refit it
        inner = model.estimator.estimator if isinstance(model.estimator, FrozenEstimator) else model.estimator
        return with_threshold(fit_weighted(clone(inner), X, y, weights), model.threshold, X, y)
    return fit_weighted(clone(final), X, y, weights)


def _split_rows(
    task: str, y: np.ndarray, info: RowInfo, holdout: float, random_state: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to refit on and rows to hold out as the fit's folds split them: the latest, whole groups, or at random."""
    if info.time is not None or info.groups is not None:  # a holdout by the rules of the fit's folds
        codes = np.unique(y, return_inverse=True)[1] if task != "regression" else np.asarray(y, dtype=float)
        ((fit_rows, held_rows),), _ = make_splits(
            holdout, codes, task, random_state, groups=info.groups, time=info.time
        )
        return fit_rows, held_rows
    rows = np.arange(len(y))
    stratify = y if task != "regression" and pd.Series(y).value_counts().min() >= 2 else None
    fit_rows, held_rows = train_test_split(rows, test_size=holdout, random_state=random_state, stratify=stratify)
    return fit_rows, held_rows


class _Codes:
    """The raw table as numbers for SHAP, and back: numeric columns as they are, others as codes of their values."""

    def __init__(self, frames: list[pd.DataFrame]) -> None:
        table = pd.concat(frames, ignore_index=True)
        self.columns = table.columns
        self.dtypes = table.dtypes
        self.values = {
            c: pd.unique(table[c].dropna()) for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])
        }

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty(frame.shape, dtype=float)
        for j, c in enumerate(self.columns):
            if c in self.values:
                codes = pd.Index(self.values[c]).get_indexer(frame[c])
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = frame[c].to_numpy(dtype=float, na_value=np.nan)
        return out

    def decode(self, Z: np.ndarray) -> pd.DataFrame:
        data = {}
        for j, c in enumerate(self.columns):
            if c in self.values:
                codes = Z[:, j]
                known = np.isfinite(codes)
                col = np.full(len(Z), None, dtype=object)
                col[known] = np.asarray(self.values[c], dtype=object)[codes[known].astype(int)]
                data[c] = col if pd.api.types.is_object_dtype(self.dtypes[c]) else pd.Series(col).astype(self.dtypes[c])
            else:
                data[c] = pd.Series(Z[:, j]).astype(self.dtypes[c], errors="ignore")
        return pd.DataFrame(data, columns=self.columns)


def shap_values(
    automl: Any, X: Any, *, background: pd.DataFrame | None = None, random_state: int = 0, raw_data: bool = True
) -> Any:
    """SHAP values of the final model's predictions for the rows of ``X``, per original column.

    The explained output is the probability of the positive class (binary),
    of every class (multiclass) or the predicted value (regression).
    ``background`` are the rows SHAP integrates over: by default a sample of
    the training table kept from ``fit``, or rows drawn from the training
    profile in a loaded model. The explanation's ``data`` are the rows' values
    (``raw_data``), or their numeric codes, which SHAP's plots can colour by.

    Returns
    -------
    shap.Explanation
        ``values`` of shape (rows, columns) or (rows, columns, classes).
    """
    shap = shap_module()
    X = automl._check_X(X)
    rows = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, columns=automl.feature_names_in_)
    if background is None:
        background = _background(automl, random_state)
    background = background[rows.columns]
    codes = _Codes([background, rows])
    task, pipeline = automl.task_, automl.best_pipeline_

    def predict(Z: np.ndarray) -> np.ndarray:
        table = codes.decode(Z)
        if task == "regression":
            return np.asarray(pipeline.predict(table), dtype=float)
        proba = np.asarray(automl.predict_proba(table), dtype=float)
        return proba[:, 1] if task == "binary" else proba

    masker = shap.maskers.Independent(codes.encode(background), max_samples=len(background))
    explainer = shap.PermutationExplainer(
        predict, masker, feature_names=[str(c) for c in rows.columns], seed=random_state
    )
    evals = 2 * rows.shape[1] + 1
    explanation = explainer(codes.encode(rows), max_evals=evals, batch_size=evals, silent=True)
    if raw_data:
        explanation.data = rows.to_numpy(dtype=object)
    return explanation


def sample_rows(automl: Any, n: int = SHAP_ROWS, random_state: int = 0) -> pd.DataFrame:
    """``n`` rows of the training table kept from ``fit``, or a ValueError saying to pass rows."""
    train = getattr(automl, "_train", None)
    if train is None:
        raise ValueError(
            "the training table is kept only in the process that ran fit (not in a saved model): pass rows, X=..."
        )
    return train[0].sample(n=min(n, len(train[0])), random_state=random_state)


def _background(automl: Any, random_state: int) -> pd.DataFrame:
    train = getattr(automl, "_train", None)
    if train is not None:
        X_all = train[0]
        n = min(BACKGROUND_ROWS, len(X_all))
        return X_all.sample(n=n, random_state=random_state)
    from automl.data.profile import sample_rows

    return sample_rows(automl.data_profile_, BACKGROUND_ROWS, seed=random_state)


def shap_importance(automl: Any, X: pd.DataFrame, random_state: int = 0) -> pd.Series:
    """Mean absolute SHAP value of each original column over the rows of ``X`` (over classes too)."""
    values = np.abs(shap_values(automl, X, random_state=random_state).values)
    per_column = values.mean(axis=0) if values.ndim == 2 else values.mean(axis=(0, 2))
    return pd.Series(per_column, index=pd.Index(X.columns.astype(str), name="column"), name="shap_mean_abs")


def explanation_frame(
    automl: Any, X: Any, y: Any, *, n_repeats: int = 5, shap: bool | None = None, random_state: int = 0
) -> pd.DataFrame:
    """What :meth:`automl.AutoML.explain` returns: importances, or SHAP values of the rows of ``X`` without ``y``."""
    if X is not None and y is None:
        return shap_frame(automl, X, random_state=random_state)
    table = importance(automl, X, y, n_repeats=n_repeats, random_state=random_state)
    if shap is None:
        shap = _installed("shap")
    if shap:
        rows = X if X is not None else automl._train[0]
        rows = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows, columns=automl.feature_names_in_)
        rows = rows.sample(n=min(SHAP_ROWS, len(rows)), random_state=random_state)
        table["shap_mean_abs"] = shap_importance(automl, rows, random_state=random_state)
    return table


def shap_frame(automl: Any, X: Any, random_state: int = 0) -> pd.DataFrame:
    """SHAP values of the rows of ``X`` as a DataFrame (see :meth:`automl.AutoML.explain`)."""
    explanation = shap_values(automl, X, random_state=random_state)
    index = X.index if isinstance(X, pd.DataFrame) else None
    names = list(explanation.feature_names)
    values = np.asarray(explanation.values)
    if values.ndim == 2:
        frame = pd.DataFrame(values, index=index, columns=pd.Index(names, name="column"))
        base = np.asarray(explanation.base_values).ravel()
    else:
        classes = [str(c) for c in automl.classes_]
        columns = pd.MultiIndex.from_product([classes, names], names=["class", "column"])
        frame = pd.DataFrame(values.transpose(0, 2, 1).reshape(len(values), -1), index=index, columns=columns)
        base = np.asarray(explanation.base_values)
    frame.attrs["base_value"] = base[0] if base.ndim == 1 and np.allclose(base, base[0]) else base
    return frame


def _installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


__all__ = [
    "BACKGROUND_ROWS",
    "EXTRA",
    "MAX_ROWS",
    "SHAP_ROWS",
    "explanation_frame",
    "importance",
    "shap_importance",
    "shap_frame",
    "shap_module",
    "shap_values",
]
