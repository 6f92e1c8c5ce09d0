"""Conformance checks of preprocessors and metrics."""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from automl.context import TASKS
from automl.specs import MetricSpec, PreprocessorSpec
from automl.testing.spaces import CheckFailure, check_default, check_space
from automl.testing.tables import column_table, context_for, numeric_table, target


# -- preprocessors ----------------------------------------------------------------------------------------
def _prep_contexts() -> list:
    return [context_for(t, *numeric_table(t)) for t in TASKS]


class _Passthrough:
    """What ``build`` returning ``"passthrough"`` means in a ColumnTransformer: the columns unchanged."""

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        return X

    def transform(self, X: Any) -> Any:
        return X


def _build(spec: PreprocessorSpec, ctx: Any) -> Any:
    try:
        built = spec.build(dict(spec.defaults), ctx)
        return _Passthrough() if isinstance(built, str) and built == "passthrough" else clone(built)
    except Exception as exc:
        raise CheckFailure(
            f"build({dict(spec.defaults)}, ctx) raised, or returned neither 'passthrough' nor a cloneable transformer: "
            f"{type(exc).__name__}: {exc}",
            "build must return an unfitted scikit-learn transformer (subclass BaseEstimator and TransformerMixin)",
        ) from None


def _numbers(out: Any) -> np.ndarray:
    """The numeric part of a transformer's output (category columns of a pandas output aside)."""
    if hasattr(out, "toarray"):
        out = out.toarray()
    if isinstance(out, pd.DataFrame):
        numeric = [c for c in out.columns if not isinstance(out[c].dtype, pd.CategoricalDtype)]
        return out[numeric].to_numpy(dtype=float)
    return np.asarray(out, dtype=float)


def _transform(est: Any, X: pd.DataFrame, y: np.ndarray | None, what: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return est.fit_transform(X, y) if y is not None else est.transform(X)
    except Exception as exc:
        raise CheckFailure(
            f"{'fit_transform' if y is not None else 'transform'} on {what} raised {type(exc).__name__}: {exc}",
            "a preprocessor must accept its kind of column as docs/plugins.md describes: numeric float64 with NaN, "
            "categorical object strings with NaN, and unseen categories at transform time",
        ) from None


def check_transforms(spec: PreprocessorSpec) -> None:
    """Fitted on columns of its kind with missing values, the transformer keeps the rows and outputs finite numbers."""
    for task in TASKS:
        X = column_table(spec.kind)
        _, y = numeric_table(task)
        est = _build(spec, context_for(task, X, y))
        seen = _transform(est, X, y, f"{spec.kind} columns with NaN (task {task!r})")
        new = _transform(est, column_table(spec.kind, seed=1, unseen=True), None, f"new {spec.kind} rows")
        for out, what in ((seen, "fit_transform"), (new, "transform of new rows (unseen categories)")):
            if len(out) != len(X):
                raise CheckFailure(
                    f"{what} returned {len(out)} rows for {len(X)}", "a preprocessor must keep every row, in order"
                )
            try:
                values = _numbers(out)
            except (TypeError, ValueError) as exc:
                raise CheckFailure(f"{what} returned values that are not numbers ({exc})", "output numbers") from None
            keeps_nan = "handles_missing" in spec.requires  # its models take NaN
            if np.isinf(values).any() or (np.isnan(values).any() and not keeps_nan):
                raise CheckFailure(
                    f"{what} returned NaN or infinite values",
                    "impute missing values inside the preprocessor (unless it requires handles_missing)",
                )


def check_preprocessor_pickle(spec: PreprocessorSpec) -> None:
    """A fitted transformer pickles and unpickles with equal output."""
    X = column_table(spec.kind)
    _, y = numeric_table("binary")
    est = _build(spec, context_for("binary", X, y))
    _transform(est, X, y, f"{spec.kind} columns")
    out = _numbers(est.transform(X))  # not fit_transform's output: cross-fitted encoders differ there by design
    try:
        copy = pickle.loads(pickle.dumps(est))
    except Exception as exc:
        raise CheckFailure(f"the fitted transformer does not pickle: {exc}", "keep its state picklable") from None
    if not np.array_equal(_numbers(copy.transform(X)), out, equal_nan=True):
        raise CheckFailure("the unpickled transformer transforms differently", "keep its whole state picklable")


def preprocessor_checks(spec: PreprocessorSpec, *, seeds: int) -> list[tuple[str, Callable]]:
    """The checks of one preprocessor spec as ``(name, function)`` pairs."""
    contexts = _prep_contexts()
    return [
        ("space", lambda: check_space(spec.space, contexts, seeds)),
        ("defaults", lambda: check_default(spec.defaults, spec.space, contexts, seeds, "defaults")),
        ("transform", lambda: check_transforms(spec)),
        ("pickle", lambda: check_preprocessor_pickle(spec)),
    ]


# -- metrics ----------------------------------------------------------------------------------------------
def _predictions(spec: MetricSpec, task: str, y: np.ndarray, good: bool) -> np.ndarray:
    rng = np.random.default_rng(0)
    if task == "regression":
        return y + rng.normal(scale=0.1 if good else 5.0, size=len(y))
    classes = np.unique(y)
    truth = (y.reshape(-1, 1) == classes.reshape(1, -1)).astype(float)
    noise = rng.dirichlet(np.ones(len(classes)), size=len(y))
    proba = 0.8 * truth + 0.2 * noise if good else 0.1 * truth + 0.9 * noise[:, ::-1]
    return proba if spec.needs == "proba" else classes[np.argmax(proba, axis=1)]


def check_metric(spec: MetricSpec) -> None:
    """The metric gives finite numbers and ranks good predictions above poor ones, in its declared direction."""
    for task in (t for t in TASKS if t in spec.tasks):
        signal = np.random.default_rng(1).normal(size=120)
        y = target(task, signal)
        try:
            good, poor = (float(spec.func(y, _predictions(spec, task, y, g))) for g in (True, False))
        except Exception as exc:
            raise CheckFailure(
                f"func(y_true, y_pred) raised {type(exc).__name__}: {exc} (task {task!r}, needs {spec.needs!r})",
                "func receives probabilities (n, n_classes) for needs='proba', labels for 'label', values for 'value'",
            ) from None
        if not (np.isfinite(good) and np.isfinite(poor)):
            raise CheckFailure(f"the metric returned {good} and {poor}", "return a finite float")
        if (good > poor) != spec.greater_is_better or good == poor:
            raise CheckFailure(
                f"good predictions score {good:.4g} and poor ones {poor:.4g} with greater_is_better="
                f"{spec.greater_is_better} (task {task!r})",
                "set greater_is_better to the metric's direction (False for losses and errors)",
            )


def metric_checks(spec: MetricSpec) -> list[tuple[str, Callable]]:
    """The checks of one metric spec."""
    return [("scores", lambda: check_metric(spec))]


__all__ = ["check_metric", "metric_checks", "preprocessor_checks"]
