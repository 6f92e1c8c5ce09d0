"""A last-resort model fitted in the parent process when no trial finished in time.

Workers need about two seconds to start on a cold machine, so a fit with a tiny
budget can end before any trial does. Rather than return a constant predictor,
the engine then fits a regularised linear model on a small sample of the rows,
in-process: only built-in scikit-learn code on a bounded amount of data, so it
takes a fraction of a second whatever the table.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from automl.cleaning import TableCleaner
from automl.data import Schema
from automl.transformers import missing_as_category

logger = logging.getLogger(__name__)

#: the sample is capped at this many cells (rows x columns) so the fit stays well under a second
MAX_CELLS = 200_000
MIN_ROWS = 200


def _sample(n: int, width: int, y_codes: np.ndarray | None, seed: int | None) -> np.ndarray:
    rows = max(MIN_ROWS, MAX_CELLS // max(1, width))
    if n <= rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if y_codes is None:
        return np.sort(rng.choice(n, size=rows, replace=False))
    # keep every class: a few rows of each, then a random draw
    keep = [
        rng.choice(np.flatnonzero(y_codes == c), size=min(5, int((y_codes == c).sum())), replace=False)
        for c in np.unique(y_codes)
    ]
    first = np.concatenate(keep)
    rest = rng.choice(np.setdiff1d(np.arange(n), first), size=max(0, rows - len(first)), replace=False)
    return np.sort(np.concatenate([first, rest]))


def quick_baseline(
    schema: Schema, task: str, X: pd.DataFrame, y: np.ndarray, y_codes: np.ndarray, seed: int | None
) -> tuple[Pipeline, str]:
    """Fit a linear baseline on a bounded sample; return it and a description.

    Falls back to a constant predictor if even that fails.
    """
    width = max(1, len(schema.kept))
    idx = _sample(len(X), width, None if task == "regression" else y_codes, seed)
    Xs = X.iloc[idx]
    ys = y[idx]
    prepare = ColumnTransformer(
        [
            (
                "numeric",
                make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler()),
                make_column_selector(dtype_include="number"),
            ),
            (
                "categorical",
                make_pipeline(
                    missing_as_category(),
                    OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=20, sparse_output=False),
                ),
                make_column_selector(dtype_exclude="number"),
            ),
        ],
        sparse_threshold=0.0,
    )
    model: Any = Ridge(alpha=1.0) if task == "regression" else LogisticRegression(C=1.0, max_iter=200)
    try:
        pipeline = Pipeline([("clean", TableCleaner(schema)), ("prepare", prepare), ("model", model)]).fit(Xs, ys)
        return pipeline, f"a linear model fitted on {len(idx)} of {len(X)} rows, not evaluated"
    except Exception as exc:  # built-in code on clean data; still, never lose the fit over it
        logger.warning("the linear baseline failed (%s: %s); using a constant predictor", type(exc).__name__, exc)
    dummy = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
    return Pipeline([("clean", TableCleaner(schema)), ("model", dummy)]).fit(X, y), "a constant predictor"


__all__ = ["quick_baseline"]
