"""What skl2onnx needs to convert the library's fitted models: parsers, shape calculators and converters.

skl2onnx converts scikit-learn's classes (:mod:`automl.deploy.onnx_sklearn`
covers where it falls short); this module teaches it the rest of a
``best_pipeline_`` (see :mod:`automl.deploy.onnx` for the graph's inputs and
outputs):

- :class:`~automl.pipeline.cleaning.TableCleaner`: one graph input per kept
  column in, one variable per cleaned column out, named as the
  ``PrepareColumns`` branches select them (infinite numbers become NaN; a
  missing string, ``""``, becomes ``"__missing__"`` in a column that had no
  value in ``fit``). Datetime columns are not supported.
- :class:`~automl.pipeline.columns.PrepareColumns`: skl2onnx's ColumnTransformer parser.
- the ensembles: every member parsed on the same graph inputs, then one
  weighted sum of their probabilities (or predictions) and the most probable class;
- ``FixedThresholdClassifier`` (and the ``FrozenEstimator`` it wraps): the
  positive class where its probability reaches the threshold;
- the built-in ``CategoryEncoder``, found by its dotted name (the engine never
  imports the built-in plugins): each column's category code, NaN for
  missing, rare and unseen values, which is what LightGBM and
  HistGradientBoosting read from a ``category`` column.

Nothing here changes skl2onnx's global registry: the parsers and converters
are handed to ``convert_sklearn`` for one conversion. Plugins register theirs
through the ``onnx_converters`` field of their specs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx._parse import _parse_sklearn, sklearn_parsers_map
from skl2onnx._supported_operators import sklearn_operator_name_map
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from automl.deploy import onnx_sklearn as sk
from automl.deploy.onnx import OnnxConversionError, graph_labels
from automl.deploy.onnx_graph import Graph, shape_given
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.ensemble import EnsembleClassifier, EnsembleRegressor, _Ensemble
from automl.specs import MISSING

logger = logging.getLogger(__name__)

#: the built-in plugins' classes this module converts, by dotted name
CATEGORY_ENCODER = "automl.builtins.encoders.CategoryEncoder"
#: the opsets of the graph: string comparison needs 19; onnxmltools writes tree ensembles up to ai.onnx.ml 3
TARGET_OPSET = {"": 21, "ai.onnx.ml": 3}


def dotted_name(cls: type) -> str:
    """``module.QualifiedName`` of a class."""
    return f"{cls.__module__}.{cls.__qualname__}"


# -- walking a fitted model ------------------------------------------------------------


def walk(obj: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every component of a fitted model with its place (``"ensemble > trial_3 > prepare > numeric"``).

    Containers (pipelines, column transformers, ensembles, the threshold
    wrapper) are yielded and then opened; what they hold is yielded after them.
    """
    yield path, obj
    here = f"{path} > " if path else ""
    if isinstance(obj, Pipeline):
        for name, step in obj.steps:
            yield from walk(step, here + name)
    elif isinstance(obj, ColumnTransformer):
        for name, trans, _ in getattr(obj, "transformers_", obj.transformers):
            if not isinstance(trans, str):
                yield from walk(trans, here + name)
    elif isinstance(obj, _Ensemble):
        names = [name for name, _ in obj.estimators]
        for name, member in zip(names, obj.estimators_, strict=True):
            yield from walk(member, here + name)
    elif isinstance(obj, FixedThresholdClassifier):
        yield from walk(obj.estimator_, here + "estimator")
    elif isinstance(obj, FrozenEstimator):
        yield from walk(obj.estimator, path)


def _described(path: str, obj: Any) -> str:
    return f"{dotted_name(type(obj))} (pipeline step {path or '<root>'!r})"


def culprit(exc: BaseException, pipeline: Any) -> str | None:
    """The component of ``pipeline`` skl2onnx was parsing or converting when it raised ``exc``, described."""
    places = {id(obj): (path, obj) for path, obj in walk(pipeline)}
    found = None
    tb = exc.__traceback__
    while tb is not None:  # the innermost frame that handles a component of the pipeline
        local = tb.tb_frame.f_locals
        for obj in (getattr(local.get("operator"), "raw_operator", None), local.get("model")):
            if id(obj) in places:
                found = places[id(obj)]
        tb = tb.tb_next
    return None if found is None else _described(*found)


# -- the graph's inputs ------------------------------------------------------------------


@dataclass(frozen=True)
class InputColumn:
    """One graph input: an original column the model reads."""

    name: str
    kind: str  # "numeric" (float) or "categorical" (string)
    source: str


