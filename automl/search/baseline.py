"""Baselines: the reference rows of the leaderboard, and the last-resort model when no trial finished in time.

Every leaderboard shows how much the search added over two references, on
the same folds: a constant predictor (the class prior, or the mean) and the
untuned default of the cheapest model (the search's first trial). They are
rows to compare with, never candidates for the final model.

Workers need about two seconds to start on a cold machine, so a fit with a tiny
budget can end before any trial does. Rather than return a constant predictor,
the engine then fits the untuned default pipeline of the built-in linear model
on a small sample of the rows, in-process: only built-in scikit-learn code on a
bounded amount of data, so it takes a fraction of a second whatever the table.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.pipeline import Pipeline

from automl.evaluation.cross_validation import Problem
from automl.pipeline.build import PipelineBuilder, fit_weighted
from automl.pipeline.cleaning import TableCleaner
from automl.search.space import SearchSpace, by_kind
from automl.search.trial import TrialResult

logger = logging.getLogger(__name__)

#: the sample is capped at this many cells (rows x columns) so the fit stays well under a second
MAX_CELLS = 200_000
MIN_ROWS = 200
#: the model of the baseline: the built-in linear model, with its defaults
MODEL = "linear"


def _sample(n: int, width: int, y_codes: np.ndarray | None, seed: int | None) -> np.ndarray:
    rows = max(MIN_ROWS, MAX_CELLS // max(1, width))
    if n <= rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    if y_codes is None:
        return np.sort(rng.choice(n, size=rows, replace=False))
    # keep every class: a few rows of each, then a random draw
    keep = [
        rng.choice(np.flatnonzero(y_codes == c), size=min(5, int((y_codes == c).sum())), replace=False)
        for c in np.unique(y_codes)
    ]
    first = np.concatenate(keep)
    rest = rng.choice(np.setdiff1d(np.arange(n), first), size=max(0, rows - len(first)), replace=False)
    return np.sort(np.concatenate([first, rest]))


def quick_baseline(
    builder: PipelineBuilder,
    X: pd.DataFrame,
    y: np.ndarray,
    y_codes: np.ndarray,
    seed: int | None,
    weights: np.ndarray | None = None,
) -> tuple[Pipeline, str]:
    """Fit the linear model's default pipeline on a bounded sample; return it and a description.

    The pipeline is built by ``builder`` like every trial's. Falls back to a
    constant predictor if even that fails.
    """
    task = builder.context.task
    width = max(1, len(builder.schema.kept))
    idx = _sample(len(X), width, None if task == "regression" else y_codes, seed)
    try:
        kinds = builder.schema.prepared_kinds
        space = SearchSpace([builder.models[MODEL]], by_kind(builder.preprocessors, kinds), kinds, builder.context)
        pipeline = builder.build(space.default_config(MODEL), final=True, n_rows=len(idx))
        fit_weighted(pipeline, X.iloc[idx], y[idx], None if weights is None else weights[idx])
        return pipeline, f"a linear model fitted on {len(idx)} of {len(X)} rows, not evaluated"
    except Exception as exc:  # built-in code on clean data; still, never lose the fit over it
        logger.warning("the linear baseline failed (%s: %s); using a constant predictor", type(exc).__name__, exc)
    dummy = DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")
    return Pipeline([("clean", TableCleaner(builder.schema)), ("model", dummy)]).fit(X, y), "a constant predictor"


def constant_prediction(problem: Problem, train: np.ndarray, n_rows: int) -> np.ndarray:
    """The constant predictor fitted on rows ``train``: the (weighted) class shares, or the (weighted) mean."""
    w = problem.weights_of(train)
    if problem.classes is None:
        return np.full(n_rows, np.average(problem.y_codes[train].astype(float), weights=w))
    shares = np.bincount(problem.y_codes[train].astype(int), weights=w, minlength=len(problem.classes))
    return np.tile(shares / shares.sum(), (n_rows, 1))


def constant_result(problem: Problem) -> TrialResult:
    """The constant predictor scored on the folds of ``problem``, as a leaderboard row."""
    scores = []
    for train, valid in problem.splits:
        pred = constant_prediction(problem, train, len(valid))
        w = problem.weights_of(valid)
        scores.append(float(problem.metric.score(problem.y_codes[valid], pred, problem.classes, sample_weight=w)))
    what = "mean" if problem.classes is None else "class prior"
    return TrialResult(
        number=-1, config=None, status="baseline", fold_scores=scores, baseline=f"constant predictor ({what})"
    )


def reference_results(problem: Problem, results: list[TrialResult], cheapest: str) -> list[TrialResult]:
    """The leaderboard's reference rows (status ``"baseline"``): the constant predictor, and the untuned ``default``.

    The default's row repeats the scores of trial 0, the first configuration the
    search tries (:meth:`~automl.search.space.SearchSpace.starting_points`): the
    ``cheapest`` model with its first defaults, when that trial finished.

    A failing metric (e.g. AUC on a fold with one class) costs the constant row, never the fit.
    """
    out = []
    try:
        out.append(constant_result(problem))
    except Exception as exc:  # pragma: no cover - a user's metric that cannot score a constant
        logger.info("the constant baseline could not be scored: %s", exc)
    ran = next((r for r in results if r.number == 0 and r.status == "ok" and r.model == cheapest), None)
    if ran is not None:
        out.append(
            replace(ran, number=-1, status="baseline", oof=None, baseline=f"untuned default (trial {ran.number})")
        )
    return out


__all__ = ["constant_prediction", "constant_result", "quick_baseline", "reference_results"]
