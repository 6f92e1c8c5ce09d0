"""What one trial tried and what came of it, and the one rule that ranks trials."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from automl.pipeline.build import TrialConfig

STATUSES = ("ok", "failed", "timeout", "pruned")


@dataclass
class TrialResult:
    """The outcome of one trial.

    Attributes
    ----------
    number : int
        Optuna trial number.
    config : TrialConfig or None
        The pipeline tried (None if sampling itself failed).
    status : {"ok", "failed", "timeout", "pruned"}
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
        its final refit; see :func:`automl.evaluation.learned_params`.
    needed : float or None
        For a trial stopped after a fold because it could not finish in time:
        the seconds all its folds were projected to need at its pace.
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
    needed: float | None = None

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
        return self.config.model if self.config is not None else "?"


__all__ = ["STATUSES", "TrialConfig", "TrialResult"]