def input_columns(pipeline: Any) -> list[InputColumn]:
    """The columns every ``TableCleaner`` of ``pipeline`` keeps, in training order.

    Raises
    ------
    OnnxConversionError
        For a datetime column, or members that read one column differently.
    """
    kinds: dict[str, InputColumn] = {}
    order: list[str] = []
    for path, obj in walk(pipeline):
        if not isinstance(obj, TableCleaner):
            continue
        for c in obj.schema_.kept:
            if c.kind == "datetime":
                raise OnnxConversionError(
                    f"column {c.name!r} holds dates, which the ONNX export does not support "
                    f"({_described(path, obj)}); turn it into numbers (e.g. days since a date) before fit"
                )
            col = InputColumn(c.name, c.kind, c.source)
            if kinds.setdefault(c.name, col).kind != c.kind:
                raise OnnxConversionError(f"column {c.name!r} is read as two kinds by the members of the ensemble")
            if c.name not in order:
                order.append(c.name)
    if not order:
        raise OnnxConversionError("the model has no TableCleaner step: it is not a pipeline automl built")
    return [kinds[n] for n in order]


def tensor_type(kind: str) -> Any:
    """The graph type of an input column of one kind, one column wide."""
    return FloatTensorType([None, 1]) if kind == "numeric" else StringTensorType([None, 1])


# -- class labels ------------------------------------------------------------------------


def _label_type(labels: list[Any]) -> Any:
    return StringTensorType([None]) if isinstance(labels[0], str) else Int64TensorType([None])


# -- TableCleaner ----------------------------------------------------------------------------


@dataclass(eq=False)
class _CleanColumns:
    """Per input: its kind, and the string a missing value (``""``) becomes (None: it stays ``""``)."""

    columns: list[tuple[str, str | None]]


