"""MLflow tracking for automl: one run per ``fit``, one nested run per trial, the final model as an MLflow model.

>>> from automl import AutoML
>>> from automl_mlflow import MLflowTracker
>>> AutoML(plugins=[MLflowTracker(tracking_uri="sqlite:///mlflow.db")]).fit(X, y)  # doctest: +SKIP

Installed, the plugin also tracks every fit by itself when ``MLFLOW_TRACKING_URI``
(or ``AUTOML_MLFLOW_TRACKING_URI``) is set.
"""

from __future__ import annotations

from automl_mlflow.tracker import MLflowTracker, MLflowTrackingWarning

__all__ = ["MLflowTracker", "MLflowTrackingWarning"]
