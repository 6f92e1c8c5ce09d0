"""Which types the safe model format may load: the engine's own, and those the installed plugins declare."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from automl.exceptions import UntrustedTypeError
from automl.registry import collect_components, get_plugin_manager

#: the engine's own types that every saved pipeline may hold (pipeline/), and the
#: few third-party types those hold that skops does not trust by default
ENGINE_TYPES = (
    "automl.pipeline.cleaning.TableCleaner",
    "automl.pipeline.columns.PrepareColumns",
    "automl.pipeline.ensemble.EnsembleClassifier",
    "automl.pipeline.ensemble.EnsembleRegressor",
    "automl.pipeline.schema.ColumnInfo",
    "automl.pipeline.schema.Schema",
    "sklearn.compose._column_transformer.make_column_selector",
    "numpy.dtype",
)


def trusted_types(plugins: Iterable[Any] = ()) -> list[str]:
    """Dotted names of every type the safe format loads here.

    The engine's own types, and every ``trusted_types`` that the registered
    models and preprocessors declare (the built-in ones, the installed plugins'
    and ``plugins``).
    """
    components = collect_components(get_plugin_manager(plugins))
    names = set(ENGINE_TYPES)
    for spec in (*components.models.values(), *components.preprocessors.values()):
        names.update(spec.trusted_types)
    return sorted(names)


def check_trusted(needed: Iterable[str], trusted: Iterable[str], path: str) -> None:
    """Raise :class:`UntrustedTypeError` naming every type in ``needed`` that is not trusted."""
    missing = sorted(set(needed) - set(trusted))
    if missing:
        raise UntrustedTypeError(
            f"{path}: refusing to load types that automl and its plugins do not trust: {', '.join(missing)}. "
            "If a plugin you installed makes them, it should list them in its spec's trusted_types; if you "
            "trust this file, pass them as load(..., trusted=[...])"
        )
