"""ONNX export of the CatBoost models, through CatBoost's own ONNX export.

CatBoost writes a fitted model as one ``ai.onnx.ml`` tree-ensemble node. The
converters registered here copy that node into the graph skl2onnx builds for
the whole pipeline, with the wrapper's class labels. CatBoost cannot export a
model that has categorical features (its ordered target statistics have no
ONNX form), so such a model stops the export with an error that says so.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import numpy as np

from automl_catboost.model import CatBoostModelClassifier, CatBoostModelRegressor

#: the ONNX operators CatBoost writes
TREE_ENSEMBLES = ("TreeEnsembleClassifier", "TreeEnsembleRegressor")


def tree_ensemble(model: Any) -> tuple[str, dict[str, Any]]:
    """The tree-ensemble node CatBoost exports for ``model``: its operator type and attributes.

    Parameters
    ----------
    model : catboost.CatBoostClassifier or catboost.CatBoostRegressor
        A fitted model without categorical features.

    Returns
    -------
    tuple of (str, dict)
    """
    import onnx

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.onnx")
        model.save_model(path, format="onnx")
        graph = onnx.load(path).graph
    (node,) = [n for n in graph.node if n.op_type in TREE_ENSEMBLES]
    return node.op_type, {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _class_labels(attrs: dict[str, Any], classes: np.ndarray) -> None:
    """Label the classifier's outputs with ``classes`` (CatBoost's export numbers them)."""
    attrs.pop("classlabels_int64s", None)
    attrs.pop("classlabels_strings", None)
    if np.issubdtype(classes.dtype, np.integer):
        attrs["classlabels_int64s"] = [int(c) for c in classes]
    else:
        attrs["classlabels_strings"] = [str(c) for c in classes]


def convert_catboost(scope: Any, operator: Any, container: Any) -> None:
    """skl2onnx converter of :class:`CatBoostModelClassifier` and :class:`CatBoostModelRegressor`.

    Parameters
    ----------
    scope, operator, container
        What skl2onnx passes a converter.

    Raises
    ------
    ValueError
        When the model has categorical features, which CatBoost cannot export to ONNX.
    """
    model = operator.raw_operator
    if model.cat_features_:
        raise ValueError(
            f"{type(model).__name__} has categorical features (columns {model.cat_features_}), which CatBoost "
            "cannot export to ONNX; a model fitted with one-hot or ordinal categorical preprocessing can"
        )
    op_type, attrs = tree_ensemble(model.model_)
    if op_type == "TreeEnsembleClassifier":
        _class_labels(attrs, np.asarray(model.classes_))
    container.add_node(
        op_type,
        [operator.inputs[0].full_name],
        [out.full_name for out in operator.outputs],
        op_domain="ai.onnx.ml",
        op_version=1,
        name=scope.get_unique_operator_name(f"CatBoost{op_type}"),
        **attrs,
    )


def onnx_converters() -> None:
    """Register the CatBoost models' ONNX converters with skl2onnx (the engine calls this before an export)."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    update_registered_converter(
        CatBoostModelClassifier,
        "AutomlCatBoostModelClassifier",
        calculate_linear_classifier_output_shapes,
        convert_catboost,
        options={"nocl": [True, False], "zipmap": [True, False, "columns"]},
    )
    update_registered_converter(
        CatBoostModelRegressor,
        "AutomlCatBoostModelRegressor",
        calculate_linear_regressor_output_shapes,
        convert_catboost,
    )
