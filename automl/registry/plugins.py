"""The plugin manager: built-in plugins first, then installed ones (entry points), then a fit's own.

Built-in components live in the modules of :data:`DEFAULT_PLUGINS` and register
through the same hooks as third-party plugins (the way pytest loads ``_pytest.*``).
Third-party plugins are found through the entry-point group ``automl``; a plugin
that fails to import is skipped with a warning that names it.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from automl import hookspecs
from automl.exceptions import PluginError, PluginLoadWarning
from automl.markers import PROJECT_NAME

logger = logging.getLogger(__name__)

#: Modules registered as plugins before anything else, in this order.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "automl.builtins.metrics",
    "automl.builtins.preprocessors",
    "automl.builtins.linear",
    "automl.builtins.neighbors",
    "automl.builtins.hist_gradient_boosting",
    "automl.builtins.lightgbm",
    "automl.builtins.forests",
)

ENTRY_POINT_GROUP = PROJECT_NAME


@dataclass(frozen=True)
class PluginFailure:
    """An entry point that failed to load."""

    name: str
    value: str
    error: str


@dataclass(frozen=True)
class InstalledPlugin:
    """An entry point of the ``automl`` group that loaded, and the distribution that provides it."""

    name: str
    value: str
    distribution: str | None
    version: str | None


@dataclass
class _EntryPointCache:
    loaded: list[tuple[str, Any, str]] | None = None
    failures: list[PluginFailure] = field(default_factory=list)
    installed: list[InstalledPlugin] = field(default_factory=list)


_ENTRY_POINTS = _EntryPointCache()


def _load_entry_points() -> list[tuple[str, Any, str]]:
    """Import every plugin of the entry-point group once per process."""
    if _ENTRY_POINTS.loaded is None:
        loaded: list[tuple[str, Any, str]] = []
        failures: list[PluginFailure] = []
        installed: list[InstalledPlugin] = []
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            version = f"{dist.name} {dist.version}" if dist is not None else ep.value
            try:
                obj = ep.load()
            except Exception as exc:  # any import-time failure costs only this plugin
                failures.append(PluginFailure(ep.name, ep.value, f"{type(exc).__name__}: {exc}"))
                warnings.warn(
                    f"automl plugin {ep.name!r} ({ep.value}) failed to load and is skipped: "
                    f"{type(exc).__name__}: {exc}",
                    PluginLoadWarning,
                    stacklevel=2,
                )
                continue
            loaded.append((ep.name, obj, version))
            installed.append(
                InstalledPlugin(ep.name, ep.value, getattr(dist, "name", None), getattr(dist, "version", None))
            )
        _ENTRY_POINTS.loaded = loaded
        _ENTRY_POINTS.failures = failures
        _ENTRY_POINTS.installed = installed
    return _ENTRY_POINTS.loaded


def reload_entry_points() -> None:
    """Forget the cached entry points so the next fit looks for plugins again."""
    _ENTRY_POINTS.loaded = None
    _ENTRY_POINTS.failures = []
    _ENTRY_POINTS.installed = []


def plugin_failures() -> list[PluginFailure]:
    """Entry points that failed to load in this process."""
    _load_entry_points()
    return list(_ENTRY_POINTS.failures)


def installed_plugins() -> list[InstalledPlugin]:
    """Entry points of the ``automl`` group that loaded in this process, with their distributions."""
    _load_entry_points()
    return list(_ENTRY_POINTS.installed)


def _plugin_name(obj: Any) -> str:
    name = getattr(obj, "__name__", None) or type(obj).__name__
    return f"{name}@{id(obj):x}"


def get_plugin_manager(extra: Iterable[Any] = (), *, entry_points: bool = True) -> pluggy.PluginManager:
    """Build a plugin manager with built-in, installed and ``extra`` plugins.

    Parameters
    ----------
    extra : iterable
        Plugin objects (modules, classes or instances with ``hookimpl`` functions)
        registered for this manager only.
    entry_points : bool
        Also load plugins from the ``automl`` entry-point group.

    Returns
    -------
    pluggy.PluginManager
    """
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for modname in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(modname), name=modname)
    if entry_points:
        for name, obj, _version in _load_entry_points():
            if pm.is_registered(obj) or pm.get_plugin(name) is not None:
                continue
            _register(pm, obj, name)
    for obj in extra:
        if obj is None or pm.is_registered(obj):
            continue
        _register(pm, obj, _plugin_name(obj))
    return pm


def _register(pm: pluggy.PluginManager, obj: Any, name: str) -> None:
    try:
        pm.register(obj, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r} is invalid: {exc}") from exc
    # pluggy creates a spec-less caller for a marked implementation of an unknown
    # hook, so look for a specification, not for the caller
    unknown = [
        impl_name
        for impl_name in dir(obj)
        if impl_name.startswith(f"{PROJECT_NAME}_") and getattr(getattr(pm.hook, impl_name, None), "spec", None) is None
    ]
    if unknown:
        pm.unregister(obj)
        raise PluginError(
            f"plugin {name!r} implements unknown hook(s) {unknown}; "
            f"known hooks: {sorted(h for h in dir(hookspecs) if h.startswith(PROJECT_NAME + '_'))}"
        )


__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "InstalledPlugin",
    "PluginFailure",
    "get_plugin_manager",
    "installed_plugins",
    "plugin_failures",
    "reload_entry_points",
]
