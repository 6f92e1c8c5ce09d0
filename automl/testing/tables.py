"""Tiny tables for the conformance checks: what a component sees inside a fit, in a few dozen rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from automl.context import Context

#: rows of the tables the checks fit on
N_ROWS = 90
N_NUMERIC = 4


def numeric_table(task: str, *, seed: int = 0, missing: float = 0.0) -> tuple[pd.DataFrame, np.ndarray]:
    """Numeric features (float64, NaN where missing) and a target that depends on them.

    Parameters
    ----------
    task : {"binary", "multiclass", "regression"}
        Binary targets are 0/1, multiclass 0/1/2 (every class present), regression floats.
    seed : int
        Seed of the generator.
    missing : float
        Share of feature values set to NaN.
    """
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(N_ROWS, N_NUMERIC)), columns=[f"x{i}" for i in range(N_NUMERIC)])
    signal = X["x0"].to_numpy() + 0.5 * X["x1"].to_numpy() + rng.normal(scale=0.3, size=N_ROWS)
    if missing:
        X = X.mask(rng.random(X.shape) < missing)
    return X, target(task, signal)


def categorical_table(task: str, *, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numeric columns and two pandas ``category`` columns (one with missing values)."""
    rng = np.random.default_rng(seed)
    X, _ = numeric_table(task, seed=seed)
    X = X[["x0", "x1"]].copy()
    X["color"] = pd.Categorical(rng.choice(["red", "green", "blue"], size=N_ROWS))
    X["size"] = pd.Categorical(np.where(rng.random(N_ROWS) < 0.1, None, rng.choice(["S", "M", "L"], size=N_ROWS)))
    signal = X["x0"].to_numpy() + (X["color"] == "red").to_numpy() + rng.normal(scale=0.3, size=N_ROWS)
    return X, target(task, signal)


def column_table(kind: str, *, seed: int = 0, unseen: bool = False) -> pd.DataFrame:
    """Columns of one kind as preprocessors receive them: numeric float64, categorical or text object, NaN missing."""
    rng = np.random.default_rng(seed)
    if kind == "numeric":
        values = rng.normal(size=(N_ROWS, 3))
        values[rng.random(values.shape) < 0.1] = np.nan
        return pd.DataFrame(values, columns=["a", "b", "c"])
    if kind == "text":
        words = np.array("the a quick slow red green fox dog jumps sleeps over under lazy happy".split())
        if unseen:
            words = np.append(words, ["zebra", "quantum"])
        data = {}
        for name in ("a", "b"):
            column = np.array([" ".join(rng.choice(words, size=rng.integers(3, 9))) for _ in range(N_ROWS)], object)
            column[rng.random(N_ROWS) < 0.1] = np.nan
            data[name] = column
        return pd.DataFrame(data)
    levels = ["red", "green", "blue", "unseen"] if unseen else ["red", "green", "blue"]
    data = {}
    for name in ("a", "b"):
        column = rng.choice(levels, size=N_ROWS).astype(object)
        column[rng.random(N_ROWS) < 0.1] = np.nan
        data[name] = column
    return pd.DataFrame(data)


def target(task: str, signal: np.ndarray) -> np.ndarray:
    """A target of ``task`` from a continuous signal: classes by quantiles (all present), or the signal itself."""
    if task == "regression":
        return 3.0 * signal + 1.0
    k = 2 if task == "binary" else 3
    edges = np.quantile(signal, np.linspace(0, 1, k + 1)[1:-1])
    return np.digitize(signal, edges)


def context_for(task: str, X: pd.DataFrame, y: np.ndarray, **changes: object) -> Context:
    """The :class:`~automl.context.Context` a component gets for this table."""
    categorical = sum(isinstance(X[c].dtype, pd.CategoricalDtype) for c in X.columns)
    ctx = Context(
        task=task,
        n_rows=len(X),
        n_features=X.shape[1],
        n_numeric=X.shape[1] - categorical,
        n_categorical=categorical,
        n_classes=0 if task == "regression" else len(np.unique(y)),
        random_state=0,
        n_threads=1,
    )
    return ctx.replace(**changes) if changes else ctx


__all__ = ["N_ROWS", "categorical_table", "column_table", "context_for", "numeric_table", "target"]
