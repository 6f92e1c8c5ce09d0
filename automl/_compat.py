"""Old module paths of pickled objects, kept importable after the modules moved.

A pickle names each class by module and name (``automl.cleaning.TableCleaner``).
Models saved before ``automl/`` was split into subpackages name the old flat
modules; this finder makes ``import automl.cleaning`` give the module's new
home, so such files still load. Add a row whenever a module whose objects are
pickled (anything in ``automl.pipeline``, ``automl.search.trial``, the metrics)
moves again, and never remove one.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

#: old module name -> the module that now holds its pickled objects
MOVED = {
    "automl.cleaning": "automl.pipeline.cleaning",
    "automl.ensemble": "automl.pipeline.ensemble",
    "automl.metrics": "automl.evaluation.metrics",
    "automl.transformers": "automl.builtins.encoders",
    "automl.trial": "automl.search.trial",
}


class MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import an old module name as the module that replaced it (the same module object)."""

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}

    def find_spec(self, name: str, path: object = None, target: object = None) -> importlib.machinery.ModuleSpec | None:
        """A spec for the names in :data:`MOVED`; None for every other module."""
        if name not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(name, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        """The new module itself, so both names share one module and its classes."""
        module = importlib.import_module(MOVED[spec.name])
        # the import system sets __spec__ on what we return: give the module its own back after
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is already imported; restore its own spec."""
        spec = self._specs.pop(getattr(module.__spec__, "name", ""), None)
        if spec is not None:
            module.__spec__ = spec


def install() -> None:
    """Put the finder on ``sys.meta_path`` once per process."""
    if not any(isinstance(f, MovedModules) for f in sys.meta_path):
        sys.meta_path.append(MovedModules())


__all__ = ["MOVED", "MovedModules", "install"]
