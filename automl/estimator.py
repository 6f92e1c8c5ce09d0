"""``AutoML``: the estimator users call."""

from __future__ import annotations

import logging
import math
import numbers
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.budget import Budget
from automl.context import TASKS
from automl.data.prepare import Prepared, prepare
from automl.data.profile import prediction_profile, profile_table
from automl.data.target import check_sample_weight, check_y, known_target
from automl.evaluation.cross_validation import predictions
from automl.exceptions import DataError
from automl.pipeline.lean_predict import LeanPipeline
from automl.pipeline.schema import as_frame
from automl.registry import Components, collect_components, get_plugin_manager, notify
from automl.report.console import recorded_warnings, verbosity
from automl.report.mixin import ReportMixin, compact_oof
from automl.report.progress import ProgressBar, progress_bar
from automl.search.leaderboard import leaderboard_frame
from automl.search.loop import SearchSettings
from automl.search.run import Outcome, search_and_refit
from automl.search.storage import check_fingerprint, fingerprint, open_study, setup
from automl.search.worker import check_shareable, share
from automl.workers.pool import WorkerPool, auto_memory_limit, n_cpus, worker_pool

logger = logging.getLogger("automl")

#: each estimator's best_pipeline_ in lean form, for as long as the estimator lives
_LEAN: weakref.WeakKeyDictionary[Any, LeanPipeline] = weakref.WeakKeyDictionary()


