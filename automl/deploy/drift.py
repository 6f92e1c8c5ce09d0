"""Has the data changed since training? Compare new rows with the profile a fitted model keeps.

A fitted :class:`~automl.AutoML` keeps a compact profile of its training table
and of its out-of-fold predictions (``data_profile_``, see
:mod:`automl.data.profile`). :func:`drift` compares a new table with it, column
by column:

- the population stability index (PSI) over the training bins: the deciles of
  a numeric (or datetime) column, the most common categories of a categorical
  one plus ``"other"`` and a bin for categories never seen in training;
- for numeric columns the Kolmogorov–Smirnov statistic of the new values
  against the training distribution (interpolated from its 101 percentiles);
- the change of the share of missing values and, for categorical columns, the
  share of new rows whose category never appeared in training;
- the same PSI for the predictions: predicted values (regression) or the shares
  of predicted labels (classification).

PSI is ``sum((new - train) * ln(new / train))`` over the bins, each share
floored at :data:`EPSILON` so that an empty bin gives a large but finite term.
Common reading: below 0.1 stable, 0.1 to 0.25 a moderate shift, 0.25 and more
drift.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import rel_entr

from automl.data.profile import CDF_POINTS, MAX_ROWS, numbers_of
from automl.deploy.persist import load

logger = logging.getLogger(__name__)

#: floor of every bin's share in the PSI: an empty bin (a category never seen in training) counts as this share
EPSILON = 1e-4
#: PSI below this is "stable"; from it up to the threshold "moderate"
STABLE_PSI = 0.1
#: a PSI counts only when the shift is also significant: the chi-square test over the same bins
#: has a p-value below this (a few dozen rows give large PSIs by chance alone)
ALPHA = 0.01
#: the name of the predictions' row in the report
PREDICTIONS = "(predictions)"
#: KS test only for numeric columns whose training percentiles take at least this many values (not for flags)
MIN_KS_VALUES = 20
#: the report table's columns
COLUMNS = (
    "column",
    "kind",
    "psi",
    "ks_statistic",
    "ks_pvalue",
    "chi2_pvalue",
    "missing_train",
    "missing_new",
    "unseen_share",
    "verdict",
)
#: verdicts that say the new data cannot be used as it is, listed first in the report
PROBLEMS = ("missing", "wrong type")
#: verdicts that make a report ``drifted``
ALARMS = ("drift", *PROBLEMS)


@dataclass
class DriftReport:
    """The result of :func:`drift`: one row per training column and one for the predictions.

    Parameters
    ----------
    table : DataFrame
        One row per column (``column, kind, psi, ks_statistic, ks_pvalue,
        missing_train, missing_new, unseen_share, verdict``), problems
        (``"missing"``, ``"wrong type"``) first, then by PSI, largest first.
        ``verdict`` is ``"stable"`` (PSI < 0.1), ``"moderate"`` (0.1 <= PSI <
        threshold), ``"drift"`` (PSI >= threshold), ``"not significant"`` (PSI
        >= 0.1, but the chi-square test cannot tell the shift from chance on
        this many rows: p >= :data:`ALPHA`), ``"missing"`` (the column
        is absent, or all its values are missing), ``"wrong type"`` (a
        numeric column with values that cannot be read as numbers),
        ``"not used"`` (a column the model ignores) or ``"not checked"``.
    drifted : bool
        Whether any column or the predictions drifted, or a column is missing
        or of the wrong type.
    threshold : float
        The PSI from which a column counts as drifted.
    n_rows : int
        Rows of the new table.
    notes : list of str
        What was not compared, and why (extra columns, a prediction check skipped).
    """

    table: pd.DataFrame
    drifted: bool
    threshold: float
    n_rows: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able Python: NaN as None.

        Returns
        -------
        dict
            ``{"drifted", "threshold", "n_rows", "notes", "columns": [one dict per row of table]}``.
        """
        rows = [{k: _plain(v) for k, v in row.items()} for row in self.table.to_dict(orient="records")]
        return {
            "drifted": bool(self.drifted),
            "threshold": float(self.threshold),
            "n_rows": int(self.n_rows),
            "notes": list(self.notes),
            "columns": rows,
        }

    def __str__(self) -> str:
        shown = self.table.astype(object).where(self.table.notna(), "-")
        text = shown.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        lines = [f"Drift of {self.n_rows} new rows (PSI threshold {self.threshold:g})", text]
        lines += [f"note: {note}" for note in self.notes]
        alarms = self.table.loc[self.table["verdict"].isin(ALARMS)]
        if self.drifted:
            flagged = ", ".join(f"{c} ({v})" for c, v in zip(alarms["column"], alarms["verdict"], strict=True))
            lines.append(f"verdict: DRIFT in {len(alarms)} of {len(self.table)} rows: {flagged}")
        else:
            lines.append(f"verdict: no drift ({len(self.table)} rows checked)")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def psi(train: np.ndarray, new: np.ndarray) -> float:
    """The population stability index of two distributions over the same bins.

    Parameters
    ----------
    train, new : ndarray
        Shares per bin (each summing to 1); shares below :data:`EPSILON` count as ``EPSILON``.

    Returns
    -------
    float
        ``sum((new - train) * ln(new / train))``, the symmetric Kullback–Leibler divergence.
    """
    p = np.maximum(np.asarray(train, dtype=float), EPSILON)
    q = np.maximum(np.asarray(new, dtype=float), EPSILON)
    return float(np.sum(rel_entr(q, p) + rel_entr(p, q)))


