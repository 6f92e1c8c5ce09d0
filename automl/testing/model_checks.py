"""Conformance checks of one :class:`~automl.specs.ModelSpec`: its space, its estimator, its tags, end to end."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from automl.context import TASKS
from automl.specs import ModelSpec
from automl.testing.spaces import CheckFailure, check_default, check_space, sample
from automl.testing.tables import categorical_table, context_for, numeric_table

#: parameter names (or their endings) through which estimators take a thread count
THREAD_PARAMS = ("n_jobs", "nthread", "n_threads", "num_threads", "thread_count")


def _tasks(spec: ModelSpec) -> list[str]:
    return [t for t in TASKS if t in spec.tasks]


def _contexts(spec: ModelSpec) -> list:
    return [context_for(t, *numeric_table(t)) for t in _tasks(spec)]


def _build(spec: ModelSpec, params: dict[str, Any], ctx: Any) -> Any:
    try:
        est = spec.build(dict(params), ctx)
    except Exception as exc:
        raise CheckFailure(
            f"build({params}, ctx) raised {type(exc).__name__}: {exc} (task {ctx.task!r})",
            "build must accept every dict the space returns (and each default) and return an unfitted estimator",
        ) from None
    try:
        return clone(est)
    except Exception as exc:
        raise CheckFailure(
            f"the estimator {type(est).__name__} cannot be cloned: {type(exc).__name__}: {exc}",
            "follow scikit-learn's estimator contract: __init__ stores its arguments unchanged, "
            "get_params/set_params work (subclass sklearn.base.BaseEstimator)",
        ) from None


def _fit_predict(est: Any, X: pd.DataFrame, y: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
            pred = np.asarray(est.predict(X))
            proba = np.asarray(est.predict_proba(X)) if hasattr(est, "predict_proba") else None
    except Exception as exc:
        raise CheckFailure(
            f"fit/predict on {what} raised {type(exc).__name__}: {exc}",
            "the estimator must fit and predict on the table the engine hands it (see docs/plugins.md, Tags)",
        ) from None
    return pred, proba


def _check_outputs(est: Any, task: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> None:
    n = len(y)
    if pred.shape != (n,):
        raise CheckFailure(f"predict returned shape {pred.shape} for {n} rows", "predict must return shape (n_rows,)")
    if task == "regression":
        if not np.all(np.isfinite(pred.astype(float))):
            raise CheckFailure("predict returned NaN or infinite values", "a regressor must predict finite numbers")
        return
    classes = np.unique(y)
    if not np.array_equal(np.asarray(getattr(est, "classes_", [])), classes):
        raise CheckFailure(
            f"classes_ is {getattr(est, 'classes_', None)!r}, expected {classes!r}",
            "a classifier must set classes_ to the sorted unique labels of y (as scikit-learn's do)",
        )
    if proba is None:
        raise CheckFailure(
            "the classifier has no predict_proba", "offer predict_proba: metrics such as log_loss need it"
        )
    if proba.shape != (n, len(classes)) or not np.all(np.isfinite(proba)):
        raise CheckFailure(
            f"predict_proba returned shape {proba.shape} (expected {(n, len(classes))}) or non-finite values",
            "predict_proba must return finite probabilities, one column per class in classes_ order",
        )
    if not np.allclose(proba.sum(axis=1), 1.0, atol=1e-6) or proba.min() < -1e-9:
        raise CheckFailure(
            f"probabilities do not sum to one per row (sums from {proba.sum(axis=1).min():.4g} to "
            f"{proba.sum(axis=1).max():.4g})",
            "normalise predict_proba's rows",
        )


def check_fits(spec: ModelSpec) -> None:
    """Built from each default and a sampled configuration, the estimator fits and predicts well-formed output."""
    for task_index, task in enumerate(_tasks(spec)):
        X, y = numeric_table(task)
        ctx = context_for(task, X, y)
        configs = [dict(d) for d in spec.defaults] + [sample(spec.space, ctx, 1000 + task_index)]
        for params in configs:
            est = _build(spec, params, ctx)
            pred, proba = _fit_predict(est, X, y, f"a {task} table of numbers with params {params}")
            _check_outputs(est, task, y, pred, proba)


def _check_tag(spec: ModelSpec, tag: str, table: Callable[[str], tuple], what: str, fix: str) -> None:
    """The model fits and predicts well-formed output on the table its ``tag`` promises it can take."""
    for task in _tasks(spec):
        X, y = table(task)
        est = _build(spec, dict(spec.defaults[0]), context_for(task, X, y))
        try:
            pred, proba = _fit_predict(est, X, y, f"a {task} table with {what}")
        except CheckFailure as failure:
            raise CheckFailure(f"the spec says {tag}=True, but {failure.problem}", fix) from None
        _check_outputs(est, task, y, pred, proba)


def check_missing(spec: ModelSpec) -> None:
    """A model tagged ``handles_missing`` fits and predicts on numbers with NaN."""
    _check_tag(
        spec,
        "handles_missing",
        lambda task: numeric_table(task, missing=0.2),
        "20% NaN",
        "set handles_missing=False (the engine then imputes), or make the estimator accept NaN",
    )


def check_categorical(spec: ModelSpec) -> None:
    """A model tagged ``native_categorical`` fits and predicts on pandas ``category`` columns."""
    _check_tag(
        spec,
        "native_categorical",
        categorical_table,
        "pandas category columns",
        "set native_categorical=False (the engine then encodes categories), or handle category dtypes",
    )


def _outputs(est: Any, X: pd.DataFrame) -> np.ndarray:
    return np.asarray(est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X), dtype=float)


def check_pickle(spec: ModelSpec) -> None:
    """A fitted estimator pickles and unpickles with equal predictions."""
    task = _tasks(spec)[0]
    X, y = numeric_table(task)
    est = _build(spec, dict(spec.defaults[0]), context_for(task, X, y))
    _fit_predict(est, X, y, f"a {task} table")
    try:
        copy = pickle.loads(pickle.dumps(est))
    except Exception as exc:
        raise CheckFailure(
            f"the fitted estimator does not pickle: {type(exc).__name__}: {exc}",
            "keep no lambdas, open files, locks or live sessions in a fitted estimator's attributes",
        ) from None
    if not np.array_equal(_outputs(copy, X), _outputs(est, X), equal_nan=True):
        raise CheckFailure("the unpickled estimator predicts differently", "make the estimator's state picklable")


def check_random_state(spec: ModelSpec) -> None:
    """Two estimators built with the same ``ctx.random_state`` predict the same after fitting the same rows."""
    for i, task in enumerate(_tasks(spec)):
        X, y = numeric_table(task, seed=3)
        ctx = context_for(task, X, y, random_state=7)
        for params in [dict(spec.defaults[0])] + ([sample(spec.space, ctx, 1)] if i == 0 else []):
            first, second = _build(spec, params, ctx), _build(spec, params, ctx)
            _fit_predict(first, X, y, f"a {task} table")
            _fit_predict(second, X, y, f"a {task} table")
            X_new, _ = numeric_table(task, seed=4)  # new rows: a fully grown tree is exact on its training rows
            a, b = _outputs(first, X_new), _outputs(second, X_new)
            if not np.array_equal(a, b, equal_nan=True):
                raise CheckFailure(
                    f"two fits with ctx.random_state=7 and params {params} predict differently "
                    f"(largest difference {np.nanmax(np.abs(a - b)):.3g}, task {task!r})",
                    "pass ctx.random_state to every seed the estimator takes (random_state, seed, ...) in build",
                )


def check_threads(spec: ModelSpec) -> None:
    """No thread-count parameter of the built estimator asks for more than ``ctx.n_threads`` (or for all cores)."""
    task = _tasks(spec)[0]
    X, y = numeric_table(task)
    for n_threads in (1, 2):
        est = _build(spec, dict(spec.defaults[0]), context_for(task, X, y, n_threads=n_threads))
        params = est.get_params(deep=True)
        threads = {k: v for k, v in params.items() if k.split("__")[-1] in THREAD_PARAMS and v is not None}
        wrong = {k: v for k, v in threads.items() if not (isinstance(v, int | np.integer) and 1 <= v <= n_threads)}
        if wrong:
            raise CheckFailure(
                f"with ctx.n_threads={n_threads} the estimator has {wrong}",
                "pass ctx.n_threads to the estimator's thread parameter (n_jobs, nthread, thread_count, ...): "
                "the engine runs trials in parallel and gives each its share of the cores",
            )


def check_end_to_end(spec: ModelSpec, plugin: Any, time_budget: float) -> None:
    """``AutoML(plugins=[plugin], include=[name])`` puts the model on the leaderboard with status ok and predicts."""
    from automl.estimator import AutoML

    task = _tasks(spec)[0]
    X, y = categorical_table(task, seed=5) if spec.native_categorical else numeric_table(task, seed=5, missing=0.05)
    model = AutoML(plugins=[plugin], include=[spec.name], time_budget=time_budget, n_jobs=1, random_state=0, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
    board = model.leaderboard_
    rows = board.loc[board["model"] == spec.name]
    if not (rows["status"] == "ok").any():
        errors = "; ".join(str(e) for e in rows["error"].dropna().unique()[:3]) or "no trial of it finished"
        raise CheckFailure(
            f"AutoML(include=[{spec.name!r}], time_budget={time_budget}) has no ok trial of it: {errors}",
            "run the same fit yourself and read leaderboard_['error']; a model must fit a small table in seconds",
        )
    if len(model.predict(X)) != len(X):
        raise CheckFailure("the fitted AutoML predicted the wrong number of rows", "see leaderboard_ and the log")


def _pipeline(spec: ModelSpec, task: str, X: pd.DataFrame, y: np.ndarray) -> Any:
    """The pipeline the engine builds for the model's default on ``X``: native categories or one-hot, then the model."""
    from automl.pipeline.build import TrialConfig, build_pipeline
    from automl.pipeline.schema import infer_schema
    from automl.registry.components import collect_components
    from automl.registry.plugins import get_plugin_manager

    preprocessors = collect_components(get_plugin_manager(entry_points=False)).preprocessors
    preprocessing = {"numeric": ("passthrough" if spec.handles_missing else "impute", {})}
    preprocessing["categorical"] = ("native" if spec.native_categorical else "onehot", {})
    config = TrialConfig(spec.name, dict(spec.defaults[0]), preprocessing)
    ctx = context_for(task, X, y)
    return build_pipeline(config, {spec.name: spec}, preprocessors, infer_schema(X), ctx)


