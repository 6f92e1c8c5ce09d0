"""The two pluggy markers of the ``automl`` project, and nothing else.

Plugins import :data:`hookimpl` (re-exported as ``automl.hookimpl``) to mark the
functions that implement hooks; :mod:`automl.hookspecs` uses :data:`hookspec`.
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "automl"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
