"""Plugins: the plugin manager, the components the plugins register, and the observer hooks.

Built-in components live in the modules of :data:`DEFAULT_PLUGINS` and register
through the same hooks as third-party plugins (the way pytest loads ``_pytest.*``).
Third-party plugins are found through the entry-point group ``automl``; a plugin
that fails to import is skipped with a warning that names it.
"""

from __future__ import annotations

from automl.exceptions import PluginError, PluginLoadWarning
from automl.registry.components import Components, collect_components
from automl.registry.observers import has_observers, notify
from automl.registry.plugins import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    InstalledPlugin,
    PluginFailure,
    get_plugin_manager,
    installed_plugins,
    plugin_failures,
    reload_entry_points,
)

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Components",
    "InstalledPlugin",
    "PluginError",
    "PluginFailure",
    "PluginLoadWarning",
    "collect_components",
    "get_plugin_manager",
    "has_observers",
    "installed_plugins",
    "notify",
    "plugin_failures",
    "reload_entry_points",
]
