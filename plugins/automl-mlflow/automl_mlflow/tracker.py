"""``MLflowTracker``: one MLflow run per ``fit``, one nested run per trial, the final model at the end.

The tracker is an automl observer plugin. Its hooks only read what they are
given and send it to a writer process (:mod:`automl_mlflow.writer`) that talks
to the tracking store, so a slow store does not eat the fit's time budget and a
failing one costs one :class:`MLflowTrackingWarning`, never the fit.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any

from automl.context import SearchContext
from automl.markers import hookimpl

from automl_mlflow import records
from automl_mlflow.model import model_payload
from automl_mlflow.writer import Writer

logger = logging.getLogger(__name__)

#: environment variables that switch on the installed (entry-point) tracker, the first set wins
URI_VARIABLES = ("AUTOML_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI")

#: environment variables naming the experiment when the tracker is not given one, the first set wins
EXPERIMENT_VARIABLES = ("AUTOML_MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_NAME")

#: the experiment runs go to when nothing names one
DEFAULT_EXPERIMENT = "automl"

_FIT_NUMBERS = itertools.count(1)

#: the searches (by their SearchContext) that a tracker given to the fit itself records:
#: the installed tracker steps aside for them, so a fit never gets two parent runs
_EXPLICIT: dict[int, weakref.ref] = {}


class MLflowTrackingWarning(RuntimeWarning):
    """The tracking store failed or was slow; the fit went on without (all of) its tracking."""


@dataclass
class _FitRun:
    """One fit's tracking: where it goes, and the parent run once it exists."""

    context: SearchContext
    tracking_uri: str | None
    experiment_name: str
    started_at: float = field(default_factory=time.time)
    number: int = field(default_factory=lambda: next(_FIT_NUMBERS))
    queued: bool = False
    finished: bool = False
    active: bool = True


