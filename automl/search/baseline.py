"""A last-resort model fitted in the parent process when no trial finished in time.

Workers need about two seconds to start on a cold machine, so a fit with a tiny
budget can end before any trial does. Rather than return a constant predictor,
the engine then fits the untuned default pipeline of the built-in linear model
on a small sample of the rows, in-process: only built-in scikit-learn code on a
bounded amount of data, so it takes a fraction of a second whatever the table.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.pipeline import Pipeline

from automl.pipeline.build import PipelineBuilder
from automl.pipeline.cleaning import TableCleaner
from automl.search.space import SearchSpace, by_kind

logger = logging.getLogger(__name__)

#: the sample is capped at this many cells (rows x columns) so the fit stays well under a second
MAX_CELLS = 200_000
MIN_ROWS = 200
#: the model of the baseline: the built-in linear model, with its defaults
MODEL = "linear"


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
    builder: PipelineBuilder, X: pd.DataFrame, y: np.ndarray, y_codes: np.ndarray, seed: int | None
) -> tuple[Pipeline, str]:
    """Fit the linear model's default pipeline on a bounded sample; return it and a description.

    The pipeline is built by ``builder`` like every trial's. Falls back to a
    constant predictor if even that fails.
    """
    task = builder.context.task
    width = max(1, len(builder.schema.kept))
    idx = _sample(len(X), width, None if task == "regression" else y_codes, seed)
    try:
        kinds = builder.schema.prepared_kinds
        space = SearchSpace([builder.models[MODEL]], by_kind(builder.preprocessors, kinds), kinds, builder.context)
        pipeline = builder.build(space.default_config(MODEL), final=True, n_rows=len(idx))
        pipeline.fit(X.iloc[idx], y[idx])
        return pipeline, f"a linear model fitted on {len(idx)} of {len(X)} rows, not evaluated"
    except Exception as exc:  # built-in code on clean data; still, never lose the fit over it
        logger.warning("the linear baseline failed (%s: %s); using a constant predictor", type(exc).__name__, exc)
    dummy = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
    return Pipeline([("clean", TableCleaner(builder.schema)), ("model", dummy)]).fit(X, y), "a constant predictor"


__all__ = ["quick_baseline"]
