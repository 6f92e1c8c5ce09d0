"""Single-row prediction latency: what one request costs a fitted pipeline."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from automl.pipeline.lean_predict import LeanPipeline

#: timed one-row calls at most, and at least (unless one call alone overruns ``max_seconds``)
ROW_CALLS = 7
MIN_ROW_CALLS = 3


def row_seconds(estimator: Any, X: pd.DataFrame, task: str, max_seconds: float = 0.25) -> float:
    """Median seconds of one call of ``predict_proba`` (``predict`` for regression) on a one-row DataFrame.

    The pipeline runs as ``AutoML.predict`` runs it (:class:`~automl.pipeline.lean_predict.LeanPipeline`).
    One untimed call first (caches, thread pools, the lean form's check), then up to :data:`ROW_CALLS`
    timed calls on successive rows of ``X``, stopping after
    :data:`MIN_ROW_CALLS` once ``max_seconds`` have passed.

    Parameters
    ----------
    estimator : fitted estimator
        A pipeline, or any estimator with ``predict``.
    X : DataFrame
        Rows to predict, one at a time (at least one).
    task : str
        ``"regression"`` times ``predict``; otherwise ``predict_proba`` when the estimator has it.
    max_seconds : float
        Time after which no more calls are made than :data:`MIN_ROW_CALLS`.
    """
    if len(X) == 0:
        raise ValueError("row_seconds needs at least one row of X")
    estimator = LeanPipeline(estimator)  # as AutoML.predict runs it: in lean form, once the first call agrees
    method = estimator.predict
    if task != "regression" and hasattr(estimator, "predict_proba"):
        method = estimator.predict_proba
    method(X.iloc[[0]])
    start, times = time.perf_counter(), []
    for i in range(ROW_CALLS):
        row = X.iloc[[i % len(X)]]
        t0 = time.perf_counter()
        method(row)
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > max_seconds and (len(times) >= MIN_ROW_CALLS or times[0] > max_seconds):
            break
    return float(np.median(times))


__all__ = ["MIN_ROW_CALLS", "ROW_CALLS", "row_seconds"]
