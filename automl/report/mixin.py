"""What a fitted ``AutoML`` shows a person: its summary, ``explain()``, ``plot`` and ``report()``.

:class:`ReportMixin` gives the estimator these methods; each imports what it
draws with (matplotlib, shap) only when called, so fitting needs neither.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from automl.report.summary import summary_html, summary_text


class ReportMixin:
    """The summary, explanations, plots and HTML report of a fitted :class:`~automl.AutoML`."""

    # -- what it says about itself ---------------------------------------------------
    def __repr__(self, N_CHAR_MAX: int = 700) -> str:  # noqa: N803 (scikit-learn's signature)
        if hasattr(self, "leaderboard_"):
            return summary_text(self)
        return super().__repr__(N_CHAR_MAX)

    def _html_repr(self) -> str:
        # scikit-learn's _repr_html_ and _repr_mimebundle_ (Jupyter) both draw this
        if hasattr(self, "leaderboard_"):
            return summary_html(self)
        return super()._html_repr()

    # -- explain, plot, report ------------------------------------------------------
    def explain(
        self, X: Any = None, y: Any = None, *, n_repeats: int = 5, shap: bool | None = None, random_state: int = 0
    ) -> pd.DataFrame:
        """Explain the final model in terms of the training columns.

        * ``explain()``: the importance of every column, permutation importance
          on held-out rows: a copy of the final pipeline is refit on 75% of the
          training table (kept in memory since ``fit``, never saved) and each
          column is shuffled in the other 25%.
        * ``explain(X_test, y_test)``: the same on rows the model never saw, with
          the final model as it is (the way to explain a loaded model).
        * ``explain(X_rows)``: SHAP values of individual predictions (needs
          ``pip install "automl[explain]"``).

        Parameters
        ----------
        X : DataFrame, optional
            Held-out rows (with ``y``), or the rows whose predictions to explain (without).
        y : array-like, optional
            Targets of held-out rows.
        n_repeats : int
            Shuffles per column.
        shap : bool or None
            Add the mean absolute SHAP value of each column (``shap_mean_abs``,
            on 40 rows of ``X``, else of the training table). None: when the shap package is installed.
        random_state : int
            Seed of the split, the shuffles and SHAP's sampling.

        Returns
        -------
        DataFrame
            Importances: indexed by column, most important first, with
            ``importance`` (the metric's mean drop when the column is shuffled),
            ``importance_std`` and maybe ``shap_mean_abs``. SHAP values of rows:
            one row per row of ``X``, one column per training column (for
            multiclass, columns ``(class, column)``); the row's prediction is
            ``attrs["base_value"]`` plus the row's sum.
        """
        from automl.report.explain import explanation_frame

        check_is_fitted(self, "best_pipeline_")
        if X is not None:
            return explanation_frame(self, X, y, n_repeats=n_repeats, shap=shap, random_state=random_state)
        key = (n_repeats, shap, random_state)  # explain() refits: its result is kept for the plots and the report
        cached = getattr(self, "_explained", None)
        if cached is None or cached[0] != key:
            frame = explanation_frame(self, None, None, n_repeats=n_repeats, shap=shap, random_state=random_state)
            cached = self._explained = (key, frame)
        return cached[1].copy()

    @property
    def plot(self) -> Any:
        """The plots of the fit (:class:`automl.report.plots.Plots`): ``automl.plot.roc(ax=...)``, ...

        Each is drawn from out-of-fold predictions and returns a matplotlib Axes;
        ``automl.plot.names`` lists those of the fit's task. Needs
        ``pip install "automl[report]"``.
        """
        from automl.report.plots import Plots

        check_is_fitted(self, "leaderboard_")
        return Plots(self)

    def group_report(self, X: Any = None, y: Any = None, *, sensitive: Any, min_rows: int = 30) -> pd.DataFrame:
        """How the final model does for each group of a sensitive feature (fairlearn's ``MetricFrame``).

        * ``group_report(sensitive="sex")``: the out-of-fold predictions of the
          training data (``oof_``: every row predicted by the final model's
          configuration fitted without it), grouped by a column of the training
          table (kept in memory since ``fit``, never saved).
        * ``group_report(X_test, y_test, sensitive="sex")``: the final model's
          predictions on labelled rows, as ``predict`` makes them (the way for a
          loaded model).

        Needs ``pip install "automl[fairness]"``. The result is kept, and
        :meth:`report` shows the last one in a "Groups" section.

        Parameters
        ----------
        X : DataFrame, optional
            Labelled rows to predict (with ``y``); None: the out-of-fold predictions.
        y : array-like, optional
            The targets of the rows of ``X``.
        sensitive : str, list of str or array-like
            A column name of the table (the training table without ``X``, else
            ``X``), a list of names, or the values themselves: one per row of
            ``X``, or without ``X`` one per training row with a target
            (a DataFrame for several features). With several features the groups
            are their combinations (those with rows). Missing values form the
            group ``"missing"``.
        min_rows : int
            Groups with fewer rows are flagged in ``few_rows`` (never dropped):
            their numbers are noisy.

        Returns
        -------
        DataFrame
            Indexed by group (one level per sensitive feature), with ``rows``;
            the fit's metric in natural units (named as ``metric_``; NaN where a
            group cannot be scored, e.g. one class for roc_auc, with the reason
            in ``attrs["notes"]``); for classification ``accuracy``; for binary
            tasks ``selection_rate`` (share predicted ``classes_[1]``),
            ``true_positive_rate`` and ``false_positive_rate`` (NaN for a group
            without positive, or negative, rows); for regression ``mae``,
            ``rmse``, ``mean_prediction`` and ``mean_target``; and ``few_rows``.
            Multiclass tasks get no rates (a rate needs one positive class).
            ``attrs``: ``"gaps"`` (per metric: ``smallest``, ``largest`` and
            their groups, ``difference``, ``ratio``; as a table:
            :func:`automl.report.fairness.gap_table`), ``"overall"`` (the same
            metrics on all rows), ``"description"`` (which predictions),
            ``"notes"``, ``"metric"``, ``"sensitive"``, ``"min_rows"``.

        Raises
        ------
        ValueError, automl.exceptions.DataError
            When ``sensitive`` names no column, has the wrong length, or the
            predictions are not available (a loaded model, or the fallback
            baseline, without ``X``); the message names the argument.
        ImportError
            When fairlearn is not installed.
        """
        from automl.report.fairness import group_frame

        check_is_fitted(self, "best_pipeline_")
        frame = group_frame(self, X, y, sensitive=sensitive, min_rows=min_rows)
        # kept with the pipeline it describes, so a later fit never shows it; a DataFrame of numbers, not saved
        self._group_report = (self.best_pipeline_, frame)
        return frame.copy()

    def report(self, path: Any, *, sensitive: Any = None) -> Any:
        """Write one self-contained HTML file about the fit: summary, leaderboard, plots, explanation, data, warnings.

        Every image is embedded and nothing is fetched from the network, so the
        file reads offline and can be sent as it is. A "Groups" section shows the
        last :meth:`group_report` of this fit, or the one ``sensitive`` asks for.

        Parameters
        ----------
        path : str or path-like
            The HTML file to write.
        sensitive : str, list of str or array-like, optional
            Compute ``group_report(sensitive=sensitive)`` (out-of-fold
            predictions of the training data) for the report's "Groups" section.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from automl.report.html import write_report

        check_is_fitted(self, "leaderboard_")
        if sensitive is not None:
            self.group_report(sensitive=sensitive)
        return write_report(self, path)


def compact_oof(oof: np.ndarray | None, y_codes: np.ndarray) -> dict[str, np.ndarray] | None:
    """The final model's out-of-fold predictions on the rows it was validated on, in float32, with their targets."""
    if oof is None:
        return None
    oof = np.asarray(oof, dtype=np.float32)
    rows = np.isfinite(oof.reshape(len(oof), -1)).all(axis=1)
    y = np.asarray(y_codes)[rows]
    if y.dtype.kind in "iub":
        y = y.astype(np.int32)
    return {"rows": np.flatnonzero(rows).astype(np.int32), "y": y, "pred": oof[rows]}


__all__ = ["ReportMixin", "compact_oof"]