def _parse_cleaner(scope: Any, model: TableCleaner, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """The graph inputs of the columns the cleaner keeps, to one variable per column named as its output column."""
    by_name = {v.raw_name: v for v in inputs}
    empty = set(getattr(model, "empty_", ()))
    op = scope.declare_local_operator("AutomlTableCleaner", _CleanColumns([]))
    for c in model.schema_.kept:
        op.inputs.append(by_name[c.name])
        op.outputs.append(scope.declare_local_variable(c.safe, tensor_type(c.kind)))
        op.raw_operator.columns.append((c.kind, MISSING if c.name in empty else None))
    return list(op.outputs)


def _convert_cleaner(scope: Any, operator: Any, container: Any) -> None:
    """Infinite numbers become NaN (missing); in a column that had no value in ``fit``, ``""`` becomes MISSING."""
    g = Graph(scope, container)
    for (kind, fill), x, out in zip(operator.raw_operator.columns, operator.inputs, operator.outputs, strict=True):
        if kind == "numeric":
            g.op("Where", g.op("IsInf", x.full_name), g.const(np.nan), x.full_name, output=out.full_name)
        elif fill is None:
            g.op("Identity", x.full_name, output=out.full_name)
        else:
            missing = g.op("Equal", x.full_name, g.const(""))
            g.op("Where", missing, g.const(np.array(fill, dtype=object)), x.full_name, output=out.full_name)


# -- CategoryEncoder (built-in, by name) ---------------------------------------------------------


@dataclass(eq=False)
class _CategoryCodes:
    categories: list[list[str]]


def _parse_category_encoder(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    op = scope.declare_local_operator("AutomlCategoryEncoder", _CategoryCodes([list(c) for c in model.categories_]))
    op.inputs = inputs
    op.outputs.append(scope.declare_local_variable("category_codes", FloatTensorType([None, len(model.categories_)])))
    return list(op.outputs)


def _convert_category_encoder(scope: Any, operator: Any, container: Any) -> None:
    """Each column's category code (its position among the categories), NaN for missing, rare and unseen values."""
    g = Graph(scope, container)
    x = g.joined(operator.inputs)
    codes = []
    for j, cats in enumerate(operator.raw_operator.categories):
        keys = cats or ["\x00"]  # a column without categories: every value is NaN
        values = [float(i) for i in range(len(cats))] or [float("nan")]
        codes.append(
            g.ml("LabelEncoder", g.column(x, j), keys_strings=keys, values_floats=values, default_float=np.nan)
        )
    g.op("Concat", *codes, output=operator.outputs[0].full_name, axis=1)


# -- ensembles ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Average:
    """Per member, its weight (regression) or a [its classes, all classes] matrix of its weight; the graph labels."""

    weights: list[Any]
    labels: list[Any] | None


def _parse_ensemble(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """Every member on the graph's inputs, then their weighted average (and the most probable class)."""
    w = np.asarray(model.weights, dtype=float)
    w = w / w.sum()
    classifier = isinstance(model, EnsembleClassifier)
    outputs, weights = [], []
    for weight, member in zip(w, model.estimators_, strict=True):
        out = _parse_sklearn(scope, member, inputs, custom_parsers=custom_parsers)
        if not classifier:
            outputs.append(out[0])
            weights.append(float(weight))
            continue
        if len(out) < 2:
            raise OnnxConversionError(f"ensemble member {dotted_name(type(member))} gives no probabilities in ONNX")
        cols = np.searchsorted(model.classes_, np.asarray(member.classes_))
        matrix = np.zeros((len(cols), len(model.classes_)))
        matrix[np.arange(len(cols)), cols] = weight
        outputs.append(out[1])
        weights.append(matrix)
    labels = graph_labels(model.classes_) if classifier else None
    op = scope.declare_local_operator("AutomlEnsemble", _Average(weights, labels))
    op.inputs = outputs
    if classifier:
        op.outputs.append(scope.declare_local_variable("label", _label_type(labels)))
        op.outputs.append(scope.declare_local_variable("probabilities", FloatTensorType([None, len(labels)])))
    else:
        op.outputs.append(scope.declare_local_variable("variable", FloatTensorType([None, 1])))
    return list(op.outputs)


def _labels_of(g: Graph, labels: list[Any], index: str, output: str) -> None:
    """``labels[index]``: the graph label of each row's class index."""
    table = g.const(np.array(labels, dtype=object if isinstance(labels[0], str) else np.int64))
    g.op("Gather", table, index, output=output, axis=0)


def _convert_average(scope: Any, operator: Any, container: Any) -> None:
    g, plan = Graph(scope, container), operator.raw_operator
    terms = []
    for x, weight in zip(operator.inputs, plan.weights, strict=True):
        if plan.labels is None:
            terms.append(g.op("Mul", g.op("Reshape", x.full_name, g.const([-1, 1])), g.const(weight)))
        else:
            terms.append(g.op("MatMul", x.full_name, g.const(weight)))
    out = g.op("Sum", *terms, output=operator.outputs[-1].full_name)
    if plan.labels is not None:
        _labels_of(g, plan.labels, g.op("ArgMax", out, axis=1, keepdims=0), operator.outputs[0].full_name)


# -- FixedThresholdClassifier, FrozenEstimator ----------------------------------------------------


@dataclass(eq=False)
class _Threshold:
    threshold: float
    positive: int
    negative: int
    labels: list[Any]


def _parse_frozen(scope: Any, model: FrozenEstimator, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    return _parse_sklearn(scope, model.estimator, inputs, custom_parsers=custom_parsers)


def _parse_threshold(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """The classifier it wraps, then the positive class where its probability reaches the threshold."""
    inner = model.estimator_
    if model.response_method not in ("predict_proba", "auto") or not hasattr(inner, "predict_proba"):
        raise OnnxConversionError(
            f"FixedThresholdClassifier(response_method={model.response_method!r}): only a threshold on "
            "predict_proba converts to ONNX"
        )
    out = _parse_sklearn(scope, inner, inputs, custom_parsers=custom_parsers)
    classes = np.asarray(model.classes_)
    if len(classes) != 2 or len(out) < 2:
        raise OnnxConversionError("FixedThresholdClassifier converts to ONNX for a binary classifier only")
    positive = 1 if model.pos_label is None else int(np.flatnonzero(classes == model.pos_label)[0])
    threshold = 0.5 if isinstance(model.threshold, str) else float(model.threshold)
    labels = graph_labels(classes)
    op = scope.declare_local_operator("AutomlThreshold", _Threshold(threshold, positive, 1 - positive, labels))
    op.inputs = [out[1]]
    op.outputs.append(scope.declare_local_variable("label", _label_type(labels)))
    op.outputs.append(scope.declare_local_variable("probabilities", FloatTensorType([None, 2])))
    return list(op.outputs)


def _convert_threshold(scope: Any, operator: Any, container: Any) -> None:
    g, plan = Graph(scope, container), operator.raw_operator
    proba = operator.inputs[0].full_name
    above = g.op("GreaterOrEqual", g.op("Gather", proba, g.const(plan.positive), axis=1), g.const(plan.threshold))
    index = g.op("Gather", g.const([plan.negative, plan.positive]), g.op("Cast", above, to=TensorProto.INT64), axis=0)
    _labels_of(g, plan.labels, index, operator.outputs[0].full_name)
    g.op("Identity", proba, output=operator.outputs[1].full_name)


# -- the conversion -------------------------------------------------------------------------------

_CONVERTERS: dict[type, tuple[Callable[..., None], Callable[..., None]]] = {
    _CleanColumns: (shape_given, _convert_cleaner),
    _CategoryCodes: (shape_given, _convert_category_encoder),
    _Average: (shape_given, _convert_average),
    _Threshold: (shape_given, _convert_threshold),
}

_PARSERS: dict[type, Callable[..., list[Any]]] = {
    TableCleaner: _parse_cleaner,
    EnsembleClassifier: _parse_ensemble,
    EnsembleRegressor: _parse_ensemble,
    FixedThresholdClassifier: _parse_threshold,
    FrozenEstimator: _parse_frozen,
}


def _parsers_for(pipeline: Any) -> dict[type, Callable[..., list[Any]]]:
    """The parsers of this conversion: the fixed ones, and those of the classes found in ``pipeline``."""
    parsers = {**sk.PARSERS, **_PARSERS}
    for _, obj in walk(pipeline):
        cls = type(obj)
        if isinstance(obj, ColumnTransformer) and cls not in sklearn_parsers_map:
            parsers[cls] = sklearn_parsers_map[ColumnTransformer]  # PrepareColumns
        elif isinstance(obj, sk.HGB):
            parsers[cls] = sk.parse_hgb
        elif dotted_name(cls) == CATEGORY_ENCODER:
            parsers[cls] = _parse_category_encoder
    return parsers


def _allows_zipmap(cls: type) -> bool:
    from skl2onnx.common._registration import get_converter

    alias = sklearn_operator_name_map.get(cls)
    if alias is None:
        return False
    try:
        allowed = get_converter(alias).get_allowed_options() or {}
    except ValueError:
        return False
    return "zipmap" in allowed


def check_convertible(pipeline: Any) -> None:
    """Raise :class:`OnnxConversionError` naming the first component no converter is known for."""
    parsers = _parsers_for(pipeline)
    for path, obj in walk(pipeline):
        cls = type(obj)
        if isinstance(obj, str) or cls in parsers or cls in sklearn_parsers_map or cls in sklearn_operator_name_map:
            continue
        if isinstance(obj, (Pipeline, ColumnTransformer)):
            continue
        raise OnnxConversionError(
            f"no ONNX converter for {_described(path, obj)}; the plugin that provides it can declare one "
            "with the onnx_converters field of its ModelSpec or PreprocessorSpec"
        )


def convert(pipeline: Any, columns: list[InputColumn], classes: Any | None, target_opset: Any = None) -> Any:
    """The ONNX ModelProto of a fitted ``best_pipeline_`` (see :mod:`automl.deploy.onnx` for its inputs and outputs).

    Parameters
    ----------
    pipeline : Pipeline
        The fitted model.
    columns : list of InputColumn
        The graph's inputs, from :func:`input_columns`.
    classes : array-like or None
        The classes of a classifier (None for a regressor).
    target_opset : int or dict, optional
        Passed to ``skl2onnx.convert_sklearn``.
    """
    from skl2onnx import convert_sklearn

    check_convertible(pipeline)
    if classes is None:
        final = [("variable", FloatTensorType([None, 1]))]
    else:
        final = [("label", None), ("probabilities", FloatTensorType([None, len(classes)]))]
    options = {
        id(obj): {"zipmap": False}
        for _, obj in walk(pipeline)
        if is_classifier(obj)
        and not isinstance(obj, Pipeline)
        and (isinstance(obj, sk.HGB) or _allows_zipmap(type(obj)))
    }
    converters = {**sk.CONVERTERS, **_CONVERTERS}
    with sk.knn_distances():
        return convert_sklearn(
            pipeline,
            initial_types=[(c.name, tensor_type(c.kind)) for c in columns],
            final_types=final,
            options=options,
            custom_parsers=_parsers_for(pipeline),
            custom_shape_calculators={k: v[0] for k, v in converters.items()},
            custom_conversion_functions={**{k: v[1] for k, v in converters.items()}, **sk.FIXED_CONVERTERS},
            target_opset=target_opset or TARGET_OPSET,
        )


__all__ = [
    "CATEGORY_ENCODER",
    "InputColumn",
    "check_convertible",
    "convert",
    "culprit",
    "dotted_name",
    "input_columns",
    "tensor_type",
    "walk",
]
