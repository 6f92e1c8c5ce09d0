"""A minimal automl plugin distribution: copy this folder, rename it, replace the model."""

from __future__ import annotations

__version__ = "0.1.0"
