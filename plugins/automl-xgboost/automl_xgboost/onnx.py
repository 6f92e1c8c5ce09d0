"""ONNX converters: onnxmltools' XGBoost converter, registered with skl2onnx for the plugin's models.

Two things stand between a fitted model and onnxmltools' converter, and
:class:`_ConverterView` removes both:

- the converter reads feature indices from the tree dump and needs the
  features named ``f0, f1, ...``, but a model fitted on a DataFrame (native
  categories) dumps the column names;
- the classifier wrapper's labels are its ``classes_``, not XGBoost's ``0..k-1``.

Imported only when an ONNX export asks for it, so the plugin loads without
onnxmltools and skl2onnx installed.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from automl_xgboost.estimators import XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor

#: options a classifier's converter accepts (the export asks for plain probability tensors)
CLASSIFIER_OPTIONS = {"nocl": [True, False], "zipmap": [True, False, "columns"]}


class _ConverterView:
    """What onnxmltools reads of a fitted XGBoost model: its features unnamed, its labels those given.

    Parameters
    ----------
    model : xgboost.XGBModel
        The fitted model.
    classes : ndarray or None
        Class labels to output instead of ``model.classes_`` (classifiers).
    """

    def __init__(self, model: Any, classes: np.ndarray | None = None) -> None:
        self._model = model
        self._classes = classes

    @property
    def operator_name(self) -> str:
        """The converter's dispatch name (``XGBClassifier`` or ``XGBRegressor``)."""
        return "XGBClassifier" if hasattr(self._model, "predict_proba") else "XGBRegressor"

    @property
    def classes_(self) -> np.ndarray:
        """The labels the ONNX model outputs."""
        return self._model.classes_ if self._classes is None else np.asarray(self._classes)

    @property
    def kwargs(self) -> dict[str, Any]:
        """Present so that onnxmltools reads the parameters through ``get_xgb_params``, not ``__dict__``."""
        return getattr(self._model, "kwargs", None) or {}

    def get_booster(self) -> Any:
        """A copy of the booster whose features are named ``f0, f1, ...`` in the dump."""
        booster = self._model.get_booster().copy()
        booster.feature_names = None
        return booster

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


def _convert(scope: Any, operator: Any, container: Any) -> None:
    """Convert a plain or an early-stopped XGBoost model with onnxmltools' converter."""
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

    model = operator.raw_operator
    if isinstance(model, (XGBEarlyStoppingClassifier, XGBEarlyStoppingRegressor)):
        view = _ConverterView(model.estimator_, getattr(model, "classes_", None))
    else:
        view = _ConverterView(model)
    inner = copy.copy(operator)
    inner.raw_operator = view
    convert_xgboost(scope, inner, container)


def register() -> None:
    """Register the converters of ``XGBClassifier``, ``XGBRegressor`` and the plugin's early-stopped wrappers."""
    import xgboost as xgb
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    for cls, alias in (
        (xgb.XGBClassifier, "XGBoostXGBClassifier"),
        (XGBEarlyStoppingClassifier, "AutomlXGBEarlyStoppingClassifier"),
    ):
        update_registered_converter(
            cls, alias, calculate_linear_classifier_output_shapes, _convert, options=CLASSIFIER_OPTIONS
        )
    for cls, alias in (
        (xgb.XGBRegressor, "XGBoostXGBRegressor"),
        (XGBEarlyStoppingRegressor, "AutomlXGBEarlyStoppingRegressor"),
    ):
        update_registered_converter(cls, alias, calculate_linear_regressor_output_shapes, _convert)


__all__ = ["register"]
