"""The conformance kit for plugin authors: check a plugin in one call, or one pytest test per check.

>>> from automl.testing import check_plugin, parametrize_plugin_checks
>>> check_plugin(MyPlugin())  # doctest: +SKIP
>>> @parametrize_plugin_checks(MyPlugin())  # doctest: +SKIP
... def test_my_plugin(check):
...     check()

Like scikit-learn's ``parametrize_with_checks``, the kit runs every check
that applies to each component the plugin registers, on tiny generated data:

- the plugin registers at least one component, without error, under names
  that do not clash with the built-in ones;
- **models**: the space samples under real Optuna trials for many seeds and
  every declared task; each default names parameters the space suggests,
  within their ranges; the built estimator clones, fits and predicts with the
  right shapes, ``classes_`` and probabilities that sum to one; its tags are
  honest (``handles_missing``: fits on NaN; ``native_categorical``: fits on
  pandas categories); it pickles with equal predictions; ``ctx.random_state``
  makes it deterministic; it asks for no more threads than ``ctx.n_threads``;
  and ``AutoML(plugins=[plugin], include=[name])`` fits it end to end;
- **preprocessors**: the space and defaults, as for models; the transformer
  keeps the rows and outputs finite numbers on its kind of column with
  missing values and unseen categories; it pickles;
- **metrics**: finite values that rank good predictions above poor ones in
  the declared direction.

Each failure is a :class:`PluginCheckError` naming the check and the
component, what is wrong, and how to fix it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from automl.exceptions import PluginError
from automl.testing.component_checks import metric_checks, preprocessor_checks
from automl.testing.model_checks import model_checks
from automl.testing.spaces import CheckFailure

#: random seeds under which each space is sampled
SEEDS = 20
#: the time budget of each end-to-end fit, in seconds
TIME_BUDGET = 5.0


class PluginCheckError(AssertionError):
    """A plugin failed a conformance check; the message names the check and says how to fix it."""


@dataclass(frozen=True)
class PluginCheck:
    """One conformance check of one component: call it to run it.

    Attributes
    ----------
    id : str
        ``"<kind>[<name>]-<check>"``, e.g. ``"model[xgboost]-random_state"``: the pytest id.
    """

    id: str
    run: Callable[[], None]

    def __call__(self) -> None:
        """Run the check.

        Raises
        ------
        PluginCheckError
            When the component fails it.
        """
        try:
            self.run()
        except CheckFailure as failure:
            raise PluginCheckError(f"{self.id}: {failure}") from None

    def __repr__(self) -> str:
        return f"PluginCheck({self.id})"


def _components(plugin: Any) -> Any:
    """The components ``plugin`` registers (beside the built-ins, whose names it must not reuse).

    Raises
    ------
    CheckFailure
        When registering fails, clashes with a built-in name or registers nothing.
    """
    from automl.registry import collect_components, get_plugin_manager

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a failing hook is reported below, as this check's failure
            pm = get_plugin_manager([plugin], entry_points=False)
            comps = collect_components(pm)
    except PluginError as exc:
        raise CheckFailure(str(exc), "rename the component, or fix the hook implementation it names") from None
    if comps.failures:
        raise CheckFailure(comps.failures[0], "a registration hook must not raise: build specs only, import lazily")
    name = pm.get_name(plugin)
    owned = {
        kind: [spec for spec_name, spec in getattr(comps, kind).items() if comps.owners[(kind, spec_name)] == name]
        for kind in ("models", "preprocessors", "metrics")
    }
    if not any(owned.values()):
        raise CheckFailure(
            f"the plugin {name!r} registers no model, preprocessor or metric",
            "implement automl_register_models (or _preprocessors, _metrics) with @hookimpl and call register(spec)",
        )
    return owned


def plugin_checks(plugin: Any, *, seeds: int = SEEDS, time_budget: float | None = TIME_BUDGET) -> list[PluginCheck]:
    """Every conformance check that applies to ``plugin``'s components, unrun.

    Parameters
    ----------
    plugin : object
        A plugin: a module, class or instance with ``@hookimpl`` functions.
    seeds : int
        Random seeds under which each search space is sampled.
    time_budget : float or None
        Seconds of each model's end-to-end ``AutoML`` fit; None skips those checks.

    Returns
    -------
    list of PluginCheck
        The checks; a plugin whose registration fails yields one check that fails with the reason.
    """
    try:
        owned = _components(plugin)
    except CheckFailure as failure:

        def fail(failure: CheckFailure = failure) -> None:
            raise failure

        return [PluginCheck("plugin-registers", fail)]
    checks = [PluginCheck("plugin-registers", lambda: None)]
    for spec in owned["models"]:
        pairs = model_checks(spec, plugin, seeds=seeds, time_budget=time_budget)
        checks += [PluginCheck(f"model[{spec.name}]-{name}", run) for name, run in pairs]
    for spec in owned["preprocessors"]:
        pairs = preprocessor_checks(spec, seeds=seeds)
        checks += [PluginCheck(f"preprocessor[{spec.name}]-{name}", run) for name, run in pairs]
    for spec in owned["metrics"]:
        checks += [PluginCheck(f"metric[{spec.name}]-{name}", run) for name, run in metric_checks(spec)]
    return checks


def check_plugin(plugin: Any, *, seeds: int = SEEDS, time_budget: float | None = TIME_BUDGET) -> list[str]:
    """Run every conformance check on ``plugin``; raise if any fails.

    Parameters are those of :func:`plugin_checks`.

    Returns
    -------
    list of str
        The ids of the checks that ran (all passed).

    Raises
    ------
    PluginCheckError
        Listing every failed check, what is wrong and how to fix it.
    """
    failures, passed = [], []
    for check in plugin_checks(plugin, seeds=seeds, time_budget=time_budget):
        try:
            check()
        except PluginCheckError as exc:
            failures.append(str(exc))
        else:
            passed.append(check.id)
    if failures:
        raise PluginCheckError(f"{len(failures)} check(s) failed:\n- " + "\n- ".join(failures))
    return passed


def parametrize_plugin_checks(
    plugin: Any, *, seeds: int = SEEDS, time_budget: float | None = TIME_BUDGET
) -> Callable[[Callable], Callable]:
    """A ``pytest.mark.parametrize`` decorator giving a test one ``check`` argument per conformance check.

    Parameters are those of :func:`plugin_checks`.

    Examples
    --------
    >>> @parametrize_plugin_checks(MyPlugin())  # doctest: +SKIP
    ... def test_my_plugin(check):
    ...     check()
    """
    import pytest

    checks = plugin_checks(plugin, seeds=seeds, time_budget=time_budget)
    return pytest.mark.parametrize("check", checks, ids=[c.id for c in checks])


__all__ = ["PluginCheck", "PluginCheckError", "check_plugin", "parametrize_plugin_checks", "plugin_checks"]
