"""Calling the registration hooks: every model, preprocessor and metric the plugins offer, by name."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pluggy

from automl.exceptions import PluginError, PluginLoadWarning
from automl.specs import MetricSpec, ModelSpec, PreprocessorSpec


@dataclass
class Components:
    """Everything the plugins registered, by name, with the plugin that owns each."""

    models: dict[str, ModelSpec] = field(default_factory=dict)
    preprocessors: dict[str, PreprocessorSpec] = field(default_factory=dict)
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    #: why a plugin's registration hook was skipped, one message per failure (also given as a PluginLoadWarning)
    failures: list[str] = field(default_factory=list)


_HOOKS = (
    ("models", "automl_register_models", ModelSpec),
    ("preprocessors", "automl_register_preprocessors", PreprocessorSpec),
    ("metrics", "automl_register_metrics", MetricSpec),
)


def collect_components(pm: pluggy.PluginManager) -> Components:
    """Call every registration hook and gather the components.

    Raises
    ------
    PluginError
        When two plugins register a component of one kind under one name, or a
        plugin registers something that is not the expected spec.
    """
    comps = Components()
    for kind, hook_name, spec_type in _HOOKS:
        table: dict[str, Any] = getattr(comps, kind)
        hook = getattr(pm.hook, hook_name)
        # call implementations one by one to know which plugin registered what;
        # pluggy lists them in registration order (built-ins first)
        for impl in hook.get_hookimpls():
            plugin = impl.plugin_name

            def register(spec: Any, _plugin: str = plugin, _kind: str = kind, _type: type = spec_type) -> None:
                if not isinstance(spec, _type):
                    raise PluginError(
                        f"plugin {_plugin!r} registered {type(spec).__name__} through the {_kind} hook; "
                        f"expected {_type.__name__}"
                    )
                table_ = getattr(comps, _kind)
                if spec.name in table_:
                    first = comps.owners[(_kind, spec.name)]
                    raise PluginError(
                        f"two plugins register a {_kind[:-1]} named {spec.name!r}: {first!r} and "
                        f"{_plugin!r}; uninstall one, or rename its component"
                    )
                table_[spec.name] = spec
                comps.owners[(_kind, spec.name)] = _plugin

            try:
                impl.function(**{arg: register for arg in impl.argnames})
            except PluginError:
                raise
            except Exception as exc:  # a broken plugin costs its own components only
                comps.failures.append(
                    f"automl plugin {plugin!r} failed in {hook_name} and is skipped: {type(exc).__name__}: {exc}"
                )
                warnings.warn(comps.failures[-1], PluginLoadWarning, stacklevel=2)
        del table
    return comps


__all__ = ["Components", "collect_components"]
