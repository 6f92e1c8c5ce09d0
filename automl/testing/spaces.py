"""Checks of a component's search space and defaults, under real Optuna trials."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import optuna

from automl.context import Context


class CheckFailure(AssertionError):
    """A conformance check found a problem: what is wrong, and how to fix it."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}. Fix: {fix}")
        self.problem = problem
        self.fix = fix


def _study(seed: int) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))


def sample(space: Callable[[Any, Context], Any], ctx: Context, seed: int) -> dict[str, Any]:
    """Call ``space`` under a fresh Optuna trial; the parameters it returned.

    Raises
    ------
    CheckFailure
        When the space raises or does not return a mapping.
    """
    study = _study(seed)
    trial = study.ask()
    try:
        params = space(trial, ctx)
    except Exception as exc:
        raise CheckFailure(
            f"space(trial, ctx) raised {type(exc).__name__}: {exc} (task {ctx.task!r}, random sampler seed {seed})",
            "a space must sample without error for every seed and every task the spec declares; "
            "use only trial.suggest_* with fixed ranges and choices",
        ) from None
    if not isinstance(params, Mapping):
        raise CheckFailure(
            f"space(trial, ctx) returned {type(params).__name__}, not a dict (task {ctx.task!r})",
            "return the dict of the parameters you suggested, e.g. {'alpha': trial.suggest_float('alpha', ...)}",
        )
    study.tell(trial, 0.0)
    return dict(params)


def check_space(space: Callable[[Any, Context], Any], contexts: list[Context], seeds: int) -> None:
    """The space samples without error for ``seeds`` random seeds under every context."""
    for ctx in contexts:
        for seed in range(seeds):
            sample(space, ctx, seed)


def suggested_names(space: Callable[[Any, Context], Any], ctx: Context, seeds: int) -> set[str]:
    """Every parameter name the space suggests for ``ctx`` over ``seeds`` trials (conditional ones included)."""
    names: set[str] = set()
    for seed in range(seeds):
        study = _study(seed)
        trial = study.ask()
        space(trial, ctx)
        names |= set(trial.distributions)
    return names


def check_default(
    default: Mapping[str, Any], space: Callable[[Any, Context], Any], contexts: list[Context], seeds: int, label: str
) -> None:
    """Every value of ``default`` names a parameter the space suggests, and lies within its range or choices."""
    if not default:
        return
    suggested = set().union(*(suggested_names(space, ctx, seeds) for ctx in contexts))
    unknown = sorted(set(default) - suggested)
    if unknown:
        raise CheckFailure(
            f"{label} names {unknown}, which the space never suggests (it suggests {sorted(suggested)})",
            "use the plain names passed to trial.suggest_* in space(), without any prefix",
        )
    for ctx in contexts:
        study = _study(0)
        study.enqueue_trial(dict(default), skip_if_exists=False)
        trial = study.ask()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                space(trial, ctx)
            except ValueError as exc:  # a categorical default outside the choices
                raise CheckFailure(
                    f"{label} is outside the space: {exc}", "choose default values among the space's choices"
                ) from None
        outside = [str(w.message) for w in caught if "out of range" in str(w.message)]
        if outside:
            raise CheckFailure(
                f"{label} is outside the space: {outside[0]}", "choose default values within the suggested ranges"
            )


__all__ = ["CheckFailure", "check_default", "check_space", "sample", "suggested_names"]
