"""Exceptions and warnings that the library raises for users to catch."""

from __future__ import annotations


class DataError(ValueError):
    """The data given to ``fit``, ``predict`` or ``score`` cannot be used as it is.

    The message names the argument or column at fault and says what to do.
    """


class PluginError(ValueError):
    """A plugin is invalid, or two plugins register one name."""


class SearchFailedError(RuntimeError):
    """Every trial of the search failed; the message shows the first failures."""


class PluginLoadWarning(UserWarning):
    """An installed plugin could not be loaded and was skipped."""


class UntrustedTypeError(ValueError):
    """A model file needs a type that the safe format does not load; the message names it."""


class VersionWarning(UserWarning):
    """A model file was saved under other versions of automl or its libraries than those loading it."""


class DataWarning(UserWarning):
    """The data was changed to make it usable (rows dropped, columns ignored)."""


__all__ = [
    "DataError",
    "DataWarning",
    "PluginError",
    "PluginLoadWarning",
    "SearchFailedError",
    "UntrustedTypeError",
    "VersionWarning",
]