def _verdict(row: dict[str, Any], threshold: float) -> str:
    """By the PSI (how large the shift is), when the chi-square test says it is not chance."""
    value, pvalue = row["psi"], row["chi2_pvalue"]
    if math.isnan(value):
        return "not checked"
    if value < STABLE_PSI:
        return "stable"
    if not math.isnan(pvalue) and pvalue >= ALPHA:
        return "not significant"
    return "drift" if value >= threshold else "moderate" if value >= STABLE_PSI else "stable"


def _chi2_pvalue(train: np.ndarray, new: np.ndarray, n: int) -> float:
    """p-value of the chi-square test that ``n`` rows with bin shares ``new`` come from the shares ``train``."""
    expected = np.maximum(np.asarray(train, dtype=float), EPSILON)
    expected = n * expected / expected.sum()
    observed = np.asarray(new, dtype=float) * n
    observed = observed * (n / observed.sum()) if observed.sum() > 0 else observed
    return float(stats.chisquare(observed, expected).pvalue)


def _row(name: str, kind: str, prof: dict[str, Any], **values: Any) -> dict[str, Any]:
    row = dict.fromkeys(COLUMNS, float("nan"))
    row.update(column=name, kind=kind, missing_train=float(prof.get("missing", float("nan"))))
    row.update(values)
    return row


def _ks(values: np.ndarray, prof: dict[str, Any], n_train: float) -> tuple[float, float]:
    """KS statistic of ``values`` against the CDF interpolated from the training percentiles, and its p-value.

    The training distribution is itself a sample of ``n_train`` values, so the
    p-value is the two-sample one (Kolmogorov distribution at the effective size
    ``n * n_train / (n + n_train)``, as :func:`scipy.stats.ks_2samp` approximates
    it); taking the percentiles as exact would call any large sample drifted.
    """
    percentiles = np.asarray(prof.get("cdf", []), dtype=float)
    points, last = np.unique(percentiles[::-1], return_index=True)
    if len(values) == 0 or len(points) < MIN_KS_VALUES:
        return float("nan"), float("nan")
    levels = np.linspace(0, 1, CDF_POINTS)[len(percentiles) - 1 - last]  # the highest level of tied percentiles

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.interp(x, points, levels, left=0.0, right=1.0)

    statistic = float(stats.ks_1samp(values, cdf, method="asymp").statistic)
    n_eff = max(round(len(values) * n_train / (len(values) + n_train)), 1) if n_train > 0 else len(values)
    return statistic, float(stats.kstwo.sf(statistic, n_eff))


def _numeric_row(name: str, kind: str, values: np.ndarray, prof: dict[str, Any], n_train: int) -> dict[str, Any]:
    """PSI over the training deciles and KS test of float values (NaN for missing)."""
    finite = values[np.isfinite(values)]
    row = _row(name, kind, prof, missing_new=float(1 - len(finite) / max(len(values), 1)))
    edges, shares = np.asarray(prof.get("edges", []), dtype=float), np.asarray(prof.get("shares", []), dtype=float)
    if len(finite) == 0 or len(shares) == 0:
        return row
    counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1)
    row["psi"] = psi(shares, counts / len(finite))
    row["chi2_pvalue"] = _chi2_pvalue(shares, counts / len(finite), len(finite))
    row["ks_statistic"], row["ks_pvalue"] = _ks(finite, prof, n_train * (1 - row["missing_train"]))
    return row


