"""What is installed: every plugin, its distribution and version, the components it registers, and the failures."""

from __future__ import annotations

import warnings
from typing import Any

from automl.exceptions import PluginError
from automl.registry.components import collect_components
from automl.registry.plugins import DEFAULT_PLUGINS, get_plugin_manager, installed_plugins, plugin_failures


def _component(kind: str, spec: Any) -> dict[str, Any]:
    tasks = sorted(getattr(spec, "tasks", ()))
    entry = {"kind": kind, "name": spec.name, "tasks": tasks}
    if kind == "preprocessor":
        entry["column_kind"] = spec.kind
    return entry


def inventory() -> dict[str, Any]:
    """The plugins a fit would use, as plain data.

    Returns
    -------
    dict
        ``{"plugins": [...], "failures": [...]}``. Each plugin: ``name`` (the module of a
        built-in, the entry point's name otherwise), ``value`` (what the entry point names),
        ``distribution``, ``version``, ``builtin`` and ``components`` (``kind``, ``name``, ``tasks``).
        Each failure: ``name``, ``value`` and ``error``, for a plugin that failed to import or
        whose registration hook raised, or for the clash of two plugins' component names.
    """
    from automl import __version__

    failures = [{"name": f.name, "value": f.value, "error": f.error} for f in plugin_failures()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every failure is listed below
        pm = get_plugin_manager()
        try:
            comps = collect_components(pm)
        except PluginError as exc:
            return {"plugins": [], "failures": [*failures, {"name": None, "value": None, "error": str(exc)}]}
    failures += [{"name": None, "value": None, "error": message} for message in comps.failures]
    owned: dict[str, list[dict[str, Any]]] = {}
    for (kind, name), plugin in comps.owners.items():
        spec = getattr(comps, kind)[name]
        owned.setdefault(plugin, []).append(_component(kind[:-1], spec))
    plugins = [
        {"name": m, "value": m, "distribution": "automl", "version": __version__, "builtin": True}
        for m in DEFAULT_PLUGINS
    ]
    plugins += [
        {"name": p.name, "value": p.value, "distribution": p.distribution, "version": p.version, "builtin": False}
        for p in installed_plugins()
        if pm.get_plugin(p.name) is not None
    ]
    for plugin in plugins:
        plugin["components"] = owned.get(plugin["name"], [])
    return {"plugins": plugins, "failures": failures}


def inventory_text(data: dict[str, Any]) -> str:
    """:func:`inventory` for people: a block per plugin, then the failures."""
    lines = []
    for p in data["plugins"]:
        origin = f"built-in {p['name']}" if p["builtin"] else f"entry point {p['name']!r} = {p['value']}"
        lines.append(f"{p['distribution'] or '?'} {p['version'] or ''} ({origin})".replace("  ", " "))
        for c in p["components"]:
            what = f"{c['column_kind']} columns" if c["kind"] == "preprocessor" else ", ".join(c["tasks"])
            lines.append(f"    {c['kind']:<12} {c['name']:<24} {what}")
        if not p["components"]:
            lines.append("    (registers no component)")
    if data["failures"]:
        lines.append("failed:")
        for f in data["failures"]:
            where = f"{f['name']} ({f['value']}): " if f["name"] else ""
            lines.append(f"    {where}{f['error']}")
    return "\n".join(lines)


__all__ = ["inventory", "inventory_text"]