def check_lean(spec: ModelSpec) -> None:
    """Where the model's pipeline has a lean form (``lean_op``), it predicts exactly as the pipeline does."""
    from automl.pipeline.lean_predict import lean_member

    for task in _tasks(spec):
        X, y = categorical_table(task, seed=6)
        pipe = _pipeline(spec, task, X, y)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipe.fit(X, y)
        except Exception:  # noqa: BLE001  (a model that does not fit is the other checks' finding)
            return
        method = "predict" if task == "regression" else "predict_proba"
        lean = lean_member(pipe, method)
        if lean is None:
            continue
        new, _ = categorical_table(task, seed=7)
        new.loc[0, "color"] = np.nan
        for rows in (new, new.iloc[[0]], new.iloc[[1]]):
            ours, theirs = np.asarray(lean.run(rows, {})), np.asarray(getattr(pipe, method)(rows))
            if ours.shape != theirs.shape or ours.dtype != theirs.dtype or not np.array_equal(ours, theirs):
                raise CheckFailure(
                    f"the lean form of {method} gives other values than the pipeline ({task!r}, {len(rows)} rows)",
                    "lean_op(method) must return exactly what the model's own method returns on the lean arrays "
                    "(category columns arrive as their codes, see automl.lean); return None when it cannot",
                )


def model_checks(spec: ModelSpec, plugin: Any, *, seeds: int, time_budget: float | None) -> list[tuple[str, Callable]]:
    """The checks of one model spec as ``(name, function)`` pairs."""
    contexts = _contexts(spec)
    checks: list[tuple[str, Callable]] = [("space", lambda: check_space(spec.space, contexts, seeds))]
    for i, default in enumerate(spec.defaults):
        checks.append(
            (f"default{i}", lambda d=default, i=i: check_default(d, spec.space, contexts, seeds, f"default #{i}"))
        )
    checks += [
        ("fit_predict", lambda: check_fits(spec)),
        ("pickle", lambda: check_pickle(spec)),
        ("random_state", lambda: check_random_state(spec)),
        ("n_threads", lambda: check_threads(spec)),
        ("lean_form", lambda: check_lean(spec)),
    ]
    if spec.handles_missing:
        checks.append(("handles_missing", lambda: check_missing(spec)))
    if spec.native_categorical:
        checks.append(("native_categorical", lambda: check_categorical(spec)))
    if time_budget is not None:
        checks.append(("end_to_end", lambda: check_end_to_end(spec, plugin, time_budget)))
    return checks


__all__ = ["THREAD_PARAMS", "model_checks"]