def _category_row(name: str, kind: str, values: pd.Series, prof: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """PSI over the training categories, ``"other"`` and a bin of unseen categories; the unseen share."""
    present = values.dropna().astype(str)
    row = _row(name, kind, prof, missing_new=float(1 - len(present) / max(len(values), 1)))
    if len(present) == 0:
        return row
    known = prof.get("shares", {})
    other = float(prof.get("other", 0.0))
    counts = present.value_counts()
    outside = counts[~counts.index.isin(list(known))]
    new_known = [counts.get(k, 0) / len(present) for k in known]
    if other > 0:  # training kept only its most common categories: a value outside them may have been seen
        new_shares, train_shares = [*new_known, outside.sum() / len(present)], [*known.values(), other]
        if len(outside):
            notes.append(f"column {name!r}: its rarer training categories were not kept; new values count as 'other'")
    else:
        row["unseen_share"] = float(outside.sum() / len(present))
        new_shares, train_shares = [*new_known, 0.0, row["unseen_share"]], [*known.values(), 0.0, 0.0]
    row["psi"] = psi(np.asarray(train_shares), np.asarray(new_shares))
    row["chi2_pvalue"] = _chi2_pvalue(np.asarray(train_shares), np.asarray(new_shares), len(present))
    return row


def _column_numbers(values: pd.Series, prof: dict[str, Any]) -> np.ndarray:
    """A numeric, datetime or duration column as float64 in the profile's units (NaN where missing or unreadable)."""
    return numbers_of(values, str(prof.get("kind")), str(prof.get("source", "number")))


def _column_row(
    name: str, values: pd.Series | None, prof: dict[str, Any], n_train: int, threshold: float, notes: list[str]
) -> dict[str, Any]:
    """The report's row of one training column: its statistics and verdict."""
    kind = str(prof.get("kind", prof.get("type", "")))
    if prof.get("type") == "dropped":
        missing_new = float(values.isna().mean()) if values is not None else math.nan
        return _row(name, kind, prof, missing_new=missing_new, verdict="not used")
    if values is None:
        return _row(name, kind, prof, verdict="missing")
    if prof.get("type") == "numeric":
        numbers = _column_numbers(values, prof)
        row = _numeric_row(name, kind, numbers, prof, n_train)
        unreadable = values[np.isnan(numbers) & values.notna().to_numpy()]
        if len(unreadable):
            what = "dates" if kind == "datetime" else "durations" if prof.get("source") == "timedelta" else "numbers"
            notes.append(
                f"column {name!r}: {len(unreadable)} value(s) such as {unreadable.iloc[0]!r} cannot be read as {what}"
            )
            return row | {"missing_new": float(values.isna().mean()), "verdict": "wrong type"}
    else:
        row = _category_row(name, kind, values, prof, notes)
    if len(values) and row["missing_new"] == 1.0 and row["missing_train"] < 1.0:
        notes.append(f"column {name!r}: every new value is missing")
        return row | {"verdict": "missing"}
    return row | {"verdict": _verdict(row, threshold)}


def _predictions_row(
    model: Any, X_new: pd.DataFrame, predictions: Any, profile: dict[str, Any], threshold: float, notes: list[str]
) -> dict[str, Any] | None:
    """The predictions' row: new predictions (made here when not given) against the out-of-fold ones."""
    prof = profile.get("predictions")
    if prof is None:
        notes.append("predictions not checked: the model keeps no profile of its predictions")
        return None
    if predictions is None:
        try:
            predictions = model.predict(X_new)
        except Exception as exc:  # any failure of the pipeline on bad rows: report it, the columns say why
            logger.info("drift: the model cannot predict the new rows: %s", exc)
            notes.append(f"predictions not checked: the model cannot predict the new rows ({exc})")
            return None
    values = pd.Series(np.asarray(predictions, dtype=object).ravel())
    if prof.get("type") == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        row = _numeric_row(PREDICTIONS, "predictions", numbers, prof, int(profile["table"].get("n_rows", 0)))
    else:
        row = _category_row(PREDICTIONS, "predictions", values, prof, notes)
    return row | {"verdict": _verdict(row, threshold)}


def _profile_of(model: Any) -> tuple[Any, dict[str, Any]]:
    """The fitted model (loaded when a path is given) and its training profile."""
    if isinstance(model, str | os.PathLike):
        model = load(model)
    profile = getattr(model, "data_profile_", None)
    if not isinstance(profile, dict) or not isinstance(profile.get("table"), dict):
        raise ValueError(
            f"model: this {type(model).__name__} keeps no profile of its training data (it was fitted by an "
            "older version of automl, or is not fitted); refit it with this version to check drift"
        )
    return model, profile


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    order = np.select([table["verdict"].isin(PROBLEMS), table["verdict"] == "not used"], [0, 2], default=1)
    table = table.assign(_order=order).sort_values(["_order", "psi"], ascending=[True, False], na_position="last")
    return table.drop(columns="_order").reset_index(drop=True)


def drift(model: Any, X_new: pd.DataFrame, *, threshold: float = 0.25, predictions: Any = None) -> DriftReport:
    """Compare new rows with the training data of a fitted model, column by column and for the predictions.

    Parameters
    ----------
    model : AutoML, str or path-like
        A fitted estimator with ``data_profile_``, or a model file (loaded with :func:`automl.load`).
    X_new : DataFrame
        The new rows, with the training columns (others are ignored and listed in the notes).
    threshold : float
        PSI from which a column (or the predictions) counts as drifted.
    predictions : array-like, optional
        Predictions already made for these rows (e.g. from a request log: see
        :func:`automl.deploy.io.read_log_predictions`); by default the model predicts ``X_new``.

    Returns
    -------
    DriftReport
        The table of statistics and verdicts, and whether anything drifted.

    Raises
    ------
    ValueError
        When ``X_new`` is not a non-empty DataFrame, ``threshold`` is not a
        positive number, or the model keeps no training profile.

    Notes
    -----
    PSI compares shares per bin, each floored at :data:`EPSILON` (1e-4); for
    numeric columns the shares are of non-missing values and the change of the
    missing share is reported beside it. The training distribution is itself a
    sample, so the KS p-value is the two-sample one (the Kolmogorov distribution
    at the effective size ``n_new * n_train / (n_new + n_train)``, as
    :func:`scipy.stats.ks_2samp` approximates it): taken as exact, the training
    percentiles would make any large new sample look drifted. The KS test is
    skipped for numeric columns with fewer than :data:`MIN_KS_VALUES` distinct
    training percentiles (flags, small counts): their distribution is not continuous.
    """
    if not isinstance(X_new, pd.DataFrame):
        raise ValueError(f"X_new must be a pandas DataFrame, got {type(X_new).__name__}")
    if len(X_new) == 0:
        raise ValueError("X_new has 0 rows; pass the new rows to compare with the training data")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < math.inf:
        raise ValueError(f"threshold={threshold!r} must be a positive number, e.g. 0.25")
    model, profile = _profile_of(model)
    trained = profile["table"].get("columns", {})
    n_train = min(int(profile["table"].get("n_rows", 0)), MAX_ROWS)
    X_new = X_new.loc[:, ~X_new.columns.duplicated()]
    by_name = {str(c): c for c in X_new.columns}
    notes: list[str] = []
    extra = [name for name in by_name if name not in trained]
    if extra:
        notes.append(f"{len(extra)} column(s) not seen in training, ignored: {extra[:20]}")
    rows = [
        _column_row(name, X_new[by_name[name]] if name in by_name else None, prof, n_train, threshold, notes)
        for name, prof in trained.items()
    ]
    row = _predictions_row(model, X_new, predictions, profile, threshold, notes)
    if row is not None:
        rows.append(row)
    table = _sorted(pd.DataFrame(rows, columns=list(COLUMNS)))
    report = DriftReport(
        table=table,
        drifted=bool(table["verdict"].isin(ALARMS).any()),
        threshold=float(threshold),
        n_rows=len(X_new),
        notes=notes,
    )
    logger.info("drift: %d rows, %s", len(X_new), "drifted" if report.drifted else "no drift")
    return report


__all__ = ["EPSILON", "PREDICTIONS", "DriftReport", "drift", "psi"]
