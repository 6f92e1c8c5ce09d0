"""After ``fit``: save and load a model file, export it, serve it over REST, check new data for drift.

Everything here reads a fitted :class:`~automl.AutoML` (or a model file) and
never touches the search. The optional dependencies (skops, FastAPI, uvicorn,
ONNX) are imported only where they are used: ``pip install "automl[deploy]"``.
"""

from __future__ import annotations

from automl.deploy.drift import DriftReport, drift
from automl.deploy.persist import load, read_metadata, save
from automl.deploy.trust import trusted_types

__all__ = ["DriftReport", "drift", "load", "read_metadata", "save", "trusted_types"]
