"""Calling the observer hooks: an observer that raises costs a warning, never the fit."""

from __future__ import annotations

import warnings
from typing import Any


def notify(hook: Any, **kwargs: Any) -> None:
    """Call an observer hook, each implementation with the arguments it names.

    Parameters
    ----------
    hook : pluggy.HookCaller
        For example ``pm.hook.automl_trial_finished``.
    **kwargs
        The hook's arguments; an implementation receives those it declares.
    """
    for impl in hook.get_hookimpls():
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:
            warnings.warn(
                f"automl observer {impl.plugin_name!r} failed in {hook.name}: {type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )


def has_observers(hook: Any) -> bool:
    """True when a plugin implements this observer hook (so its arguments are worth building)."""
    return bool(hook.get_hookimpls())


__all__ = ["has_observers", "notify"]
