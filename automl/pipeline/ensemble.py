"""The estimators that average fitted pipelines: the final model when the search chooses an ensemble."""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from automl.lean import FEW_ROWS
from automl.pipeline.build import fit_weighted
from automl.pipeline.columns import branches, stack
from automl.pipeline.lean_predict import LeanMember, checked, lean_member
from automl.pipeline.side_by_side import Job, SideBySide, outcome

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Stage:
    """One transform step of a member, keyed by its fitted state and every step before it."""

    key: tuple[int, ...]
    step: Any
    #: a ColumnTransformer's branches, each keyed the same way, to run and share one by one
    branches: list[tuple[tuple[int, ...], Any, list[str]]] | None = None


def _plan(members: Sequence[Any]) -> list[tuple[list[_Stage], Any]]:
    """For each member: its transform stages and its model.

    Two members get the same key for a stage (or a ColumnTransformer branch)
    when it and every step before it pickle to the same bytes: the same state,
    so the same output. A member that is not a Pipeline has no stages.
    """
    seen: dict[Any, int] = {}

    def key_of(prefix: tuple[int, ...], obj: Any) -> tuple[int, ...]:
        return (*prefix, seen.setdefault(obj, len(seen)))

    plan = []
    for member in members:
        stages: list[_Stage] = []
        if isinstance(member, Pipeline):
            key: tuple[int, ...] = ()
            for _, step in member.steps[:-1]:
                if step is None or (isinstance(step, str) and step == "passthrough"):
                    continue
                parts = branches(step) if isinstance(step, ColumnTransformer) else None
                shared = None
                if parts is not None:
                    shared = [(key_of(key, (pickle.dumps(t, protocol=5), tuple(c))), t, c) for _, t, c in parts]
                key = key_of(key, pickle.dumps(step, protocol=5))
                stages.append(_Stage(key, step, shared))
            member = member.steps[-1][1]
        plan.append((stages, member))
    return plan


