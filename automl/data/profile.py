"""A compact profile of a table, kept with a fitted model so that new data can be checked for drift.

The profile is plain JSON-able Python (it is saved inside the model file's
metadata) and holds no row of the table: for each numeric column its
percentiles and the shares of rows between its deciles, for each categorical
column the shares of its most common values, and for every column the share
of missing values.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from automl.evaluation.thresholds import decide
from automl.pipeline.schema import Schema

logger = logging.getLogger(__name__)

#: quantile levels whose values split a numeric column into bins (deciles)
BIN_LEVELS = np.linspace(0.1, 0.9, 9)
#: percentiles kept per numeric column: the reference distribution of the KS test
CDF_POINTS = 101
#: categories kept per column, the most common first; the others share one "other" bin
MAX_CATEGORIES = 100
#: rows profiled at most (a random sample of larger tables), so profiling takes well under a second
MAX_ROWS = 100_000


def numbers_of(s: pd.Series, kind: str, source: str = "number") -> np.ndarray:
    """A column as float64, NaN where missing or unreadable.

    Datetimes as seconds since the epoch, durations (``source="timedelta"`` or
    a ``timedelta64`` column) as seconds, like the pipeline reads them; free
    text (``kind="text"``) as its number of words.
    """
    if source == "timedelta" or (isinstance(s.dtype, np.dtype) and s.dtype.kind == "m"):
        plain = s if isinstance(s.dtype, np.dtype) and s.dtype.kind == "m" else s.astype(object)
        return pd.to_timedelta(plain, errors="coerce").dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)
    if kind == "text":  # free text is watched through its length in words
        words = s.astype(object).map(lambda v: np.nan if v is None or v is pd.NA or v != v else len(str(v).split()))
        return words.to_numpy(dtype=float, na_value=np.nan)
    if kind == "datetime":
        parsed = pd.Series(pd.to_datetime(s, errors="coerce", utc=True, format="mixed"))
        stamps = parsed.astype("datetime64[ns, UTC]").dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
        seconds = stamps.astype("int64") / 1e9
        seconds[np.isnat(stamps)] = np.nan
        return seconds
    return pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def numeric_profile(values: np.ndarray) -> dict[str, Any]:
    """Bins and percentiles of the finite values of a float array, and its share of missing values."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    out: dict[str, Any] = {"type": "numeric", "missing": float(1 - len(finite) / max(len(values), 1))}
    if len(finite) == 0:
        out.update(edges=[], shares=[], cdf=[])
        return out
    edges = np.unique(np.quantile(finite, BIN_LEVELS))
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    out["edges"] = edges.tolist()
    out["shares"] = (counts / len(finite)).tolist()
    out["cdf"] = np.quantile(finite, np.linspace(0, 1, CDF_POINTS)).tolist()
    return out


def category_profile(values: pd.Series) -> dict[str, Any]:
    """Shares of the most common values of a column (as strings), of the rest, and of missing values."""
    n = max(len(values), 1)
    present = values.dropna().astype(str)
    counts = present.value_counts()
    kept = counts.iloc[:MAX_CATEGORIES]
    return {
        "type": "categorical",
        "missing": float(1 - len(present) / n),
        "shares": {str(k): float(v / max(len(present), 1)) for k, v in kept.items()},
        "other": float(counts.iloc[MAX_CATEGORIES:].sum() / max(len(present), 1)),
    }


def column_profile(s: pd.Series, kind: str, source: str = "number") -> dict[str, Any]:
    """The profile of one column of the kind (and source) the schema gave it."""
    if kind in ("numeric", "datetime", "text"):
        return numeric_profile(numbers_of(s, kind, source))
    if kind == "categorical":
        return category_profile(s)
    return {"type": "dropped", "missing": float(s.isna().mean()) if len(s) else 0.0}