class MLflowTracker:
    """Track automl fits in MLflow.

    Every ``fit`` becomes one parent run (parameters: task, metric, time budget, cv,
    candidate models, data shape) with one nested run per trial (model, preprocessing and
    parameters; fold scores, mean score, timings; status and error as tags). At the end the
    parent run gets the best score, the final model's description, the leaderboard
    (``leaderboard.csv``) and the final model (``best_pipeline_``) as an MLflow model in
    ``model/``, which ``mlflow.pyfunc.load_model(f"runs:/{run_id}/model")`` loads.

    Parameters
    ----------
    tracking_uri : str or None
        The tracking store, e.g. ``"sqlite:///mlflow.db"`` or ``"http://host:5000"``. None uses
        MLflow's default (``MLFLOW_TRACKING_URI``, or MLflow's local default).
    experiment_name : str or None
        The experiment, created when missing. None reads ``AUTOML_MLFLOW_EXPERIMENT_NAME``,
        then ``MLFLOW_EXPERIMENT_NAME``, else ``"automl"``.
    run_name : str or None
        Name of the parent run; None lets MLflow pick one.
    tags : dict or None
        Extra tags for the parent run.
    log_trials : bool
        Log a nested run per trial.
    log_model : bool
        Log the final model.
    finish_timeout : float
        Seconds the end of ``fit`` waits at most for the writes still queued (the final model
        among them); what is left is written in the background, and waited for (as long again)
        when the interpreter exits. ``flush()`` waits for it.
    only_if_configured : bool
        Track only when ``AUTOML_MLFLOW_TRACKING_URI`` or ``MLFLOW_TRACKING_URI`` is set (read
        at each fit; the first set is the store). The installed plugin is such a tracker, and
        steps aside for a fit that has a tracker of its own.
    artifact_location : str or None
        Where a new experiment keeps its artifacts (the models), as a path or URI. None:
        MLflow's default, which for a database store (``sqlite:///...``) is ``./mlruns`` in
        the working directory. An existing experiment keeps its own location.

    Examples
    --------
    >>> from automl import AutoML
    >>> from automl_mlflow import MLflowTracker
    >>> tracker = MLflowTracker(tracking_uri="sqlite:///mlflow.db", experiment_name="churn")
    >>> automl = AutoML(time_budget=30, plugins=[tracker]).fit(X, y)  # doctest: +SKIP
    >>> tracker.last_run_id  # doctest: +SKIP
    """

    def __init__(
        self,
        tracking_uri: str | None = None,
        experiment_name: str | None = None,
        *,
        run_name: str | None = None,
        tags: dict[str, Any] | None = None,
        log_trials: bool = True,
        log_model: bool = True,
        finish_timeout: float = 30.0,
        only_if_configured: bool = False,
        artifact_location: str | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self.artifact_location = artifact_location
        self.experiment_name = experiment_name
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.log_trials = log_trials
        self.log_model = log_model
        self.finish_timeout = finish_timeout
        self.only_if_configured = only_if_configured
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._writer = Writer()
        self._fit: _FitRun | None = None

    @property
    def last_run_id(self) -> str | None:
        """The id of the parent run of the last fit tracked (None before its run is created)."""
        return self._writer.info.get("run_id")

    @property
    def last_model_uri(self) -> str | None:
        """The URI of the last final model logged, ``runs:/<run_id>/model``."""
        return self._writer.info.get("model_uri")

    @classmethod
    def from_environment(cls) -> MLflowTracker:
        """The tracker the entry point installs: it tracks only when a tracking URI variable is set."""
        return cls(only_if_configured=True)

    # -- pickling (an estimator's parameters are deep-copied by scikit-learn's clone) --
    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        where = "from environment" if self.only_if_configured else repr(self.tracking_uri)
        return f"MLflowTracker({where}, experiment_name={self.experiment_name!r})"

    # -- hooks --------------------------------------------------------------------------
    @hookimpl
    def automl_search_started(self, context: SearchContext) -> None:
        """Prepare the parent run of this fit (created when the first trial finishes)."""
        self._abandon_previous()
        uri = self._resolve_uri()
        if uri is False:
            self._fit = None
            return
        self._writer.reset()
        self._fit = _FitRun(context, uri, self._resolve_experiment())
        if not self.only_if_configured:
            # a tracker given to the fit starts at once (the writer imports MLflow while trials run);
            # the installed one waits for the first trial, when it knows whether the fit has its own
            _claim(context)
            self._active_fit()

    @hookimpl
    def automl_trial_finished(self, result: Any) -> None:
        """Send the trial's nested run to the writer."""
        fit = self._active_fit()
        if fit is not None and self.log_trials:
            self._writer.submit("trial", {"fit": fit.number, "record": records.trial_record(result)})

    @hookimpl
    def automl_fit_finished(self, automl: Any) -> None:
        """Send the summary, leaderboard and model; wait for the writes at most ``finish_timeout`` seconds."""
        fit = self._active_fit()
        if fit is None:
            return
        payload = {
            "fit": fit.number,
            "summary": records.summary_record(automl),
            "leaderboard": records.leaderboard_csv(automl.leaderboard_),
            "pipeline_repr": repr(automl.best_pipeline_),
            "model": model_payload(automl) if self.log_model else None,
        }
        self._writer.submit("end", payload)
        fit.finished = True
        if not self._writer.flush(self.finish_timeout):
            warnings.warn(
                f"automl-mlflow: the tracking store {_where(fit)} is slow: the fit returns after "
                f"{self.finish_timeout:g}s and the writer process goes on in the background "
                "(tracker.flush() waits for it)",
                MLflowTrackingWarning,
                stacklevel=2,
            )
        self._report_failure(fit)

    # -- public helpers -----------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything sent has been written.

        Parameters
        ----------
        timeout : float or None
            Seconds to wait at most; None waits as long as it takes.

        Returns
        -------
        bool
            True when everything has been written (or dropped after a failure).
        """
        done = self._writer.flush(timeout)
        if self._fit is not None:
            self._report_failure(self._fit)
        return done

    def close(self, timeout: float | None = None) -> None:
        """Stop the writer process after it has written what it was sent (waited for ``timeout`` seconds).

        A parent run whose fit never finished is ended as FAILED. The next fit starts a new writer.
        """
        self._writer.close(timeout)
        self._writer = Writer()

    # -- in the fit's thread ------------------------------------------------------------
    def _resolve_uri(self) -> str | None | bool:
        """The store of this fit: the given URI, None for MLflow's default, False when not switched on."""
        if not self.only_if_configured:
            return self.tracking_uri
        for name in URI_VARIABLES:
            if os.environ.get(name):
                return os.environ[name]
        return False

    def _resolve_experiment(self) -> str:
        if self.experiment_name:
            return self.experiment_name
        for name in EXPERIMENT_VARIABLES:
            if os.environ.get(name):
                return os.environ[name]
        return DEFAULT_EXPERIMENT

    def _active_fit(self) -> _FitRun | None:
        """This fit's tracking, its parent run sent on first use; None when not tracking."""
        fit = self._fit
        if fit is None or not fit.active or self._report_failure(fit):
            return None
        if not fit.queued:
            if self.only_if_configured and _claimed(fit.context):
                logger.debug("automl-mlflow: the fit has its own MLflowTracker; the installed one steps aside")
                fit.active = False
                return None
            fit.queued = True
            self._writer.submit("start", self._start_payload(fit))
        return fit

    def _start_payload(self, fit: _FitRun) -> dict[str, Any]:
        tags = records.clean_params({"automl.plugin": "automl-mlflow", **self.tags})
        if self.run_name:
            tags["mlflow.runName"] = self.run_name
        return {
            "fit": fit.number,
            "tracking_uri": fit.tracking_uri,
            "experiment_name": fit.experiment_name,
            "artifact_location": self.artifact_location,
            "tags": tags,
            "params": records.search_params(fit.context),
            "start_ms": int(fit.started_at * 1000),
        }

    def _report_failure(self, fit: _FitRun) -> bool:
        """Turn a failed write into one warning and stop tracking this fit; True if it failed."""
        failure = self._writer.failure
        if failure is None or not fit.active:
            return failure is not None
        fit.active = False
        warnings.warn(
            f"automl-mlflow: tracking to {_where(fit)} failed and is off for this fit, which goes on: {failure}",
            MLflowTrackingWarning,
            stacklevel=3,
        )
        return True

    def _abandon_previous(self) -> None:
        """A previous fit of this tracker that never finished (it raised): end its parent run as FAILED."""
        fit = self._fit
        if fit is not None and fit.queued and not fit.finished and fit.active:
            self._writer.submit("abort", {"fit": fit.number, "status": "FAILED"})


def _where(fit: _FitRun) -> str:
    return repr(fit.tracking_uri) if fit.tracking_uri else "MLflow's default store"


def _claim(context: SearchContext) -> None:
    for key in [k for k, ref in _EXPLICIT.items() if ref() is None]:
        del _EXPLICIT[key]
    _EXPLICIT[id(context)] = weakref.ref(context)


def _claimed(context: SearchContext) -> bool:
    ref = _EXPLICIT.get(id(context))
    return ref is not None and ref() is context


__all__ = ["DEFAULT_EXPERIMENT", "EXPERIMENT_VARIABLES", "URI_VARIABLES", "MLflowTracker", "MLflowTrackingWarning"]
