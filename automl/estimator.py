"""``AutoML``: the estimator users call."""

from __future__ import annotations

import contextlib
import logging
import math
import numbers
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.pipeline import Pipeline
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from automl.budget import Budget
from automl.context import TASKS, Context, SearchContext
from automl.data.target import check_y, class_labels, drop_missing_target, infer_task
from automl.evaluation.cross_validation import Problem, predictions
from automl.evaluation.folds import make_splits
from automl.evaluation.metrics import Metric, resolve_metric
from automl.evaluation.sampling import subsample_holdout
from automl.evaluation.thresholds import needs_threshold, tune_threshold, with_threshold
from automl.exceptions import DataError, DataWarning, SearchFailedError
from automl.pipeline.build import PipelineBuilder
from automl.pipeline.cleaning import infinite_columns, infinite_message
from automl.pipeline.schema import as_frame, infer_schema
from automl.registry import Components, collect_components, get_plugin_manager
from automl.search.baseline import quick_baseline
from automl.search.finalize import Final, finalize
from automl.search.leaderboard import leaderboard_frame, sort_results
from automl.search.loop import Search
from automl.search.space import SearchSpace, by_kind
from automl.search.trial import TrialConfig, TrialResult
from automl.workers.pool import WorkerPool, shared_pool

logger = logging.getLogger("automl")