def profile_table(X: pd.DataFrame, schema: Schema) -> dict[str, Any]:
    """Profile every column of ``X`` by its kind in ``schema`` (on a sample of at most ``MAX_ROWS`` rows).

    Returns
    -------
    dict
        ``{"n_rows": int, "columns": {name: column profile}}``; a column
        profile has the column's ``kind`` and ``source`` (as in
        :class:`~automl.pipeline.schema.ColumnInfo`), its training ``dtype``,
        ``type`` (``"numeric"``, ``"categorical"`` or ``"dropped"``) and ``missing`` (share of missing values), and for
        numeric columns ``edges`` (decile values), ``shares`` (share of
        non-missing rows in each bin they bound) and ``cdf`` (101 percentiles),
        for categorical ones ``shares`` (value -> share) and ``other``.
    """
    n_rows = len(X)
    if n_rows > MAX_ROWS:
        X = X.iloc[np.sort(np.random.default_rng(0).choice(n_rows, MAX_ROWS, replace=False))]
    columns = {}
    for info in schema.columns:
        if info.name in X.columns:
            column = {"kind": info.kind, "source": info.source, "dtype": str(X[info.name].dtype)}
            try:
                column |= column_profile(X[info.name], info.kind, info.source)
            except (TypeError, ValueError, OverflowError) as exc:  # never worth failing a fit for
                logger.warning("column %r is not profiled for drift checks: %s", info.name, exc)
                column |= {"type": "unprofiled", "missing": float(X[info.name].isna().mean()), "reason": str(exc)}
            columns[str(info.name)] = column
    return {"n_rows": int(n_rows), "columns": columns}


def prediction_profile(
    oof: np.ndarray | None, task: str, classes: np.ndarray | None, threshold: float | None = None
) -> dict[str, Any] | None:
    """The profile of out-of-fold predictions: predicted values, or predicted classes' shares.

    Classes are decided as ``predict`` decides them: the most probable, or for
    a binary task with a tuned ``threshold`` the positive class when its
    probability reaches it. None when there are no out-of-fold predictions
    (the fallback baseline).
    """
    if oof is None:
        return None
    oof = np.asarray(oof, dtype=float)
    if task == "regression":
        return numeric_profile(oof.ravel())
    if oof.ndim == 1:  # binary: probability of the positive class
        oof = np.column_stack([1 - oof, oof])
    rows = np.isfinite(oof).all(axis=1)
    decided = decide(oof[rows], threshold)
    labels = np.asarray(classes)[decided] if classes is not None else decided
    return category_profile(pd.Series(labels, dtype=object))


def _sample_column(prof: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values drawn from one column's profile, as floats or objects, NaN where missing."""
    missing = rng.random(n) < float(prof.get("missing", 0.0))
    if prof.get("type") == "numeric" and prof.get("cdf"):
        cdf = np.asarray(prof["cdf"], dtype=float)
        values = np.interp(rng.random(n), np.linspace(0, 1, len(cdf)), cdf)
        return np.where(missing, np.nan, values)
    if prof.get("type") == "categorical" and (prof.get("shares") or prof.get("other")):
        labels = [*prof.get("shares", {}), "__other__"]
        weights = np.asarray([*prof.get("shares", {}).values(), prof.get("other", 0.0)], dtype=float)
        values = rng.choice(np.asarray(labels, dtype=object), size=n, p=weights / weights.sum())
        values[missing] = np.nan
        return values
    return np.full(n, np.nan)


def _as_dtype(values: np.ndarray, prof: dict[str, Any]) -> Any:
    """Values drawn from a profile in (close to) the column's training dtype."""
    source, kind = prof.get("source"), prof.get("kind")
    if kind == "datetime" or source == "datetime":
        stamps = pd.to_datetime(pd.Series(values, dtype=float), unit="s", utc=True)
        return stamps.dt.tz_convert(None) if "UTC" not in str(prof.get("dtype", "")) else stamps
    if source == "timedelta":
        return pd.to_timedelta(pd.Series(values, dtype=float), unit="s")
    if source == "bool":
        as_bool = pd.Series(values, dtype=float).round().clip(0, 1)
        return as_bool.astype("boolean") if as_bool.isna().any() else as_bool.astype(bool)
    if source == "number" and kind == "categorical":  # numbers used as categories: keep them numbers
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return pd.Series(values)


def sample_rows(profile: dict[str, Any], n: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Rows drawn from a table's profile: each column independently, in its training dtype where possible.

    Numeric values follow the stored percentiles, categories their stored shares
    (``"__other__"`` for the categories the profile did not keep: a category
    never seen in training), missing values their share. The columns are
    independent, so the rows are not realistic; they exercise every column's
    range, which is what an export's parity check needs when no real rows are
    at hand.
    """
    rng = np.random.default_rng(seed)
    columns = profile["table"]["columns"] if "table" in profile else profile["columns"]
    return pd.DataFrame(
        {name: _as_dtype(_sample_column(prof, n, rng), prof).to_numpy() for name, prof in columns.items()}
    )