class _Ensemble(BaseEstimator):
    def __init__(self, estimators: Sequence[tuple[str, Any]], weights: Sequence[float]) -> None:
        self.estimators = estimators
        self.weights = weights

    def _check(self) -> None:
        if len(self.estimators) != len(self.weights) or not self.estimators:
            raise ValueError("an ensemble needs one weight per estimator and at least one estimator")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> _Ensemble:
        """Fit a clone of every member on X, y (weighted: a pipeline member's model gets ``sample_weight``)."""
        self._check()
        self.estimators_ = [fit_weighted(clone(est), X, y, sample_weight) for _, est in self.estimators]
        self._fitted(y)
        return self

    def _fitted(self, y: Any) -> None:
        first = self.estimators_[0]
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        if hasattr(first, "feature_names_in_"):
            self.feature_names_in_ = first.feature_names_in_

    def _plan(self) -> list[tuple[list[_Stage], Any]]:
        plan = self.__dict__.get("_plan_cache")
        if plan is None:
            plan = self.__dict__["_plan_cache"] = _plan(self.estimators_)
        return plan

    def _member_inputs(self, X: Any) -> Iterator[tuple[Any, Any]]:
        """Each member's model with its input: X through the member's steps, each distinct step run once.

        Members refit on the same rows share their cleaning, and often their
        encoding; running those once gives each member the very table its own
        pipeline would have built.
        """
        done: dict[tuple[int, ...], Any] = {}
        for i in range(len(self.estimators_)):
            yield self._member_input(i, X, done)

    def _member_input(self, i: int, X: Any, done: dict[tuple[int, ...], Any]) -> tuple[Any, Any]:
        """Member ``i``'s model and its input, reusing (and adding to) the steps' outputs in ``done``."""
        stages, model = self._plan()[i]
        Xt = X
        for stage in stages:
            if stage.key not in done:
                done[stage.key] = self._run(stage, Xt, done)
            Xt = done[stage.key]
        return model, Xt

    def _member_outputs(self, X: Any, method: str) -> list[np.ndarray]:
        """Each member's ``method`` on X: in lean form where the member has one, otherwise through its steps.

        The lean forms (:mod:`automl.pipeline.lean_predict`) are found on the
        first call and checked against the members' own output on it: a member
        whose lean output differs in any element keeps its own path.
        """
        lean = self.__dict__.setdefault("_lean_cache", {}).get(method)
        if lean is None:
            return self._first_outputs(X, method)
        done: dict[Any, Any] = {}
        jobs: list[Job | None] = []
        for i, member in enumerate(lean):
            job = None
            if member is not None:
                try:
                    job = (member.predict, member.inputs(X, done))
                except Exception:  # noqa: BLE001  (the member's own path gives its own error, or the answer)
                    logger.debug("lean input of member %d failed; running its pipeline", i, exc_info=True)
            jobs.append(job)
        if _num_rows(X) <= FEW_ROWS:  # a few rows: the heavy members' models side by side
            outcomes = self.__dict__.setdefault("_side_by_side", SideBySide(len(lean))).run(jobs)
        else:  # many: each model already splits the rows between the cores
            outcomes = [None if job is None else outcome(*job) for job in jobs]
        own: dict[tuple[int, ...], Any] = {}
        outs = []
        for i, result in enumerate(outcomes):
            if result is not None and result[0]:
                outs.append(result[1])
                continue
            if result is not None:
                logger.debug("lean form of member %d failed; running its pipeline", i, exc_info=result[1])
            model, Xt = self._member_input(i, X, own)
            outs.append(getattr(model, method)(Xt))
        return outs

    @staticmethod
    def _run(stage: _Stage, X: Any, done: dict[tuple[int, ...], Any]) -> Any:
        """The output of one stage on X, running only the branches no other member has run."""
        if stage.branches is None or not isinstance(X, pd.DataFrame):
            return stage.step.transform(X)
        for key, trans, columns in stage.branches:
            if key not in done:
                done[key] = trans.transform(X[columns])
        return stack(stage.step, [done[key] for key, _, _ in stage.branches], X)

    def _first_outputs(self, X: Any, method: str) -> list[np.ndarray]:
        """The members' own outputs, and the lean forms that give the same (kept for the next calls)."""
        outs = [getattr(model, method)(Xt) for model, Xt in self._member_inputs(X)]
        lean: list[LeanMember | None] = []
        done: dict[Any, Any] = {}
        for i, ((stages, _), member) in enumerate(zip(self._plan(), self.estimators_, strict=True)):
            found = None
            if len(stages) == 2 and stages[1].branches is not None:
                keys = [("lean", key) for key, _, _ in stages[1].branches]
                found = lean_member(member, method, ("lean", stages[0].key), keys)
            found = checked(found, X, outs[i], done)
            lean.append(found)
        self.__dict__["_lean_cache"][method] = lean
        return outs

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_plan_cache", None)
        state.pop("_lean_cache", None)
        state.pop("_side_by_side", None)
        return state

    @classmethod
    def from_fitted(cls, estimators: Sequence[tuple[str, Any]], weights: Sequence[float]) -> _Ensemble:
        """Wrap members that are already fitted."""
        ens = cls(list(estimators), list(weights))
        ens._check()
        ens.estimators_ = [est for _, est in estimators]
        if hasattr(ens.estimators_[0], "classes_"):
            ens.classes_ = np.asarray(ens.estimators_[0].classes_)
        ens._fitted(None)
        return ens


def _num_rows(X: Any) -> int:
    """Rows of a table or an array (of a list of rows: its length)."""
    shape = getattr(X, "shape", None)
    return int(shape[0]) if shape else len(X)


class EnsembleClassifier(ClassifierMixin, _Ensemble):
    """Weighted average of the class probabilities of fitted classifiers.

    Parameters
    ----------
    estimators : list of (name, estimator)
        The members (pipelines or estimators with ``predict_proba``).
    weights : list of float
        One weight per member; they are normalised to sum to one.
    """

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> EnsembleClassifier:
        """Fit every member and record the classes."""
        super().fit(X, y, sample_weight)
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "estimators_")
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        out = None
        outputs = self._member_outputs(X, "predict_proba")
        for weight, est, p in zip(w, self.estimators_, outputs, strict=True):
            p = np.asarray(p, dtype=float)
            cols = np.searchsorted(self.classes_, np.asarray(est.classes_))
            full = np.zeros((p.shape[0], len(self.classes_)))
            full[:, cols] = p
            out = weight * full if out is None else out + weight * full
        return out

    def predict(self, X: Any) -> np.ndarray:
        """The class with the highest averaged probability."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class EnsembleRegressor(RegressorMixin, _Ensemble):
    """Weighted average of the predictions of fitted regressors.

    Parameters
    ----------
    estimators : list of (name, estimator)
        The members.
    weights : list of float
        One weight per member; they are normalised to sum to one.
    """

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean of the members' predictions."""
        check_is_fitted(self, "estimators_")
        w = np.asarray(self.weights, dtype=float)
        w = w / w.sum()
        outputs = self._member_outputs(X, "predict")
        return sum(weight * np.asarray(p, dtype=float) for weight, p in zip(w, outputs, strict=True))


__all__ = ["EnsembleClassifier", "EnsembleRegressor"]