@contextlib.contextmanager
def _verbosity(verbose: int) -> Iterator[None]:
    """Set the library's log level for one fit; add a stderr handler if nobody listens."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    old = logger.level
    logger.setLevel(level)
    handler = None
    if verbose > 0 and not logging.getLogger().hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[automl] %(message)s"))
        logger.addHandler(handler)
    optuna_logger = logging.getLogger("optuna")
    optuna_old = optuna_logger.level
    optuna_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(old)
        optuna_logger.setLevel(optuna_old)
        if handler is not None:
            logger.removeHandler(handler)


def _n_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _memory_total() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 0


class AutoML(BaseEstimator):
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
    cv : "auto", int, float, "holdout" or a scikit-learn splitter
        How pipelines are evaluated (see :func:`automl.splitting.make_splits`).
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
        if not isinstance(self.verbose, numbers.Integral):
            raise ValueError(f"verbose={self.verbose!r} must be an integer")
        allowed = ("auto", "classification", *TASKS)
        if self._task_arg() not in allowed:
            raise ValueError(f"task={self._task_arg()!r} must be one of {list(allowed)}")
        for arg in ("include", "exclude"):
            value = getattr(self, arg)
            if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
                raise ValueError(f"{arg}={value!r} must be a list of model names, e.g. ['lightgbm']")

    def _n_jobs(self) -> int:
        cpus = _n_cpus()
        n = self.n_jobs if self.n_jobs > 0 else cpus + 1 + self.n_jobs
        return max(1, min(int(n), cpus))

    def _memory_limit(self, n_workers: int) -> int:
        ml = self.memory_limit
        if ml is None:
            return 0
        if isinstance(ml, str) and ml == "auto":
            total = _memory_total()
            return int(max(2 << 30, 0.8 * total / (n_workers + 1))) if total else 0
        if not isinstance(ml, numbers.Integral) or isinstance(ml, bool) or ml <= 0:
            raise ValueError(f"memory_limit={ml!r} must be 'auto', None or a positive number of bytes")
        return int(ml)

    # -- fit ------------------------------------------------------------------------
    def _task_arg(self) -> str:
        return self.task

    def _resolve_task(self, y: pd.Series) -> str:
        task = self._task_arg()
        if task in TASKS:
            return task
        guess = infer_task(y)
        if task == "classification" and guess == "regression":
            # many distinct numbers: classes if they are whole numbers; otherwise
            # _prepare_target refuses them and suggests a regression
            guess = "binary" if y.nunique() <= 2 else "multiclass"
        return guess

    def _prepare_target(self, y: pd.Series, task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        if task == "regression":
            try:
                values = pd.to_numeric(y, errors="raise").to_numpy(dtype=float)
            except (ValueError, TypeError) as exc:
                raise DataError(
                    f"y holds non-numeric values ({exc}); a regression target must be numbers: convert it, "
                    "or use AutoMLClassifier for class labels"
                ) from exc
            if not np.all(np.isfinite(values)):
                raise DataError("y holds infinite values; replace or drop them")
            return values, values, None
        values = class_labels(y)
        try:
            classes, codes = np.unique(values, return_inverse=True)
        except TypeError as exc:
            kinds = sorted({type(v).__name__ for v in values})
            raise DataError(f"y mixes value types {kinds}; give every class label the same type") from exc
        if len(classes) < 2:
            raise DataError(
                f"y has only one class ({getattr(classes[0], 'item', lambda: classes[0])()!r} on every row); "
                "classification needs at least two: "
                "pass rows of another class, or use task='regression' for a numeric target"
            )
        if task == "binary" and len(classes) > 2:
            raise DataError(f"task='binary' but y has {len(classes)} classes; use task='multiclass'")
        return values, codes.astype(np.int64), classes

    def _candidates(self, comps: Components, task: str) -> list[Any]:
        names = [m.name for m in comps.models.values() if task in m.tasks]
        for arg in ("include", "exclude"):
            value = getattr(self, arg)
            unknown = [v for v in (value or []) if v not in comps.models]
            if unknown:
                raise ValueError(f"{arg} names unknown model(s) {unknown}; available: {sorted(comps.models)}")
        if self.include is not None:
            wrong_task = [v for v in self.include if task not in comps.models[v].tasks]
            if wrong_task:
                raise ValueError(f"include names model(s) {wrong_task} that do not support a {task} task")
            names = [n for n in names if n in self.include]
        if self.exclude is not None:
            names = [n for n in names if n not in self.exclude]
        if not names:
            raise ValueError(f"no model is left for a {task} task after include/exclude")
        return [comps.models[n] for n in names]

    def fit(self, X: Any, y: Any) -> AutoML:
        """Search pipelines for ``X`` and ``y`` and refit the best on all rows.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Training table; numeric, string, categorical, boolean and datetime columns.
        y : Series or array-like of shape (n_samples,)
            Target: class labels or numbers. Rows with a missing target are dropped.

        Returns
        -------
        self : AutoML
        """
        budget = Budget(self.time_budget)
        self._check_params()
        n_workers = self._n_jobs()
        memory_limit = self._memory_limit(n_workers)
        pool = shared_pool(memory_limit)
        private = not pool.lock.acquire(blocking=False)
        if private:  # another fit in this process holds the shared pool
            pool = WorkerPool(memory_limit)
        try:
            pool.ensure(n_workers + 1)  # start booting now, while the data is checked
            with _verbosity(self.verbose):
                self._fit(X, y, budget, pool, n_workers)
        finally:
            if private:
                pool.close()
            else:
                pool.shrink(n_workers + 1)
                pool.lock.release()
        return self

    def _fit(self, X: Any, y: Any, budget: Budget, pool: WorkerPool, n_workers: int) -> None:
        Xf = as_frame(X)
        if len(Xf) == 0:
            raise DataError("X has 0 samples; pass a table with rows")
        ys = check_y(y, len(Xf))
        X_all = Xf
        Xf, ys = drop_missing_target(Xf, ys)
        if len(Xf) < 2:
            raise DataError(
                f"X has {len(Xf)} sample(s) with a target; pass at least 2 rows with a target to evaluate a model"
            )
        pm = get_plugin_manager(self.plugins or ())
        comps = collect_components(pm)
        task = self._resolve_task(ys)
        y_values, y_codes, classes = self._prepare_target(ys, task)
        metric = resolve_metric(self.metric, task, comps.metrics)
        # the kind of every column is decided on all rows, those without a target too: X itself can be predicted
        schema = infer_schema(X_all)
        infinite = infinite_columns(Xf, [c for c in schema.kept if c.kind == "numeric"])
        if infinite:  # the pipelines' TableCleaner treats them as missing
            warnings.warn(infinite_message(infinite), DataWarning, stacklevel=3)
        seed = (
            self.random_state
            if self.random_state is None
            else int(np.random.RandomState(self.random_state).randint(2**31 - 1))
        )
        splits, cv_desc = make_splits(
            self.cv, y_codes, task, self.random_state, n_columns=Xf.shape[1], time_budget=self.time_budget
        )
        if isinstance(self.cv, str) and self.cv == "auto":  # a large table: trials train on a sample
            splits, sampled = subsample_holdout(
                splits, y_codes, task, len(schema.kept), self.time_budget, self.random_state
            )
            cv_desc += f", {sampled}" if sampled else ""
        models = self._candidates(comps, task)
        kinds = schema.prepared_kinds
        n_fold_rows = int(np.mean([len(tr) for tr, _ in splits]))
        ctx = Context(
            task=task,
            n_rows=n_fold_rows,
            n_features=len(schema.kept),
            n_numeric=len(schema.names("numeric")) + len(schema.names("datetime")),
            n_categorical=len(schema.names("categorical")),
            n_classes=0 if classes is None else len(classes),
            random_state=self.random_state,
        )
        space = SearchSpace(models, by_kind(comps.preprocessors, kinds), kinds, ctx)
        builder = PipelineBuilder(comps.models, comps.preprocessors, schema, ctx, n_rows_all=len(Xf))
        problem = Problem(X=Xf, y=y_values, y_codes=y_codes, classes=classes, splits=splits, metric=metric, task=task)
        logger.info(
            "%s task, %d rows x %d columns, metric %s, %s, %d models, budget %s",
            task,
            len(Xf),
            Xf.shape[1],
            metric.name,
            cv_desc,
            len(space.models),
            "none" if self.time_budget is None else f"{self.time_budget:g}s",
        )
        _notify(
            pm.hook.automl_search_started,
            context=SearchContext(
                context=ctx,
                metric=metric.name,
                models=space.model_names,
                cv=cv_desc,
                time_budget=math.inf if self.time_budget is None else float(self.time_budget),
            ),
        )

        observers = bool(pm.hook.automl_trial_finished.get_hookimpls())
        best: list[float] = []

        def on_result(result: TrialResult) -> None:
            if result.status == "ok":
                score = metric.objective(result.mean)
                if not best or score > best[0]:
                    best[:] = [score]
                    logger.info(
                        "trial %d: %s %s %.5g ± %.3g (%.1fs)",
                        result.number,
                        result.model,
                        metric.name,
                        result.mean,
                        result.std,
                        budget.elapsed(),
                    )
                else:
                    logger.debug("trial %d: %s %s %.5g", result.number, result.model, metric.name, result.mean)
            else:
                logger.debug("trial %d: %s %s: %s", result.number, result.model, result.status, result.error)
            if observers:
                _notify(
                    pm.hook.automl_trial_finished, result=result, leaderboard=leaderboard_frame(search.results, metric)
                )

        search = Search(
            space,
            builder.build,
            problem,
            budget,
            pool,
            n_workers,
            self.max_trials,
            seed,
            on_result,
            build_full=lambda c, t: builder.build(c, t, final=True),
            ensemble=self.ensemble,
        )
        try:
            results = search.run()
            ranked = [r for r in sort_results(results, metric) if r.status == "ok"]
            if search.interrupted:
                if not ranked:
                    raise KeyboardInterrupt("fit interrupted before any trial finished")
                warnings.warn(
                    f"fit interrupted: using the best of the {len(ranked)} pipelines that finished",
                    RuntimeWarning,
                    stacklevel=3,
                )
            if not ranked and results and all(r.status == "failed" for r in results):
                first = "\n".join(f"  trial {r.number} ({r.model}): {r.error}" for r in results[:5])
                raise SearchFailedError(f"all {len(results)} trials failed; the first failures:\n{first}")
            try:
                final = finalize(search, ranked, search.build_full, n_workers, self.ensemble)
            except KeyboardInterrupt:
                # stopped again during the refit: a pipeline refit during the search, if any
                refit = [r for r in ranked if r.number in search.prefit]
                if not refit:
                    raise
                final = Final(search.prefit[refit[0].number], refit[0].config, refit[0])
                warnings.warn(
                    f"fit interrupted during the final refit: using trial {refit[0].number} ({refit[0].model}), "
                    "refit during the search",
                    RuntimeWarning,
                    stacklevel=3,
                )
        finally:
            search.cleanup()
        self.threshold_ = None
        if final is None:
            pipeline, what = quick_baseline(builder, Xf, y_values, y_codes, self.random_state)
            warnings.warn(
                f"no pipeline finished within the time budget of {self.time_budget}s; best_pipeline_ is {what}. "
                "Give a larger time_budget.",
                RuntimeWarning,
                stacklevel=3,
            )
            best_config, best_result = None, None
        else:
            pipeline, best_config, best_result = final.pipeline, final.config, final.result
            if best_result is not None and best_result.members:
                results = [*results, best_result]
            if needs_threshold(metric, task) and best_result is not None and best_result.oof is not None:
                threshold, tuned = tune_threshold(best_result.oof, y_codes, metric)
                if metric.objective(tuned) > metric.objective(metric.score(y_codes, best_result.oof, classes)):
                    pipeline = with_threshold(pipeline, threshold, Xf, y_values)
                    self.threshold_ = threshold
                    logger.info("decision threshold %.3g: %s %.5g out of fold", threshold, metric.name, tuned)
        self._set_fitted(X, Xf, task, metric, classes, results, pipeline, best_config, best_result, cv_desc)
        logger.info(
            "done in %.1fs: %d trials, best %s %s %.5g",
            budget.elapsed(),
            len(results),
            best_result.model if best_result else "baseline",
            metric.name,
            self.best_score_,
        )
        _notify(pm.hook.automl_fit_finished, automl=self)

    def _set_fitted(
        self,
        X: Any,
        Xf: pd.DataFrame,
        task: str,
        metric: Metric,
        classes: np.ndarray | None,
        results: list[TrialResult],
        pipeline: Pipeline,
        best_config: TrialConfig | None,
        best_result: TrialResult | None,
        cv_desc: str,
    ) -> None:
        for attr in ("classes_", "feature_names_in_"):
            if hasattr(self, attr):
                delattr(self, attr)
        self.task_ = task
        self.metric_ = metric.name
        self._metric = metric
        self.cv_ = cv_desc
        self.n_features_in_ = Xf.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(Xf.columns, dtype=object)
        if classes is not None:
            self.classes_ = classes
        self.trials_ = list(results)
        self.leaderboard_ = leaderboard_frame(results, metric)
        self.best_config_ = best_config
        self.best_score_ = best_result.mean if best_result is not None else float("nan")
        self.best_pipeline_ = pipeline

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

    def predict(self, X: Any) -> np.ndarray:
        """Predict class labels or values with ``best_pipeline_``."""
        X = self._check_X(X)
        return self.best_pipeline_.predict(X)

    def _has_proba(self) -> bool:
        return self._task_arg() != "regression" and getattr(self, "task_", None) != "regression"

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        X = self._check_X(X)
        return predictions(self.best_pipeline_, X, self.task_, self.classes_)

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
        Xf = as_frame(X)
        ys = check_y(y, len(Xf))
        weights = None
        if sample_weight is not None:
            weights = np.asarray(sample_weight, dtype=float)
            if weights.shape != (len(Xf),):
                raise DataError(
                    f"sample_weight has shape {weights.shape} but X has {len(Xf)} rows; pass one weight per row"
                )
            if not np.all(np.isfinite(weights)) or (weights < 0).any():
                raise DataError("sample_weight holds negative, NaN or infinite values; pass weights >= 0")
        if self.task_ == "regression":
            codes = pd.to_numeric(ys).to_numpy(dtype=float)
            pred = np.asarray(self.best_pipeline_.predict(X), dtype=float)
        else:
            values = np.asarray(ys.to_numpy(), dtype=self.classes_.dtype)
            pos = np.searchsorted(self.classes_, values)
            pos = np.clip(pos, 0, len(self.classes_) - 1)
            if not np.array_equal(self.classes_[pos], values):
                unknown = sorted({str(v) for v in values[self.classes_[pos] != values]})[:5]
                raise DataError(
                    f"y holds classes {unknown} not seen in training (classes_ is {self.classes_.tolist()[:20]}); "
                    "score on rows of the training classes"
                )
            codes = pos
            pred = predictions(self.best_pipeline_, X, self.task_, self.classes_)
            if self.threshold_ is not None:
                # label metrics see the tuned decision, as predict() makes it
                labels = np.searchsorted(self.classes_, np.asarray(self.best_pipeline_.predict(X)))
                pred = np.eye(len(self.classes_))[labels]
        value = self._metric.score(codes, pred, getattr(self, "classes_", None), Xf, sample_weight=weights)
        return self._metric.objective(value)

    def __sklearn_tags__(self):  # noqa: D105
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags


def _notify(hook: Any, **kwargs: Any) -> None:
    """Call an observer hook; an observer's exception becomes a warning."""
    for impl in hook.get_hookimpls():
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:
            warnings.warn(
                f"automl observer {impl.plugin_name!r} failed in {hook.name}: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )


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
