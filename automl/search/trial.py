"""What one trial tried and what came of it, and the one rule that ranks trials."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from automl.pipeline.build import TrialConfig

if TYPE_CHECKING:
    from automl.evaluation.metrics import Metric

STATUSES = ("ok", "failed", "timeout", "pruned", "baseline")
#: how statuses rank on the leaderboard: successful trials first, failed ones last
_STATUS_ORDER = {"ok": 0, "baseline": 1, "pruned": 2, "timeout": 3, "failed": 4}


@dataclass
class TrialResult:
    """The outcome of one trial.

    Attributes
    ----------
    number : int
        Optuna trial number.
    config : TrialConfig or None
        The pipeline tried (None if sampling itself failed).
    status : {"ok", "failed", "timeout", "pruned", "baseline"}
        ``"baseline"`` marks a reference row (see ``baseline``), scored but not a trial.
    fold_scores : list of float
        Metric on each validation fold, natural units.
    fit_seconds, predict_seconds : float
        Total over the folds evaluated.
    error : str
        Why the trial failed, timed out or was pruned.
    oof : ndarray or None
        Out-of-fold predictions (probabilities or values); NaN on rows not validated.
    members : dict or None
        For an ensemble: trial number -> weight.
    duration : float
        Wall-clock seconds from start to result, including process overhead.
    learned : dict
        Parameters the model learned on the folds (median over folds), passed to
        its final refit; see :func:`automl.evaluation.cross_validation.learned_params`.
    row_seconds : float or None
        Single-row prediction latency: of the first fold's model when ``infer_limit`` is set,
        of the refit model for the final one; None when not measured.
    needed : float or None
        For a trial stopped after a fold because it could not finish in time:
        the seconds all its folds were projected to need at its pace.
    baseline : str
        For a reference row (never a candidate for the final model): what it
        is, e.g. ``"constant predictor"`` or ``"untuned default (trial 0)"``.
        Empty for trials.
    earlier : bool
        Run by an earlier ``fit`` of the same stored study, or by another
        process sharing it: read back from the storage, not run by this search.
    """

    number: int
    config: TrialConfig | None
    status: str = "ok"
    fold_scores: list[float] = field(default_factory=list)
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    error: str = ""
    oof: np.ndarray | None = None
    members: dict[str, float] | None = None
    duration: float = 0.0
    learned: dict[str, Any] = field(default_factory=dict)
    row_seconds: float | None = None
    needed: float | None = None
    baseline: str = ""
    earlier: bool = False

    @property
    def final_config(self) -> TrialConfig | None:
        """The configuration for the refit on all rows: the model's parameters and what it learned on the folds."""
        if self.config is None or not self.learned:
            return self.config
        return TrialConfig(
            model=self.config.model,
            model_params={**self.config.model_params, **self.learned},
            preprocessing=self.config.preprocessing,
        )

    @property
    def mean(self) -> float:
        """Mean fold score (NaN without scores)."""
        return float(np.mean(self.fold_scores)) if self.fold_scores else float("nan")

    @property
    def std(self) -> float:
        """Standard deviation of the fold scores (NaN without scores)."""
        return float(np.std(self.fold_scores)) if self.fold_scores else float("nan")

    @property
    def model(self) -> str:
        """The model's name."""
        if self.members:
            return "ensemble"
        if self.config is None and self.baseline:
            return "constant"
        return self.config.model if self.config is not None else "?"


def sort_results(results: Sequence[TrialResult], metric: Metric) -> list[TrialResult]:
    """Every row in leaderboard order: successful trials best first, the baselines, then pruned, timed-out, failed.

    This is the one rule that ranks trials: by status, then by the mean fold score
    in the metric's "greater is better" direction, then by trial number (the
    earlier of two equal trials ranks first).
    """

    def key(r: TrialResult) -> tuple:
        score = metric.objective(r.mean) if r.status in ("ok", "baseline") else -np.inf
        return (_STATUS_ORDER.get(r.status, 9), -score, r.number)

    return sorted(results, key=key)


def ranked(results: Sequence[TrialResult], metric: Metric) -> list[TrialResult]:
    """The successful trials, best first (see :func:`sort_results`); reference rows are not trials."""
    return [r for r in sort_results(results, metric) if r.status == "ok"]


def best_result(results: Sequence[TrialResult], metric: Metric) -> TrialResult | None:
    """The best successful trial, or None."""
    best = ranked(results, metric)
    return best[0] if best else None


__all__ = ["STATUSES", "TrialConfig", "TrialResult", "best_result", "ranked", "sort_results"]
