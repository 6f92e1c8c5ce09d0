"""How the final model does for each group of a sensitive feature: ``AutoML.group_report``.

:func:`group_frame` computes, with fairlearn's ``MetricFrame``, the fit's
metric and a few rates or errors for each group of one or more sensitive
columns, and the gaps between the groups. It reads the fitted estimator's
attributes (``oof_``, the training table kept since ``fit``, ``_metric``,
``threshold_``) and never imports it. fairlearn is an optional extra
(``pip install "automl[fairness]"``), imported only when a report is computed.
"""

from __future__ import annotations

import functools
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, mean_absolute_error, root_mean_squared_error
from sklearn.utils.validation import check_is_fitted

from automl.data.target import check_y, known_target
from automl.evaluation.thresholds import decide
from automl.exceptions import DataError
from automl.pipeline.schema import as_frame

logger = logging.getLogger("automl")
EXTRA = 'pip install "automl[fairness]"'
#: the group that rows with a missing sensitive value form
MISSING = "missing"
#: more groups than this is a continuous column: bin it first
MAX_GROUPS = 200
#: the columns of the frame that are not metrics (no gap is computed for them)
NOT_METRICS = ("rows", "few_rows")


def fairlearn_metrics() -> Any:
    """``fairlearn.metrics``, or an ImportError that names the extra to install."""
    try:
        import fairlearn.metrics as metrics
    except ImportError as exc:
        raise ImportError(f"the per-group report needs the fairlearn package: {EXTRA}") from exc
    return metrics


@dataclass
class _Evaluated:
    """The rows a group report scores, their predictions and their groups."""

    X: pd.DataFrame  # the rows, for metrics that read them
    y: np.ndarray  # class indices into classes_, or values
    raw: np.ndarray  # positive-class probability (binary, 1-D), class probabilities (n, k), or values
    groups: pd.DataFrame  # one column per sensitive feature, string names, a value per row
    source: str  # "out_of_fold" or "given"


# -- what is evaluated -----------------------------------------------------------------------
def _out_of_fold(automl: Any, sensitive: Any) -> _Evaluated:
    """The training rows that have out-of-fold predictions, their predictions and groups."""
    if getattr(automl, "_train", None) is None:
        raise ValueError(
            "group_report() without X needs the training table, which is kept only in the process that ran fit "
            "(not in a saved or loaded model): pass labelled rows, group_report(X, y, sensitive=...)"
        )
    oof = getattr(automl, "oof_", None)
    if oof is None:
        raise ValueError(
            "group_report() without X needs out-of-fold predictions, and this fit has none (oof_ is None: the "
            "final model is the fallback baseline): pass labelled rows, group_report(X, y, sensitive=...)"
        )
    table = automl._train[0]
    rows = np.asarray(oof["rows"])
    groups = _sensitive(sensitive, table, "the training table (its rows with a target)")
    return _Evaluated(
        X=table.iloc[rows],
        y=np.asarray(oof["y"]),
        raw=np.asarray(oof["pred"], dtype=float),
        groups=groups.iloc[rows].reset_index(drop=True),
        source="out_of_fold",
    )


def _given(automl: Any, X: Any, y: Any, sensitive: Any) -> _Evaluated:
    """The rows passed, with the final model's predictions and their groups."""
    if y is None:
        raise ValueError("group_report(X) needs y too: the targets of the rows of X, group_report(X, y, sensitive=...)")
    X = automl._check_X(X)
    table = as_frame(X)
    target = check_y(y, len(table))
    if target.isna().any():
        raise DataError(
            f"y is missing on {int(target.isna().sum())} of {len(target)} rows; a group report scores labelled "
            "rows: drop the rows without a target"
        )
    codes = known_target(target, getattr(automl, "classes_", None))
    groups = _sensitive(sensitive, table, "X")
    if automl.task_ == "regression":
        raw = np.asarray(automl.predict(X), dtype=float)
    else:
        raw = np.asarray(automl.predict_proba(X), dtype=float)
    return _Evaluated(X=table, y=codes, raw=raw, groups=groups, source="given")


