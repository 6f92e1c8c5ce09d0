"""XGBoost for automl: registers the model ``xgboost`` through the entry-point group ``automl``."""

from __future__ import annotations

from automl_xgboost.estimators import XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor

__all__ = ["XGBEarlyStoppingClassifier", "XGBEarlyStoppingRegressor"]
