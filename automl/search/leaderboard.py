"""The leaderboard: one row per trial, best first."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from automl.evaluation.metrics import Metric
from automl.search.trial import TrialResult, sort_results

COLUMNS = [
    "rank",
    "trial",
    "model",
    "preprocessing",
    "params",
    "metric",
    "score_mean",
    "score_std",
    "n_folds",
    "fit_s",
    "predict_s",
    "row_ms",
    "status",
    "baseline",
    "earlier",
    "error",
]


def leaderboard_frame(results: Sequence[TrialResult], metric: Metric) -> pd.DataFrame:
    """Build the leaderboard DataFrame.

    Columns: ``rank`` (1 = best; successful trials only), ``trial``, ``model``,
    ``preprocessing``, ``params``, ``metric``, ``score_mean`` and ``score_std``
    (over folds, in the metric's natural units), ``n_folds``, ``fit_s``,
    ``predict_s``, ``row_ms`` (single-row prediction latency in milliseconds:
    of the final model after its refit, and of every trial when ``infer_limit``
    is set; NaN when not measured), ``status``, ``baseline``, ``earlier`` (True
    for a trial read back from a stored study: run by an earlier ``fit`` or by
    an ``automl worker``) and ``error``.

    Rows of status ``"baseline"`` come right after the successful trials:
    references scored on the same folds (``baseline`` says which: a constant
    predictor, the untuned default of the cheapest model). They have no rank
    and are never the final model.
    """
    rows = []
    rank = 0
    for r in sort_results(results, metric):
        if r.status == "ok":
            rank += 1
        params = r.config.all_params() if r.config is not None else {}
        if r.members:
            params = {"members": dict(r.members)}
        rows.append(
            {
                "rank": rank if r.status == "ok" else None,
                "trial": r.number if r.number >= 0 else None,
                "model": r.model,
                "preprocessing": r.config.describe_preprocessing() if r.config is not None else "-",
                "params": params,
                "metric": metric.name,
                "score_mean": r.mean if r.fold_scores else np.nan,
                "score_std": r.std if r.fold_scores else np.nan,
                "n_folds": len(r.fold_scores),
                "fit_s": round(r.fit_seconds, 3),
                "predict_s": round(r.predict_seconds, 3),
                "row_ms": round(1e3 * r.row_seconds, 3) if getattr(r, "row_seconds", None) is not None else np.nan,
                "status": r.status,
                "baseline": r.baseline,
                "earlier": r.earlier,
                "error": r.error,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["rank"] = frame["rank"].astype("Int64")
    frame["trial"] = frame["trial"].astype("Int64")
    return frame


__all__ = ["COLUMNS", "leaderboard_frame"]