# -- the sensitive feature(s) --------------------------------------------------------------------
def _sensitive(sensitive: Any, table: pd.DataFrame, where: str) -> pd.DataFrame:
    """``sensitive`` as a frame of group labels aligned with ``table``'s rows, or a ValueError naming it."""
    if sensitive is None:
        raise ValueError(f"sensitive is required: a column name of {where}, a list of names, or one value per row")
    n = len(table)
    if _are_names(sensitive, table, n):
        names = list(sensitive) if isinstance(sensitive, list | tuple) else [sensitive]
        unknown = [name for name in names if name not in table.columns]
        if unknown:
            raise ValueError(
                f"sensitive names {unknown} but {where} has no such column; its columns are: {list(table.columns)}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"sensitive names a column twice: {names}")
        frame = table[names].reset_index(drop=True)
    else:
        frame = _values_frame(sensitive)
        if len(frame) != n:
            raise ValueError(
                f"sensitive has {len(frame)} values but {where} has {n} rows; pass one value per row, or a column name"
            )
    frame = pd.DataFrame({str(c): _labels(str(c), frame[c]) for c in frame.columns})
    n_groups = len(frame.drop_duplicates())
    if n_groups > MAX_GROUPS:
        raise ValueError(
            f"sensitive makes {n_groups} groups (at most {MAX_GROUPS}): a continuous column must be binned first, "
            "e.g. pd.cut(X['age'], [0, 25, 45, 65, 120])"
        )
    return frame


def _are_names(sensitive: Any, table: pd.DataFrame, n: int) -> bool:
    """True when ``sensitive`` names columns (a name, or a list of names) rather than giving values."""
    if isinstance(sensitive, list | tuple):
        if not sensitive or not all(pd.api.types.is_scalar(s) for s in sensitive):
            return False
        return len(sensitive) != n or all(s in table.columns for s in sensitive)
    return pd.api.types.is_scalar(sensitive)


def _values_frame(values: Any) -> pd.DataFrame:
    """Values given for the rows: a Series, a DataFrame (several features) or an array."""
    if isinstance(values, pd.DataFrame):
        return values.reset_index(drop=True)
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True).to_frame(name="sensitive" if values.name is None else str(values.name))
    array = np.asarray(values, dtype=object)
    if array.ndim == 1:
        return pd.DataFrame({"sensitive": array})
    if array.ndim == 2:
        return pd.DataFrame(array, columns=[f"sensitive_{i}" for i in range(array.shape[1])])
    raise ValueError(
        f"sensitive must be one value per row (1-D) or a column per feature (2-D), got shape {array.shape}"
    )


def _labels(name: str, column: pd.Series) -> np.ndarray:
    """Group labels of one sensitive column: its values, with missing ones in the group ``"missing"``.

    Values of mixed types, or non-strings next to missing ones, become strings so
    that the groups can be sorted.
    """
    values = column.astype(object).to_numpy(copy=True)
    missing = pd.isna(column).to_numpy()
    kinds = {type(v) for v in values[~missing]}
    if len(kinds) > 1 or (missing.any() and kinds - {str}):
        values[~missing] = [str(v) for v in values[~missing]]
    if missing.any():
        if (values[~missing] == MISSING).any():
            raise DataError(
                f"sensitive column {name!r} has missing values and also the value {MISSING!r}, the group that "
                "missing values form: rename that value"
            )
        values[missing] = MISSING
    return values


# -- the metrics -------------------------------------------------------------------------------
class _Undefined(ValueError):
    """A metric that has no value on a group (e.g. a rate of a class the group lacks)."""


class _Guarded:
    """A metric on one group that returns NaN, with a note naming the group, when it cannot be computed."""

    def __init__(
        self, name: str, func: Callable[..., float], groups: pd.DataFrame, notes: list[str], classes: Any = None
    ) -> None:
        self.name, self.func, self.groups, self.notes, self.classes = name, func, groups, notes, classes

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray) -> float:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value, reason = float(self.func(y_true, y_pred, rows)), None
            except (ValueError, ZeroDivisionError) as exc:
                value, reason = float("nan"), str(exc)
        if not np.isfinite(value):
            reason = reason or (str(caught[-1].message) if caught else self._why(y_true))
            note = f"{self.name} is NaN for {self._group(rows)}: {reason}"
            if note not in self.notes:
                self.notes.append(note)
            value = float("nan")
        return value

    def _why(self, y_true: np.ndarray) -> str:
        present = np.unique(y_true)
        if self.classes is not None and len(present) == 1:
            return f"the group has one class only ({self.classes[int(present[0])]!r})"
        return "not defined on these rows"

    def _group(self, rows: np.ndarray) -> str:
        if len(rows) == len(self.groups):
            return "all rows"
        first = self.groups.iloc[int(rows[0])]
        return ", ".join(f"{name}={value}" for name, value in first.items())


