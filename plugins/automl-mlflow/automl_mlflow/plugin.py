"""The entry point: a tracker that records a fit only when a tracking URI is set in the environment.

``AUTOML_MLFLOW_TRACKING_URI`` (first) or ``MLFLOW_TRACKING_URI`` switch it on, so
installing the plugin does not fill every working directory with runs. A fit
given its own :class:`~automl_mlflow.MLflowTracker` is recorded by that one only.
"""

from __future__ import annotations

from automl_mlflow.tracker import MLflowTracker

#: the instance the entry point ``mlflow`` of the group ``automl`` registers
ENV_TRACKER = MLflowTracker.from_environment()

__all__ = ["ENV_TRACKER"]
