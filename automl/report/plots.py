"""Honest plots of a fitted ``AutoML``: drawn from out-of-fold predictions, never from rows a model trained on.

``automl.plot`` is a :class:`Plots`; each plot is a method that takes an
optional matplotlib ``ax`` and returns the Axes it drew on. scikit-learn's
displays and Optuna's plots do the drawing.
"""

from __future__ import annotations

import logging
import re
import warnings
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from automl.evaluation.thresholds import decide

#: the plots each task offers
PLOTS: dict[str, tuple[str, ...]] = {
    "binary": ("history", "models", "importance", "shap", "confusion_matrix", "roc", "precision_recall", "calibration"),
    "multiclass": (
        "history",
        "models",
        "importance",
        "shap",
        "confusion_matrix",
        "roc",
        "precision_recall",
        "calibration",
    ),
    "regression": ("history", "models", "importance", "shap", "prediction_error", "residuals"),
}
EXTRA = 'pip install "automl[report]"'


def pyplot() -> Any:
    """``matplotlib.pyplot``, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - the test environment has matplotlib
        raise ImportError(f"automl's plots need matplotlib: {EXTRA}") from exc
    return plt


def _axes(ax: Any) -> Any:
    if ax is None:
        _, ax = pyplot().subplots(figsize=(6.4, 4.8))
    return ax


class Plots:
    """The plots of one fitted :class:`~automl.AutoML`, as ``automl.plot``.

    ``automl.plot.roc()`` or ``automl.plot("roc")``; :attr:`names` lists the
    plots of the fit's task. Every plot takes ``ax`` (a matplotlib Axes to draw
    on; default: a new figure) and returns the Axes.
    """

    def __init__(self, automl: Any) -> None:
        check_is_fitted(automl, "leaderboard_")
        pyplot()  # without matplotlib, say which extra to install before anything is drawn
        self._automl = automl

    @property
    def names(self) -> tuple[str, ...]:
        """The plots this fit's task offers."""
        check_is_fitted(self._automl, "leaderboard_")
        return PLOTS[self._automl.task_]

    def __call__(self, name: str, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the plot called ``name`` (one of :attr:`names`)."""
        if name not in self.names:
            raise ValueError(self._unknown(name))
        return getattr(self, name)(ax=ax, **kwargs)

    def _unknown(self, name: str) -> str:
        task = self._automl.task_
        return f"no {name!r} plot for a {task} task; the plots for {task} are: {', '.join(PLOTS[task])}"

    def _oof(self, name: str) -> dict[str, np.ndarray]:
        """The final model's out-of-fold predictions, after checking that ``name`` suits the task."""
        if name not in self.names:
            raise ValueError(self._unknown(name))
        oof = self._automl.oof_
        if oof is None:
            raise ValueError(
                f"no out-of-fold predictions to draw {name!r} from: the final model is the fallback baseline"
            )
        return oof

    # -- the search ------------------------------------------------------------------------
    def history(self, ax: Any = None) -> Any:
        """Score of every trial in the order they finished, and the best so far (Optuna's plot)."""
        check_is_fitted(self._automl, "leaderboard_")
        import optuna
        from optuna.visualization.matplotlib import plot_optimization_history

        automl = self._automl
        quiet, level = logging.getLogger("optuna"), logging.getLogger("optuna").level
        quiet.setLevel(logging.WARNING)  # no "A new study created" line
        try:
            study = optuna.create_study(direction="maximize" if _greater_is_better(automl) else "minimize")
        finally:
            quiet.setLevel(level)
        trials = sorted((r for r in automl.trials_ if r.number >= 0), key=lambda r: r.number)
        for r in trials:
            ok = r.status == "ok" and np.isfinite(r.mean)
            state = optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL
            study.add_trial(optuna.trial.create_trial(state=state, value=r.mean if ok else None))
        # Optuna's plots switch matplotlib to its ggplot style: keep that to this figure
        with warnings.catch_warnings(), pyplot().rc_context():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            drawn = plot_optimization_history(study, target_name=automl.metric_)
        _renumber(drawn, np.array([r.number for r in trials]))
        if ax is None:
            return drawn
        for line in drawn.get_lines():
            ax.plot(*line.get_data(), color=line.get_color(), label=line.get_label())
        for points in drawn.collections:
            offsets = points.get_offsets()
            ax.scatter(offsets[:, 0], offsets[:, 1], s=12, label=points.get_label())
        ax.set(title=drawn.get_title(), xlabel=drawn.get_xlabel(), ylabel=drawn.get_ylabel())
        ax.legend()
        pyplot().close(drawn.figure)
        return ax

    def models(self, ax: Any = None) -> Any:
        """The cross-validated scores of each model's successful trials, one box per model."""
        check_is_fitted(self._automl, "leaderboard_")
        board = self._automl.leaderboard_
        ok = board[(board["status"] == "ok") & board["trial"].notna()]
        order = ok.groupby("model")["score_mean"].median().sort_values(ascending=not _greater_is_better(self._automl))
        ax = _axes(ax)
        ax.boxplot([ok.loc[ok["model"] == m, "score_mean"] for m in order.index], orientation="horizontal")
        ax.set_yticks(range(1, len(order) + 1), [f"{m} ({(ok['model'] == m).sum()})" for m in order.index])
        ax.invert_yaxis()
        ax.set(title="Models compared (trials per model)", xlabel=f"{self._automl.metric_}, cross-validated")
        return ax

    def importance(self, ax: Any = None, X: Any = None, y: Any = None) -> Any:
        """Permutation importance of each original column with its spread (see ``AutoML.explain``)."""
        check_is_fitted(self._automl, "leaderboard_")
        table = self._automl.explain(X, y) if X is not None else self._automl.explain()
        table = table.head(20).iloc[::-1]
        ax = _axes(ax)
        ax.barh(table.index.astype(str), table["importance"], xerr=table["importance_std"], color="tab:blue")
        ax.set(
            title="Permutation importance (held-out rows)",
            xlabel=f"how much worse {self._automl.metric_} gets when shuffled",
        )
        return ax

    def shap(self, ax: Any = None, X: Any = None, label: Any = None, rows: int = 100) -> Any:
        """SHAP summary (beeswarm): each column's SHAP values over ``rows`` rows, coloured by the column's value.

        ``X``: the rows to explain (default: a sample of the training table kept
        from ``fit``). ``label``: for multiclass, the class whose probability is
        explained (default: the first of ``classes_``). Needs ``automl[explain]``.
        Categorical columns are coloured by the codes of their values.
        """
        from automl.report.explain import sample_rows, shap_module, shap_values

        shap = shap_module()
        automl = self._automl
        if X is None:  # rows of the training table: their values are kept for the next plot (and the report)
            cached = getattr(automl, "_shap_sample", None)
            if cached is None or cached[0] != rows:
                cached = automl._shap_sample = (rows, shap_values(automl, sample_rows(automl, rows), raw_data=False))
            explanation = cached[1]
        else:
            explanation = shap_values(automl, X, raw_data=False)
        what = {"binary": f"P({automl.classes_[-1]})" if automl.task_ == "binary" else "", "regression": "prediction"}
        if explanation.values.ndim == 3:
            classes = list(automl.classes_)
            label = classes[0] if label is None else label
            if label not in classes:
                raise ValueError(f"label={label!r} is not a class of this model; its classes are {classes}")
            explanation = explanation[:, :, classes.index(label)]
            what["multiclass"] = f"P({label})"
        ax = _axes(ax)
        shap.plots.beeswarm(explanation, ax=ax, show=False, plot_size=None, max_display=15)
        ax.set_title(f"SHAP values of {what[automl.task_]} ({len(explanation.values)} rows)")
        return ax

    # -- the final model, out of fold -------------------------------------------------------
    def confusion_matrix(self, ax: Any = None, normalize: str | None = None) -> Any:
        """Confusion matrix of the final model's out-of-fold decisions (``normalize`` as scikit-learn's)."""
        from sklearn.metrics import ConfusionMatrixDisplay

        oof, classes = self._oof("confusion_matrix"), self._automl.classes_
        decided = decide(oof["pred"], self._automl.threshold_)
        ax = _axes(ax)
        ConfusionMatrixDisplay.from_predictions(
            classes[oof["y"]], classes[decided], labels=classes, normalize=normalize, ax=ax, colorbar=False
        )
        ax.set_title("Confusion matrix (out of fold)")
        return ax

    def roc(self, ax: Any = None) -> Any:
        """ROC curve of the final model out of fold (one curve per class, one-vs-rest, for multiclass)."""
        from sklearn.metrics import RocCurveDisplay

        return self._per_class("roc", RocCurveDisplay, "ROC curve (out of fold)", ax)

    def precision_recall(self, ax: Any = None) -> Any:
        """Precision-recall curve of the final model out of fold (per class for multiclass)."""
        from sklearn.metrics import PrecisionRecallDisplay

        return self._per_class("precision_recall", PrecisionRecallDisplay, "Precision-recall (out of fold)", ax)

    def calibration(self, ax: Any = None, n_bins: int = 10) -> Any:
        """Calibration curve: predicted probability against the observed frequency, out of fold."""
        from sklearn.calibration import CalibrationDisplay

        return self._per_class("calibration", CalibrationDisplay, "Calibration (out of fold)", ax, n_bins=n_bins)

    def _per_class(self, name: str, display: Any, title: str, ax: Any, **kwargs: Any) -> Any:
        oof, classes = self._oof(name), self._automl.classes_
        ax = _axes(ax)
        proba = oof["pred"] if oof["pred"].ndim == 2 else np.column_stack([1 - oof["pred"], oof["pred"]])
        if len(classes) == 2:  # scikit-learn's axes then name the positive class by its label
            truth = classes[oof["y"]]
            display.from_predictions(truth, proba[:, 1], pos_label=classes[1], name=str(classes[1]), ax=ax, **kwargs)
        else:  # one curve per class, that class against the rest
            for k, label in enumerate(classes):
                display.from_predictions(oof["y"] == k, proba[:, k], pos_label=True, name=str(label), ax=ax, **kwargs)
            ax.set(xlabel=_one_vs_rest(ax.get_xlabel()), ylabel=_one_vs_rest(ax.get_ylabel()))
        ax.set_title(title)
        return ax

    def prediction_error(self, ax: Any = None) -> Any:
        """Predicted against actual values of the final model, out of fold."""
        return self._error("prediction_error", "actual_vs_predicted", "Predicted vs actual (out of fold)", ax)

    def residuals(self, ax: Any = None) -> Any:
        """Residuals against predicted values of the final model, out of fold."""
        return self._error("residuals", "residual_vs_predicted", "Residuals (out of fold)", ax)

    def _error(self, name: str, kind: str, title: str, ax: Any) -> Any:
        from sklearn.metrics import PredictionErrorDisplay

        oof = self._oof(name)
        ax = _axes(ax)
        PredictionErrorDisplay.from_predictions(oof["y"], oof["pred"], kind=kind, ax=ax, random_state=0)
        ax.set_title(title)
        return ax


def _renumber(ax: Any, numbers: np.ndarray) -> None:
    """Put the leaderboard's trial numbers on the x axis of Optuna's plot, which counts the trials it was given."""
    if not len(numbers):
        return
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        line.set_xdata(np.interp(x, np.arange(len(numbers)), numbers))
    for points in ax.collections:
        offsets = np.asarray(points.get_offsets(), dtype=float)
        if len(offsets):
            offsets[:, 0] = np.interp(offsets[:, 0], np.arange(len(numbers)), numbers)
            points.set_offsets(offsets)
    ax.relim()
    ax.autoscale_view()


def _one_vs_rest(label: str) -> str:
    """An axis label without scikit-learn's "(Positive label: True)", which means each class against the rest."""
    return re.sub(r"\s*\(Positive label: True\)", " (each class against the rest)", label)


def _greater_is_better(automl: Any) -> bool:
    metric = getattr(automl, "_metric", None)
    return True if metric is None else bool(metric.greater_is_better)


__all__ = ["EXTRA", "PLOTS", "Plots", "pyplot"]