def _fit_metric(automl: Any, ev: _Evaluated, decided: np.ndarray | None) -> Callable[..., float]:
    """The fit's metric on the rows of a group, in natural units, scored as ``AutoML.score`` scores it."""
    classes = getattr(automl, "classes_", None)
    if automl.task_ == "regression":
        pred = ev.raw
    elif automl.threshold_ is not None:  # label metrics see the tuned decision, as predict() makes it
        pred = np.eye(len(classes))[decided]
    else:
        pred = ev.raw if ev.raw.ndim == 2 else np.column_stack([1.0 - ev.raw, ev.raw])

    def score(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray) -> float:
        return automl._metric.score(y_true, pred[rows], classes, ev.X.iloc[rows])

    return score


def _rate(func: Callable[..., float], actual: int, what: str) -> Callable[..., float]:
    """fairlearn's rate ``func`` (positive class 1), undefined on a group with no row of class ``actual``."""

    def rate(y_true: np.ndarray, y_pred: np.ndarray, rows: np.ndarray) -> float:
        if not (np.asarray(y_true) == actual).any():
            raise _Undefined(f"the group has no {what}")
        return func(y_true, y_pred, pos_label=1)

    return rate


def _metrics(automl: Any, ev: _Evaluated, fm: Any, notes: list[str]) -> tuple[dict[str, Callable], list[str]]:
    """The metric functions of the frame, by column, and those that need the rows' positions (guarded)."""
    guarded: dict[str, Callable[..., float]] = {}
    if getattr(automl, "_metric", None) is not None:
        guarded[automl.metric_] = _fit_metric(automl, ev, _decided(automl, ev))
    else:
        notes.append(f"no {automl.metric_} column: the metric is not available here (install the plugin that has it)")
    plain: dict[str, Callable[..., float]] = {}
    if automl.task_ == "regression":
        plain |= {"mae": mean_absolute_error, "rmse": root_mean_squared_error}
        plain |= {"mean_prediction": lambda t, p: float(np.mean(p)), "mean_target": lambda t, p: float(np.mean(t))}
    else:
        plain["accuracy"] = accuracy_score
    if automl.task_ == "binary":
        positive, negative = automl.classes_[1], automl.classes_[0]
        plain["selection_rate"] = functools.partial(fm.selection_rate, pos_label=1)
        guarded["true_positive_rate"] = _rate(fm.true_positive_rate, 1, f"row of the positive class {positive!r}")
        guarded["false_positive_rate"] = _rate(fm.false_positive_rate, 0, f"row of the negative class {negative!r}")
    functions: dict[str, Callable] = {"rows": fm.count}
    order = [automl.metric_, "accuracy", "selection_rate", "true_positive_rate", "false_positive_rate"]
    order += ["mae", "rmse", "mean_prediction", "mean_target"]
    for name in order:  # the fit's metric replaces a standard column of its name (the same numbers)
        if name in guarded:
            functions[name] = _Guarded(name, guarded[name], ev.groups, notes, getattr(automl, "classes_", None))
        elif name in plain:
            functions[name] = plain[name]
    return functions, [name for name in functions if name in guarded]


def _decided(automl: Any, ev: _Evaluated) -> np.ndarray | None:
    """Class indices decided from the probabilities as ``predict`` decides them (classification)."""
    return None if automl.task_ == "regression" else decide(ev.raw, automl.threshold_)


