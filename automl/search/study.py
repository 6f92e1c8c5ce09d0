"""The Optuna study of one search: its sampler and pruner, the configurations it tries first, what it is told."""

from __future__ import annotations

import warnings

import optuna

from automl.search.portfolio import load_portfolio
from automl.search.space import SearchSpace

#: the sampler draws at random until this many trials have finished, then TPE takes over
STARTUP_TRIALS = 8
#: pruning starts once this many trials have finished ...
PRUNE_AFTER_TRIALS = 10
#: ... and compares a trial with at least this many others at the same fold
PRUNE_MIN_TRIALS = 5


def create_study(
    space: SearchSpace, seed: int | None, prune: bool, stored: optuna.Study | None = None, enqueue: bool = True
) -> optuna.Study:
    """A study that maximises the metric's objective and first tries the known-good configurations.

    Parameters
    ----------
    space : SearchSpace
        Gives the starting points: models' defaults and the portfolio.
    seed : int or None
        Seed of the TPE sampler.
    prune : bool
        Stop a configuration whose first folds are in the worse half of the
        earlier trials' at the same fold (worth it with several folds only).
    stored : optuna.Study, optional
        A study in a storage (:func:`automl.search.storage.open_study`) to use
        instead of a new one in memory; its earlier trials guide the sampler,
        and the starting points are queued only when it has no trial yet.
    enqueue : bool
        Queue the starting points (False for a worker joining a study).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(
            seed=seed,
            multivariate=True,
            group=True,
            constant_liar=True,
            n_startup_trials=STARTUP_TRIALS,
        )
    pruner = (
        optuna.pruners.MedianPruner(
            n_startup_trials=PRUNE_AFTER_TRIALS, n_warmup_steps=0, n_min_trials=PRUNE_MIN_TRIALS
        )
        if prune
        else optuna.pruners.NopPruner()
    )
    if stored is not None:
        stored.sampler, stored.pruner = sampler, pruner
        if not enqueue or stored.get_trials(deepcopy=False):
            return stored
        study = stored
    else:
        study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    for params in space.starting_points(load_portfolio()):
        study.enqueue_trial(params, skip_if_exists=False)
    return study


def tell(study: optuna.Study, trial: optuna.trial.Trial, status: str, objective: float | None = None) -> None:
    """Tell the study how a trial ended: its objective when ``status`` is ``"ok"``, else pruned or failed."""
    # a trial of a stored study may have been marked stale by another process meanwhile
    if status == "ok":
        study.tell(trial, objective, skip_if_finished=True)
    elif status == "pruned":
        study.tell(trial, state=optuna.trial.TrialState.PRUNED, skip_if_finished=True)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


__all__ = ["PRUNE_AFTER_TRIALS", "create_study", "tell"]
