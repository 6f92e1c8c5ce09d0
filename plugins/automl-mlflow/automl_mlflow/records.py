"""What is logged, as plain dictionaries: built from what the hooks receive, without MLflow.

Every function here is cheap and runs in the fit's own thread, so the objects
the engine hands to observers are read once and never kept: the writer thread
only sees the dictionaries (and the fitted pipeline) built here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from automl.context import SearchContext

#: longest parameter or tag value written (MLflow's stores refuse longer ones)
MAX_VALUE_CHARS = 5000

#: longest parameter, metric or tag key written
MAX_KEY_CHARS = 250

#: MLflow run status of a trial, by the trial's automl status
RUN_STATUS = {"ok": "FINISHED", "pruned": "KILLED", "timeout": "KILLED", "failed": "FAILED"}

_KEY_CHARS = re.compile(r"[^\w\-. /:]")


@dataclass
class RunRecord:
    """Params, metrics and tags of one run, ready to write.

    Attributes
    ----------
    name : str
        The run's name.
    params, tags : dict of str to str
        Parameters and tags, keys and values already cleaned.
    metrics : list of (str, float, int)
        ``(key, value, step)`` triples; NaN and infinite values are left out.
    status : str
        The MLflow run status to end the run with (``FINISHED``, ``KILLED``, ``FAILED``).
    duration : float
        Seconds the run took, to date its start before its end.
    """

    name: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: list[tuple[str, float, int]] = field(default_factory=list)
    status: str = "FINISHED"
    duration: float = 0.0


def clean_key(key: Any) -> str:
    """A key MLflow accepts: letters, digits, ``_ - . / : space``; other characters become ``_``."""
    return _KEY_CHARS.sub("_", str(key))[:MAX_KEY_CHARS] or "_"


def clean_value(value: Any) -> str:
    """A parameter or tag value as text, cut to :data:`MAX_VALUE_CHARS`."""
    text = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def clean_params(params: dict[str, Any]) -> dict[str, str]:
    """Clean every key and value of a parameter or tag dictionary."""
    return {clean_key(k): clean_value(v) for k, v in params.items()}


def add_metric(metrics: list[tuple[str, float, int]], key: str, value: Any, step: int = 0) -> None:
    """Append ``(key, value, step)`` when ``value`` is a finite number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return
    if math.isfinite(number):
        metrics.append((clean_key(key), number, int(step)))


def search_params(context: SearchContext) -> dict[str, str]:
    """The parent run's parameters: the task, metric, budget, evaluation, candidate models and data shape.

    The shape known when the search starts: ``fold_rows`` (the training rows of one fold),
    ``n_features``, ``n_numeric``, ``n_categorical`` and ``n_classes``; the table's rows
    (``n_rows``) come with the summary at the end.

    Parameters
    ----------
    context : SearchContext
        What ``automl_search_started`` received.

    Returns
    -------
    dict of str to str
    """
    ctx = context.context
    budget = context.time_budget
    return clean_params(
        {
            "task": ctx.task,
            "metric": context.metric,
            "time_budget": "none" if not math.isfinite(budget) else f"{budget:g}",
            "cv": context.cv,
            "models": ",".join(context.models),
            "n_models": len(context.models),
            "fold_rows": ctx.n_rows,
            "n_features": ctx.n_features,
            "n_numeric": ctx.n_numeric,
            "n_categorical": ctx.n_categorical,
            "n_classes": ctx.n_classes,
            "random_state": ctx.random_state,
        }
    )


def trial_record(result: Any) -> RunRecord:
    """The nested run of one trial.

    Parameters
    ----------
    result : TrialResult
        What ``automl_trial_finished`` received.

    Returns
    -------
    RunRecord
        Params: ``model``, ``preprocessing`` and every model and preprocessing parameter
        (as on the leaderboard); metrics: ``fold_score`` (one step per fold), ``score_mean``,
        ``score_std``, ``n_folds``, ``fit_seconds``, ``predict_seconds``, ``duration_seconds``;
        tags: ``automl.trial``, ``automl.model``, ``automl.status`` and ``automl.error``.
    """
    config = result.config
    params: dict[str, Any] = {"model": result.model}
    if config is not None:
        params["preprocessing"] = config.describe_preprocessing()
        params.update(config.all_params())
    if result.members:
        params["members"] = dict(result.members)
    metrics: list[tuple[str, float, int]] = []
    for step, score in enumerate(result.fold_scores):
        add_metric(metrics, "fold_score", score, step)
    if result.fold_scores:
        add_metric(metrics, "score_mean", result.mean)
        add_metric(metrics, "score_std", result.std)
    add_metric(metrics, "n_folds", len(result.fold_scores))
    add_metric(metrics, "fit_seconds", result.fit_seconds)
    add_metric(metrics, "predict_seconds", result.predict_seconds)
    add_metric(metrics, "duration_seconds", result.duration)
    tags = {"automl.trial": result.number, "automl.model": result.model, "automl.status": result.status}
    if result.error:
        tags["automl.error"] = result.error
    return RunRecord(
        name=f"trial-{result.number}-{result.model}",
        params=clean_params(params),
        tags=clean_params(tags),
        metrics=metrics,
        status=RUN_STATUS.get(result.status, "FAILED"),
        duration=float(result.duration or 0.0),
    )