class AutoML(ReportMixin, BaseEstimator):
    """Search preprocessing and models under a time budget; return a fitted Pipeline.

    Parameters
    ----------
    task : {"auto", "binary", "multiclass", "regression", "classification"}
        The task; ``"auto"`` infers it from ``y``.
    metric : str or callable
        ``"auto"`` (``roc_auc`` for binary, ``log_loss`` for multiclass, ``rmse``
        for regression), a short name (``roc_auc``, ``log_loss``, ``accuracy``,
        ``balanced_accuracy``, ``f1``, ``rmse``, ``mae``, ``r2``), any scikit-learn
        scorer name, or a scorer callable ``scorer(estimator, X, y)`` (greater is better).
    time_budget : float or None
        Wall-clock seconds for the whole ``fit``, final refit included.
        None: no limit (then set ``max_trials``).
    max_trials : int or None
        Stop after this many trials.
    cv : "auto", "time", int, float, "holdout" or a scikit-learn splitter
        How pipelines are evaluated (see :func:`automl.evaluation.folds.make_splits`).
        With ``fit(..., groups=...)`` the folds are by group; with
        ``fit(..., time=...)`` or ``cv="time"`` they are time-ordered (an int
        is then the number of expanding-window folds, and a splitter such as
        ``TimeSeriesSplit(5, gap=10)`` sets a gap); ``cv="time"`` without
        ``time`` means the rows are in time order already.
    n_jobs : int
        CPU cores to use; -1 means all. Trials run in this many worker processes.
    random_state : int or None
        Seed for folds, the sampler and the models.
    include, exclude : sequence of str or None
        Model names to consider, or to leave out.
    plugins : sequence or None
        Plugin objects registered for this fit only (e.g. a notebook's own model).
    verbose : int
        0 is silent, 1 logs one line per improvement, 2 logs every trial.
    memory_limit : "auto", int or None
        Bytes of address space each worker process may use; a trial that needs
        more fails with a ``MemoryError`` instead of exhausting the machine.
        ``"auto"`` takes a safe share of the machine (at least 2 GiB); None for
        no limit. This is virtual memory: an idle worker already maps about
        600 MB, and native libraries may stall rather than fail when left
        much less room than that.
    ensemble : bool
        Consider a weighted ensemble of the best pipelines (greedy selection on
        out-of-fold predictions); it is used only when it beats the best single
        pipeline out of fold and its refit fits in the time left.
    infer_limit : float or None
        Seconds the final model may take to predict one row (``predict_proba``
        for classification, ``predict`` for regression, on a one-row DataFrame),
        e.g. ``0.002``. Every trial then measures its single-row latency, only
        pipelines within the limit may be the final model, an ensemble keeps
        only members whose latencies add up to it, and the final model is
        measured again after its refit and replaced by the next candidate if
        it is over. The log reports what the limit costs out of fold. None: no
        limit.
    column_kinds : mapping or None
        Column name -> ``"numeric"``, ``"categorical"``, ``"text"`` or
        ``"drop"``, overriding how a column is read (a numeric code that is a
        category, a short text, a column to ignore). Free-text columns (several
        words per value, mostly distinct) are found automatically and need a
        plugin that prepares text (``pip install automl-text``); without one
        they are dropped with a :class:`~automl.DataWarning`.
    storage : str, path, optuna storage or None
        Where the search's Optuna study is kept, so that it outlives the
        process: a database URL (``"sqlite:///search.db"``,
        ``"postgresql://user:password@host/db"``, with ``automl[postgres]``),
        the path of an Optuna journal file, or an Optuna storage. A ``fit``
        started again with the same storage and ``study_name`` (after a crash,
        a kill, or to search longer) continues the study: finished trials are
        not run again, they are on the leaderboard (``earlier``), count for the
        ensemble, and ``time_budget`` covers the new work only. Continuing
        with other data, task, metric or folds raises a ``ValueError`` that
        says what differs. ``automl worker`` processes on other machines can
        join a study kept in PostgreSQL. None: the study lives in memory.
    study_name : str or None
        The study's name in ``storage`` (default ``"automl"``).
    shared_dir : str, path or None
        With ``storage``: a folder every ``automl worker`` can read (a shared
        file system). The fit writes its rows there as Parquet and records the
        path and its own arguments in the study, so that workers on this
        machine or others join the search (see the user guide, "Many
        machines"). None: no worker can join.

    Attributes
    ----------
    best_pipeline_ : sklearn.pipeline.Pipeline
        The best pipeline, refit on all of X.
    leaderboard_ : pandas.DataFrame
        One row per trial, best first.
    task_ : str
        The task solved.
    metric_ : str
        The metric optimised.
    best_score_ : float
        Cross-validated score of the best pipeline (natural units).
    classes_ : ndarray
        Class labels (classification).
    threshold_ : float or None
        Decision threshold on the positive class's probability, tuned out of
        fold for binary label metrics (f1, accuracy, balanced accuracy); None
        when ``predict`` takes the most probable class.
    data_profile_ : dict
        A compact profile of the training table and of the out-of-fold
        predictions, without any row (see :func:`automl.data.profile.profile_table`),
        saved with the model for drift checks (:func:`automl.drift`).
    oof_ : dict or None
        The final model's out-of-fold predictions, which the plots draw:
        ``"rows"`` (positions in the training rows with a target that were
        validated), ``"y"`` (their targets: class indices into ``classes_``, or
        values) and ``"pred"`` (float32 probabilities of each class, of the
        positive class for binary tasks, or predicted values). None for the
        fallback baseline.
    fit_seconds_ : float
        Wall-clock seconds the fit took.
    fit_warnings_ : list of str
        The warnings the fit raised (``"Category: message"``, each once), for the report.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray
        Column names seen in ``fit`` (when X has string column names).

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from automl import AutoML
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> automl = AutoML(time_budget=10, verbose=0).fit(X, y)  # doctest: +SKIP
    >>> automl.leaderboard_.head()  # doctest: +SKIP
    """

    def __init__(
        self,
        task: str = "auto",
        metric: Any = "auto",
        time_budget: float | None = 60.0,
        max_trials: int | None = None,
        cv: Any = "auto",
        n_jobs: int = -1,
        random_state: int | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        plugins: Sequence[Any] | None = None,
        verbose: int = 1,
        memory_limit: Any = "auto",
        ensemble: bool = True,
        infer_limit: float | None = None,
        column_kinds: Mapping[str, str] | None = None,
        storage: Any = None,
        study_name: str | None = None,
        shared_dir: Any = None,
    ) -> None:
        self.task = task
        self.metric = metric
        self.time_budget = time_budget
        self.max_trials = max_trials
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.include = include
        self.exclude = exclude
        self.plugins = plugins
        self.verbose = verbose
        self.memory_limit = memory_limit
        self.ensemble = ensemble
        self.infer_limit = infer_limit
        self.column_kinds = column_kinds
        self.storage = storage
        self.study_name = study_name
        self.shared_dir = shared_dir

    # -- argument checks --------------------------------------------------------
    def _check_params(self) -> None:
        tb = self.time_budget
        if tb is not None and (
            not isinstance(tb, numbers.Real) or isinstance(tb, bool) or not tb > 0 or math.isnan(tb)
        ):
            raise ValueError(f"time_budget={tb!r} must be a positive number of seconds, or None")
        mt = self.max_trials
        if mt is not None and (not isinstance(mt, numbers.Integral) or isinstance(mt, bool) or mt < 1):
            raise ValueError(f"max_trials={mt!r} must be a positive integer, or None")
        if tb is None and mt is None:
            raise ValueError("time_budget=None needs max_trials, or the search would never end")
        if not isinstance(self.n_jobs, numbers.Integral) or self.n_jobs == 0:
            raise ValueError(f"n_jobs={self.n_jobs!r} must be a non-zero integer (-1 for all cores)")
        il = self.infer_limit
        if il is not None and (
            not isinstance(il, numbers.Real) or isinstance(il, bool) or not il > 0 or not math.isfinite(il)
        ):
            raise ValueError(f"infer_limit={il!r} must be a positive number of seconds per row, e.g. 0.002, or None")
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(f"verbose={self.verbose!r} must be an integer")
        allowed = ("auto", "classification", *TASKS)
        if self._task_arg() not in allowed:
            raise ValueError(f"task={self._task_arg()!r} must be one of {list(allowed)}")
        for arg in ("study_name", "shared_dir"):
            if getattr(self, arg) is not None and self.storage is None:
                raise ValueError(f"{arg}={getattr(self, arg)!r} needs a storage, e.g. storage='sqlite:///search.db'")
        for arg in ("include", "exclude"):
            value = getattr(self, arg)
            if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
                raise ValueError(f"{arg}={value!r} must be a list of model names, e.g. ['lightgbm']")

    def _n_jobs(self) -> int:
        cpus = n_cpus()
        n = self.n_jobs if self.n_jobs > 0 else cpus + 1 + self.n_jobs
        return max(1, min(int(n), cpus))

    def _memory_limit(self, n_workers: int) -> int:
        ml = self.memory_limit
        if ml is None:
            return 0
        if isinstance(ml, str) and ml == "auto":
            return auto_memory_limit(n_workers + 1)
        if not isinstance(ml, numbers.Integral) or isinstance(ml, bool) or ml <= 0:
            raise ValueError(f"memory_limit={ml!r} must be 'auto', None or a positive number of bytes")
        return int(ml)

    # -- fit ------------------------------------------------------------------------
    def _task_arg(self) -> str:
        return self.task

    def fit(self, X: Any, y: Any, sample_weight: Any = None, *, groups: Any = None, time: Any = None) -> AutoML:
        """Search pipelines for ``X`` and ``y`` and refit the best on all rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training table; numeric, string, categorical, boolean and datetime columns.
        y : Series or array-like of shape (n_samples,)
            Target: class labels or numbers. Rows with a missing target are dropped.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row (>= 0, not all zero). Every model is fitted with
            them, every cross-validated score and the ensemble's selection are
            weighted, and the final refit uses them. Models whose ``fit`` takes
            no ``sample_weight`` are left out (logged).
        groups : array-like of shape (n_samples,), optional
            Group of each row (a patient, a customer, a store): no fold, holdout
            or sample splits a group, so scores are on unseen groups. A
            scikit-learn group splitter passed as ``cv`` receives them.
        time : str or array-like of shape (n_samples,), optional
            When each row happened: a column of ``X`` or one value per row
            (numbers, dates or datetimes). Folds then train on the past and
            validate on the future (expanding window; see ``cv``), large tables
            hold out their latest rows, nothing is shuffled. Rows may come in
            any order; predictions keep the caller's order. The column stays a
            feature (drop it with ``column_kinds={name: "drop"}``).

        Returns
        -------
        self : AutoML

        Raises
        ------
        DataError
            When X, y or a per-row argument cannot be used; the message names
            the argument or column.
        """
        budget = Budget(self.time_budget)
        self._check_params()
        n_workers = self._n_jobs()
        with recorded_warnings() as fit_warnings:
            with (
                worker_pool(self._memory_limit(n_workers), n_workers + 1) as pool,
                verbosity(self.verbose),
                progress_bar(self.verbose, self.time_budget, self.max_trials) as bar,
            ):
                self._fit(
                    X, y, budget, pool, n_workers, bar, {"sample_weight": sample_weight, "groups": groups, "time": time}
                )
        self.fit_warnings_ = fit_warnings
        return self

    def _fit(
        self,
        X: Any,
        y: Any,
        budget: Budget,
        pool: WorkerPool,
        n_workers: int,
        bar: ProgressBar | None,
        per_row: dict[str, Any],
    ) -> None:
        """Prepare the problem, search, refit the final model, set the fitted attributes."""
        pm = get_plugin_manager(self.plugins or ())
        if self.shared_dir is not None:
            check_shareable(X, self._fit_args(), self.shared_dir)
        study = open_study(self.storage, self.study_name) if self.storage is not None else None
        plan = {"random_state": self.random_state, "time_budget": self.time_budget}
        if study is not None:
            plan = setup(study, self.random_state, self.time_budget)  # the first run's, which made the folds
        prepared = self._prepare(X, y, collect_components(pm), per_row, **plan)
        if study is not None:
            check_fingerprint(study, fingerprint(prepared))
            if self.shared_dir is not None:
                share(study, self.shared_dir, X, y, per_row, self._fit_args(), prepared)
        if bar is not None:
            bar.metric = prepared.problem.metric.name
        settings = self._settings(n_workers, bar, study, plan["random_state"])
        outcome = search_and_refit(prepared, budget, pool, settings, pm.hook)
        self._set_fitted(X, prepared, outcome)
        self.fit_seconds_ = budget.elapsed()
        if bar is not None and outcome.best is not None:
            bar.finished(outcome.best.model, self.best_score_)
        logger.info(
            "done in %.1fs: %d trials, best %s %s %.5g",
            *(budget.elapsed(), len(outcome.results), outcome.best.model if outcome.best else "baseline"),
            *(self.metric_, self.best_score_),
        )
        notify(pm.hook.automl_fit_finished, automl=self)

    def _prepare(
        self,
        X: Any,
        y: Any,
        components: Components,
        per_row: dict[str, Any],
        random_state: int | None,
        time_budget: float | None,
    ) -> Prepared:
        args = self._fit_args()
        return prepare(X, y, components, **args, time_budget=time_budget, random_state=random_state, **per_row)

    def _fit_args(self) -> dict[str, Any]:
        """The arguments of ``prepare`` that come from the parameters (an ``automl worker`` repeats them)."""
        return {
            "task": self._task_arg(),
            "metric": self.metric,
            "cv": self.cv,
            "include": self.include,
            "exclude": self.exclude,
            "column_kinds": self.column_kinds,
            "measure_latency": self.infer_limit is not None,
        }

    def _settings(
        self, n_workers: int, bar: ProgressBar | None, study: Any, random_state: int | None
    ) -> SearchSettings:
        # the sampler's seed is drawn from random_state, so it differs from the folds' seed
        seed = None if random_state is None else int(np.random.RandomState(random_state).randint(2**31 - 1))
        return SearchSettings(
            n_workers=n_workers,
            max_trials=self.max_trials,
            seed=seed,
            ensemble=self.ensemble,
            infer_limit=self.infer_limit,
            progress=bar,
            study=study,
        )

    def _set_fitted(self, X: Any, prepared: Prepared, outcome: Outcome) -> None:
        for attr in ("classes_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        problem = prepared.problem
        self.task_ = problem.task
        self.metric_ = problem.metric.name
        self._metric = problem.metric
        self.cv_ = prepared.cv
        self.n_features_in_ = problem.X.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(problem.X.columns, dtype=object)
        if problem.classes is not None:
            self.classes_ = problem.classes
        self.trials_ = list(outcome.results)
        self.leaderboard_ = leaderboard_frame(outcome.results, problem.metric)
        self.best_config_ = outcome.config
        self.best_score_ = outcome.best.mean if outcome.best is not None else float("nan")
        self.best_pipeline_ = outcome.pipeline
        self.threshold_ = outcome.threshold
        self.data_profile_ = {
            "table": profile_table(problem.X, prepared.schema),
            "predictions": prediction_profile(
                outcome.best.oof if outcome.best is not None else None, problem.task, problem.classes, outcome.threshold
            ),
        }
        self._train = (problem.X, problem.y)  # for explain(); never pickled (__getstate__)
        self._row_info = prepared.rows  # their weights, groups and time, for explain's held-out rows
        self._explained = None
        self._shap_sample = None  # the SHAP values plot.shap() draws for rows of the training table
        self.oof_ = compact_oof(outcome.best.oof if outcome.best is not None else None, problem.y_codes)

    # -- prediction -----------------------------------------------------------------
    def _check_X(self, X: Any) -> Any:
        check_is_fitted(self, "best_pipeline_")
        if not isinstance(X, pd.DataFrame):
            width = as_frame(X).shape[1]
            if width != self.n_features_in_:
                raise DataError(
                    f"X has {width} features, but {type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input; pass a table with the training columns"
                )
        return X

    def _lean(self) -> LeanPipeline:
        """``best_pipeline_`` predicting in lean form where that gives its own output (found once per pipeline).

        Kept beside the pipeline, not in the estimator: predicting leaves the
        estimator's attributes as they were, and nothing extra is pickled.
        """
        lean = _LEAN.get(self)
        if lean is None or lean.pipeline is not self.best_pipeline_:
            lean = _LEAN[self] = LeanPipeline(self.best_pipeline_)
        return lean

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels or values with ``best_pipeline_``."""
        X = self._check_X(X)
        return self._lean().predict(X)

    def _has_proba(self) -> bool:
        return self._task_arg() != "regression" and getattr(self, "task_", None) != "regression"

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        X = self._check_X(X)
        return predictions(self._lean(), X, self.task_, self.classes_)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Score on ``X, y`` with the fit's metric, where greater is better.

        Losses are negated (like scikit-learn's ``neg_*`` scorers), so ``rmse``
        is returned as ``-rmse``.

        Parameters
        ----------
        X : DataFrame or array-like
            Rows to predict, with the training columns.
        y : Series or array-like
            True targets.
        sample_weight : array-like of shape (n_samples,), optional
            Weight of each row in the metric.
        """
        self._check_X(X)
        return self._score_pipeline(self.best_pipeline_, X, y, sample_weight)

    def _score_pipeline(self, pipeline: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
        """The fit's metric (greater is better) of ``pipeline``, a final model or a copy of it, on ``X, y``."""
        Xf = as_frame(X)
        codes = known_target(check_y(y, len(Xf)), getattr(self, "classes_", None))
        weights = None if sample_weight is None else check_sample_weight(sample_weight, len(Xf))
        if self.task_ == "regression":
            pred = np.asarray(pipeline.predict(X), dtype=float)
        else:
            pred = predictions(pipeline, X, self.task_, self.classes_)
            if self.threshold_ is not None:
                # label metrics see the tuned decision, as predict() makes it
                labels = np.searchsorted(self.classes_, np.asarray(pipeline.predict(X)))
                pred = np.eye(len(self.classes_))[labels]
        metric = getattr(self, "_metric", None)
        if metric is None:
            raise ValueError(
                f"the metric {self.metric_!r} of this model is not available here: install the plugin that "
                "registers it, or load the model with plugins=[...]"
            )
        value = metric.score(codes, pred, getattr(self, "classes_", None), Xf, sample_weight=weights)
        return metric.objective(value)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(super().__getstate__())  # a copy: object.__getstate__ may return __dict__ itself
        state.pop("_train", None)  # the training table stays in the process that ran fit
        state.pop("_row_info", None)
        state.pop("_explained", None)
        state.pop("_shap_sample", None)
        return state

    def save(self, path: Any, *, format: str = "skops") -> None:
        """Write the fitted model and its metadata to one file; :func:`automl.load` reads it back.

        Parameters
        ----------
        path : str or path-like
            The file to write (replaced atomically if it exists).
        format : {"skops", "joblib"}
            ``"skops"`` (the default) is safe to load from anyone: loading runs no
            code from the file and accepts only known types. ``"joblib"`` is a
            pickle: load such a file only if you made it.

        See Also
        --------
        automl.load, automl.deploy.persist.save
        """
        from automl.deploy.persist import save

        save(self, path, format=format)

    def to_onnx(self, path: Any, X_sample: Any = None, *, atol: float = 1e-3) -> Any:
        """Export the final model to one ONNX file and check it against this model with ONNX Runtime.

        Parameters
        ----------
        path : str or path-like
            The ONNX file to write. Its inputs are the training columns by name
            (float for numbers, string for categories).
        X_sample : DataFrame, optional
            Rows to check parity on. Default: 1,000 rows drawn from the training
            profile (:func:`automl.data.profile.sample_rows`).
        atol : float
            Largest absolute difference allowed between this model's and ONNX
            Runtime's probabilities (or predictions); labels must be identical.

        Returns
        -------
        ParityReport
            What the check compared and found.

        Raises
        ------
        OnnxParityError
            When ONNX Runtime disagrees with this model beyond ``atol``.
        ValueError
            When a component has no ONNX converter (the message names it).
        """
        from automl.deploy.onnx import export

        check_is_fitted(self, "best_pipeline_")
        return export(self, path, X_sample, atol=atol)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


class AutoMLClassifier(ClassifierMixin, AutoML):
    """:class:`AutoML` for classification (binary or multiclass, inferred from y).

    Parameters are those of :class:`AutoML` without ``task``.
    """

    def __init__(
        self,
        metric: Any = "auto",
        time_budget: float | None = 60.0,
        max_trials: int | None = None,
        cv: Any = "auto",
        n_jobs: int = -1,
        random_state: int | None = None,
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        plugins: Sequence[Any] | None = None,
        verbose: int = 1,
        memory_limit: Any = "auto",
        ensemble: bool = True,
        infer_limit: float | None = None,
        column_kinds: Mapping[str, str] | None = None,
        storage: Any = None,
        study_name: str | None = None,
        shared_dir: Any = None,
    ) -> None:
        self.metric = metric
        self.time_budget = time_budget
        self.max_trials = max_trials
        self.cv = cv
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.include = include
        self.exclude = exclude
        self.plugins = plugins
        self.verbose = verbose
        self.memory_limit = memory_limit
        self.ensemble = ensemble
        self.infer_limit = infer_limit
        self.column_kinds = column_kinds
        self.storage = storage
        self.study_name = study_name
        self.shared_dir = shared_dir

    def _task_arg(self) -> str:
        return "classification"

    score = AutoML.score


class AutoMLRegressor(RegressorMixin, AutoML):
    """:class:`AutoML` for regression.

    Parameters are those of :class:`AutoML` without ``task``.
    """

    __init__ = AutoMLClassifier.__init__

    def _task_arg(self) -> str:
        return "regression"

    score = AutoML.score


__all__ = ["AutoML", "AutoMLClassifier", "AutoMLRegressor"]