# -- the frame ---------------------------------------------------------------------------------
def group_frame(automl: Any, X: Any = None, y: Any = None, *, sensitive: Any, min_rows: int = 30) -> pd.DataFrame:
    """One row per group of the sensitive feature(s): rows, the fit's metric, rates or errors, ``few_rows``.

    See :meth:`automl.AutoML.group_report`, which calls it and documents the
    columns. The gaps between groups are in ``frame.attrs["gaps"]`` (read them
    as a table with :func:`gap_table`).

    Raises
    ------
    sklearn.exceptions.NotFittedError
        When ``automl`` is not fitted.
    ImportError
        When fairlearn is not installed.
    ValueError, automl.exceptions.DataError
        When ``sensitive``, ``X``, ``y`` or ``min_rows`` cannot be used; the message names it.
    """
    check_is_fitted(automl, "best_pipeline_")
    if isinstance(min_rows, bool) or not isinstance(min_rows, int | np.integer) or min_rows < 0:
        raise ValueError(f"min_rows={min_rows!r} must be an integer >= 0")
    fm = fairlearn_metrics()
    ev = _out_of_fold(automl, sensitive) if X is None else _given(automl, X, y, sensitive)
    notes: list[str] = []
    functions, guarded = _metrics(automl, ev, fm, notes)
    y_pred = ev.raw if automl.task_ == "regression" else _decided(automl, ev)
    positions = np.arange(len(ev.y))
    frame = fm.MetricFrame(
        metrics=functions,
        y_true=ev.y,
        y_pred=y_pred,
        sensitive_features=ev.groups,
        sample_params={name: {"rows": positions} for name in guarded},
    )
    table = frame.by_group
    table = table[table["rows"].fillna(0) > 0].copy()  # several features: drop the combinations without rows
    table["rows"] = table["rows"].astype(int)
    table["few_rows"] = table["rows"] < min_rows
    metrics = [c for c in table.columns if c not in NOT_METRICS]
    overall = frame.overall
    table.attrs = {
        "metric": automl.metric_,
        "greater_is_better": bool(getattr(getattr(automl, "_metric", None), "greater_is_better", True)),
        "predictions": ev.source,
        "description": _description(ev),
        "sensitive": list(ev.groups.columns),
        "min_rows": int(min_rows),
        "overall": {"rows": int(overall["rows"])} | {c: float(overall[c]) for c in metrics},
        "gaps": _gaps(frame, table, metrics),
        "notes": notes,
    }
    for note in notes:
        logger.info("group report: %s", note)
    return table


def _description(ev: _Evaluated) -> str:
    n = len(ev.y)
    if ev.source == "out_of_fold":
        return (
            f"Out-of-fold predictions of the training data ({n} rows): each row is predicted by the final model's "
            "configuration fitted without that row, as in the cross-validated score."
        )
    return f"Predictions of the final model on the {n} rows passed (X, y)."


def _gaps(frame: Any, table: pd.DataFrame, metrics: list[str]) -> dict[str, dict[str, Any]]:
    """Per metric: the smallest and largest group value (and which group), their difference and ratio.

    ``difference`` is ``MetricFrame.difference()`` (largest minus smallest);
    ``ratio`` is ``MetricFrame.ratio()`` (smallest over largest), kept only when
    no group's value is negative (else NaN: a ratio of signed numbers means nothing).
    """
    low, high = frame.group_min(errors="coerce"), frame.group_max(errors="coerce")
    difference, ratio = frame.difference(errors="coerce"), frame.ratio(errors="coerce")
    gaps: dict[str, dict[str, Any]] = {}
    for name in metrics:
        values = table[name].dropna()
        gaps[name] = {
            "smallest": float(low[name]),
            "smallest_group": _group_label(values.idxmin()) if len(values) else None,
            "largest": float(high[name]),
            "largest_group": _group_label(values.idxmax()) if len(values) else None,
            "difference": float(difference[name]),
            "ratio": float(ratio[name]) if len(values) and (values >= 0).all() else float("nan"),
        }
    return gaps


def _group_label(key: Any) -> str:
    return " / ".join(str(k) for k in key) if isinstance(key, tuple) else str(key)


def gap_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The gaps between the groups of a group report, one row per metric column.

    Columns: ``smallest`` and ``largest`` (the extreme group values, with
    ``smallest_group`` and ``largest_group``), ``difference`` (largest minus
    smallest: fairlearn's ``MetricFrame.difference()``) and ``ratio`` (smallest
    over largest: ``MetricFrame.ratio()``, NaN where a group's value is negative).

    Parameters
    ----------
    frame : DataFrame
        What :meth:`automl.AutoML.group_report` returned.
    """
    columns = ["smallest", "smallest_group", "largest", "largest_group", "difference", "ratio"]
    gaps = frame.attrs.get("gaps", {})
    return pd.DataFrame.from_dict(gaps, orient="index", columns=columns).rename_axis("metric")


def last_group_report(automl: Any) -> pd.DataFrame | None:
    """The group report last computed for the current fit of ``automl``, or None."""
    kept = getattr(automl, "_group_report", None)
    if kept is None or kept[0] is not getattr(automl, "best_pipeline_", None):
        return None  # never computed, or computed for an earlier fit
    return kept[1]


__all__ = ["EXTRA", "MAX_GROUPS", "MISSING", "fairlearn_metrics", "gap_table", "group_frame", "last_group_report"]