def final_description(automl: Any) -> str:
    """One line naming the final model: its leaderboard row's model and preprocessing, or the baseline."""
    board = getattr(automl, "leaderboard_", None)
    if board is not None and len(board) and "rank" in board:
        best = board[board["rank"] == 1]
        if len(best):
            row = best.iloc[0]
            text = f"{row['model']} [{row['preprocessing']}]"
            return text if row["model"] != "ensemble" else f"{text} {row['params']}"
    return f"baseline: {type(automl.best_pipeline_[-1]).__name__}"


def summary_record(automl: Any) -> RunRecord:
    """What the parent run gets at the end of a fit: the best score, trial counts and the final model.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator ``automl_fit_finished`` received.

    Returns
    -------
    RunRecord
        Metrics ``best_score``, ``n_trials`` and ``n_trials_<status>``; params ``final_model``,
        ``n_rows`` (the training table's) and ``classes`` (classification); tag ``automl.final_model``.
    """
    board = automl.leaderboard_
    metrics: list[tuple[str, float, int]] = []
    add_metric(metrics, "best_score", automl.best_score_)
    trials = board[board["trial"].notna()] if "trial" in board else board
    add_metric(metrics, "n_trials", len(trials))
    for status, count in trials["status"].value_counts().items():
        add_metric(metrics, f"n_trials_{status}", count)
    description = final_description(automl)
    params: dict[str, Any] = {"final_model": description}
    table = (getattr(automl, "data_profile_", None) or {}).get("table") or {}
    if "n_rows" in table:
        params["n_rows"] = table["n_rows"]
    if hasattr(automl, "classes_"):
        params["classes"] = ",".join(str(c) for c in automl.classes_)
    return RunRecord(
        name="",
        params=clean_params(params),
        tags=clean_params({"automl.final_model": description}),
        metrics=metrics,
    )


def leaderboard_csv(board: pd.DataFrame) -> str:
    """The leaderboard as CSV text (its ``params`` dictionaries as text)."""
    return board.to_csv(index=False)


def example_frame(automl: Any) -> pd.DataFrame | None:
    """Two rows shaped like the training table, built from the fitted attributes only.

    The column names and their order come from ``feature_names_in_``, each column's dtype
    and a typical value from ``data_profile_`` (a numeric column's median, a categorical
    column's most common value). Only the types matter: the frame is for
    :func:`mlflow.models.infer_signature`, never for a prediction.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator.

    Returns
    -------
    DataFrame or None
        None when the estimator was fitted on an array (no column names).
    """
    names = getattr(automl, "feature_names_in_", None)
    if names is None:
        return None
    profile = (getattr(automl, "data_profile_", None) or {}).get("table", {}).get("columns", {})
    return pd.DataFrame({name: _example_column(profile.get(str(name), {})) for name in names})


def _example_column(column: dict[str, Any]) -> pd.Series:
    dtype = str(column.get("dtype", "object"))
    if column.get("type") == "numeric" and column.get("cdf"):
        value: Any = column["cdf"][len(column["cdf"]) // 2]
    elif column.get("type") == "categorical" and column.get("shares"):
        value = next(iter(column["shares"]))
    else:
        value = np.nan if dtype.startswith(("float", "Float")) else "a"
    if dtype == "category":  # MLflow has no category type: a categorical column is strings
        return pd.Series([str(value)] * 2, dtype=object)
    try:
        return pd.Series([value] * 2).astype(dtype)
    except (TypeError, ValueError):
        return pd.Series([value] * 2, dtype=object)


__all__ = [
    "RUN_STATUS",
    "RunRecord",
    "add_metric",
    "clean_key",
    "clean_params",
    "clean_value",
    "example_frame",
    "final_description",
    "leaderboard_csv",
    "search_params",
    "summary_record",
    "trial_record",
]
