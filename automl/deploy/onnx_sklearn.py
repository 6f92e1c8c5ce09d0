"""skl2onnx for the scikit-learn classes where version 1.20 falls short.

- ``SimpleImputer`` on strings whose missing value is NaN (``""`` in the
  graph), which skl2onnx refuses, and its ``add_indicator`` columns, which it
  leaves out;
- ``OneHotEncoder`` on strings: infrequent categories (which skl2onnx rejects
  on a multi-column input) and unknown values (all zeros, or the infrequent
  column with ``handle_unknown="infrequent_if_exist"``, where skl2onnx fails);
- ``TargetEncoder`` for several classes, which skl2onnx does not encode;
- ``QuantileTransformer``: see :mod:`automl.deploy.onnx_quantiles`;
- HistGradientBoosting and its subclasses, native categorical splits
  included, which skl2onnx ignores: each categorical split becomes a
  threshold on a 0/1 column computed from the category code, and skl2onnx's
  tree converter does the rest (its ``False`` among integer node attributes,
  which protobuf refuses, is written as ``0``);
- k-nearest neighbours with ``weights="distance"``, whose distances skl2onnx
  negates with opset 11 and later (every neighbour then weighs the same).
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx._parse import _parse_sklearn_classifier, _parse_sklearn_simple_model
from skl2onnx._supported_operators import sklearn_operator_name_map
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.base import is_classifier
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import OneHotEncoder, QuantileTransformer, TargetEncoder

from automl.deploy.onnx import OnnxConversionError
from automl.deploy.onnx_graph import Graph, as_string, nan_like, shape_given
from automl.deploy.onnx_quantiles import Quantiles, convert_quantiles, parse_quantiles

HGB = (HistGradientBoostingClassifier, HistGradientBoostingRegressor)


def _strings(inputs: list[Any]) -> bool:
    return all(isinstance(v.type, StringTensorType) for v in inputs)


def _declare(scope: Any, alias: str, plan: Any, inputs: list[Any], output: Any) -> list[Any]:
    """Declare one operator of ours from ``inputs`` to one output variable; return its outputs."""
    op = scope.declare_local_operator(alias, plan)
    op.inputs = inputs
    op.outputs.append(scope.declare_local_variable(alias.lower(), output))
    return list(op.outputs)


# -- SimpleImputer ----------------------------------------------------------------------------------


@dataclass(eq=False)
class _FillStrings:
    fills: list[str]


@dataclass(eq=False)
class _Indicators:
    features: list[int]


def parse_imputer(scope: Any, model: SimpleImputer, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """Strings: their fill values where ``""``; numbers: skl2onnx's converter, then the missing-value indicators."""
    strings = _strings(inputs)
    if not nan_like(model.missing_values) and (strings or model.add_indicator):
        raise OnnxConversionError(f"SimpleImputer(missing_values={model.missing_values!r}) has no ONNX converter")
    if strings and model.add_indicator:
        raise OnnxConversionError("SimpleImputer(add_indicator=True) on string columns has no ONNX converter")
    if strings:
        fills = [v if isinstance(v, str) else "" for v in model.statistics_]
        return _declare(scope, "AutomlStringImputer", _FillStrings(fills), inputs, StringTensorType([None, len(fills)]))
    imputed = _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)
    features = [int(i) for i in model.indicator_.features_] if model.add_indicator else []
    if not features:  # no column had missing values in fit: no indicator
        return imputed
    width = len(model.statistics_) + len(features)
    return _declare(
        scope, "AutomlMissingIndicator", _Indicators(features), [imputed[0], *inputs], FloatTensorType([None, width])
    )


def _convert_string_imputer(scope: Any, operator: Any, container: Any) -> None:
    g = Graph(scope, container)
    x = g.joined(operator.inputs)
    fills = g.const(np.array([operator.raw_operator.fills], dtype=object))
    g.op("Where", g.op("Equal", x, g.const("")), fills, x, output=operator.outputs[0].full_name)


def _convert_indicators(scope: Any, operator: Any, container: Any) -> None:
    """The imputed columns, then 1.0 where each column that had missing values in ``fit`` is missing."""
    g = Graph(scope, container)
    x = g.joined(operator.inputs[1:])
    missing = g.op("IsNaN", g.op("Gather", x, g.const(operator.raw_operator.features), axis=1))
    g.op("Concat", operator.inputs[0].full_name, g.flag(missing), output=operator.outputs[0].full_name, axis=1)


# -- OneHotEncoder on strings -------------------------------------------------------------------------


@dataclass(eq=False)
class _OneHot:
    """Per input column: its frequent categories, its infrequent ones (None: no such column), where unknowns go."""

    columns: list[tuple[list[str], list[str] | None, bool]]


def parse_onehot(scope: Any, model: OneHotEncoder, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """Strings: :func:`_convert_onehot`; anything else (or dropped categories): skl2onnx's converter."""
    if not _strings(inputs) or getattr(model, "drop_idx_", None) is not None:
        return _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)
    infrequent = getattr(model, "infrequent_categories_", None) or [None] * len(model.categories_)
    to_infrequent = model.handle_unknown in ("infrequent_if_exist", "warn")
    columns = []
    for cats, rare in zip(model.categories_, infrequent, strict=True):
        rare = None if rare is None else [as_string(c) for c in rare]
        columns.append(([as_string(c) for c in cats if rare is None or as_string(c) not in rare], rare, to_infrequent))
    width = sum(len(f) + (r is not None) for f, r, _ in columns)
    if width != len(model.get_feature_names_out()):
        raise OnnxConversionError(f"OneHotEncoder: {width} columns planned, not the encoder's number of columns")
    return _declare(scope, "AutomlOneHotEncoder", _OneHot(columns), inputs, FloatTensorType([None, width]))


def _convert_onehot(scope: Any, operator: Any, container: Any) -> None:
    """Per column: 1.0 where the value is a frequent category; the infrequent column for the others it covers.

    An unknown value gives zeros, or a 1 in the infrequent column when the
    encoder sends unknown values there; ``handle_unknown="error"`` cannot
    raise in a graph and gives zeros.
    """
    g = Graph(scope, container)
    x = g.joined(operator.inputs)
    parts = []
    for j, (frequent, rare, to_infrequent) in enumerate(operator.raw_operator.columns):
        value = g.column(x, j)
        hits = g.flag(g.op("Equal", value, g.const(np.array([frequent], dtype=object)))) if frequent else None
        if hits:
            parts.append(hits)
        if rare is None:
            continue
        if to_infrequent and hits is None:  # every value is infrequent or unknown
            parts.append(g.flag(g.op("Equal", value, value)))
        elif to_infrequent:
            parts.append(g.op("Sub", g.const(1.0), g.op("ReduceSum", hits, g.const([1]), keepdims=1)))
        else:
            found = g.flag(g.op("Equal", value, g.const(np.array([rare], dtype=object))))
            parts.append(g.op("ReduceSum", found, g.const([1]), keepdims=1))
    g.op("Concat", *parts, output=operator.outputs[0].full_name, axis=1)


# -- TargetEncoder for several classes ----------------------------------------------------------------


@dataclass(eq=False)
class _TargetCodes:
    """Per output column: the input column, the categories, their codes, and the code of anything else."""

    columns: list[tuple[int, list[str], list[float], float]]


def parse_target_encoder(scope: Any, model: TargetEncoder, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """skl2onnx encodes binary and continuous targets; several classes give one column per feature and class."""
    if model.target_type_ != "multiclass" or not _strings(inputs):
        return _parse_sklearn_simple_model(scope, model, inputs, custom_parsers=custom_parsers)
    k = len(model.classes_)
    columns = [
        (i, [as_string(c) for c in cats], [float(v) for v in model.encodings_[i * k + j]], float(model.target_mean_[j]))
        for i, cats in enumerate(model.categories_)
        for j in range(k)
    ]
    return _declare(scope, "AutomlTargetEncoder", _TargetCodes(columns), inputs, FloatTensorType([None, len(columns)]))


def _convert_target_encoder(scope: Any, operator: Any, container: Any) -> None:
    g = Graph(scope, container)
    x = g.joined(operator.inputs)
    parts = [
        g.ml("LabelEncoder", g.column(x, i), keys_strings=cats, values_floats=codes, default_float=other)
        for i, cats, codes, other in operator.raw_operator.columns
    ]
    g.op("Concat", *parts, output=operator.outputs[0].full_name, axis=1)


# -- HistGradientBoosting, native categorical splits included -----------------------------------------


@dataclass(eq=False)
class _SplitColumns:
    """The model's features in its own order, then per categorical feature a table: code -> 0/1 per split on it."""

    order: list[int]
    tables: list[tuple[int, np.ndarray]]


def _base_view(model: Any, predictors: Any = None) -> Any:
    """``model`` as an instance of scikit-learn's own class (skl2onnx knows no subclass), sharing its state."""
    base = HistGradientBoostingClassifier if is_classifier(model) else HistGradientBoostingRegressor
    view = base.__new__(base)
    view.__dict__.update(model.__dict__)
    if predictors is not None:
        view._predictors = predictors
    return view


def _goes_right(tree: Any, split: Any, n_known: int) -> np.ndarray:
    """For each known code of a categorical split's feature, 1.0 when it goes right; then NaN (missing or unknown)."""
    codes = np.arange(n_known)
    bits = tree.raw_left_cat_bitsets[split["bitset_idx"]]
    return np.append(1.0 - ((bits[codes // 32] >> (codes % 32).astype(np.uint32)) & 1), np.nan)


def _split_plan(model: Any) -> tuple[_SplitColumns, list[list[Any]]]:
    """The 0/1 columns that stand for the categorical splits, and the trees rewritten to split on them.

    scikit-learn sends a category to the left when its code is in the split's
    set; here the split reads a column that is 0 for those codes, 1 for the
    other known ones and NaN for missing and unknown values, and sends it left
    when it is at most 0.5 (NaN where scikit-learn sends missing values).
    """
    pre = model._preprocessor
    masks = {name: np.asarray(cols, dtype=bool) for name, _, cols in pre.transformers_ if name != "remainder"}
    order = [int(i) for i in np.flatnonzero(masks["encoder"])] + [int(i) for i in np.flatnonzero(masks["numerical"])]
    known = [len(c) - int(len(c) > 0 and nan_like(c[-1])) for c in pre.named_transformers_["encoder"].categories_]
    found: list[tuple[np.ndarray, int, int, np.ndarray]] = []
    predictors = []
    for per_iteration in model._predictors:
        trees = []
        for tree in per_iteration:
            nodes = tree.nodes.copy()
            for i in np.flatnonzero(nodes["is_categorical"].astype(bool) & ~nodes["is_leaf"].astype(bool)):
                f = int(nodes["feature_idx"][i])
                found.append((nodes, int(i), f, _goes_right(tree, nodes[i], known[f])))
            trees.append(types.SimpleNamespace(nodes=nodes))
        predictors.append(trees)
    columns: dict[int, list[np.ndarray]] = {f: [] for f in sorted({f for _, _, f, _ in found})}
    offset = len(order)
    for f in columns:  # the 0/1 columns follow the model's features, grouped by feature
        for nodes, i, g, right in found:
            if g == f:
                nodes["feature_idx"][i] = offset + len(columns[f])
                nodes["is_categorical"][i] = 0
                nodes["num_threshold"][i] = 0.5
                columns[f].append(right)
        offset += len(columns[f])
    return _SplitColumns(order, [(f, np.column_stack(c)) for f, c in columns.items()]), predictors


def parse_hgb(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """HistGradientBoosting as its scikit-learn class, after the 0/1 columns of its categorical splits if any."""
    if getattr(model, "_preprocessor", None) is None:
        view = _base_view(model)
    else:
        plan, predictors = _split_plan(model)
        view = _base_view(model, predictors)
        width = len(plan.order) + sum(t.shape[1] for _, t in plan.tables)
        inputs = _declare(scope, "AutomlCategoricalSplits", plan, inputs, FloatTensorType([None, width]))
    scope.add_options(id(view), (scope.options or {}).get(id(model)))
    if is_classifier(model):
        return _parse_sklearn_classifier(scope, view, inputs, custom_parsers=custom_parsers)
    return _parse_sklearn_simple_model(scope, view, inputs, custom_parsers=custom_parsers)


def _convert_split_columns(scope: Any, operator: Any, container: Any) -> None:
    g, plan = Graph(scope, container), operator.raw_operator
    x = operator.inputs[0].full_name
    if plan.order != list(range(len(plan.order))):
        x = g.op("Gather", x, g.const(plan.order), axis=1)
    parts = [x]
    for f, table in plan.tables:
        code = g.op("Squeeze", g.column(x, f), g.const([1]))
        n = table.shape[0] - 1  # known codes; the last row is for anything else
        unknown = g.op("Or", g.op("IsNaN", code), g.op("Less", code, g.const(0.0)))
        unknown = g.op("Or", unknown, g.op("GreaterOrEqual", code, g.const(float(n))))
        index = g.op("Cast", g.op("Where", unknown, g.const(float(n)), code), to=TensorProto.INT64)
        parts.append(g.op("Gather", g.const(table), index, axis=0))
    g.op("Concat", *parts, output=operator.outputs[0].full_name, axis=1)


# -- two skl2onnx 1.20 bugs, worked around for one conversion -----------------------------------------


class _IntFlags:
    """A container whose ``add_node`` writes booleans in list attributes as integers.

    skl2onnx's HistGradientBoosting converter passes ``False`` among the
    integers of ``nodes_missing_value_tracks_true``, which protobuf refuses.
    """

    def __init__(self, container: Any) -> None:
        self._container = container

    def __getattr__(self, name: str) -> Any:
        return getattr(self._container, name)

    def add_node(self, *args: Any, **attrs: Any) -> Any:
        for key, value in attrs.items():
            if isinstance(value, list) and any(isinstance(v, (bool, np.bool_)) for v in value):
                attrs[key] = [int(v) for v in value]
        return self._container.add_node(*args, **attrs)


def _convert_hgb(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common._registration import get_converter

    alias = sklearn_operator_name_map[type(operator.raw_operator)]
    get_converter(alias)(scope, operator, _IntFlags(container))


#: one conversion at a time (the neighbours' fix replaces a function of skl2onnx while it runs)
_CONVERTING = threading.Lock()


@contextlib.contextmanager
def knn_distances() -> Iterator[None]:
    """Let skl2onnx's k-nearest-neighbours converters weigh neighbours by distance.

    With opset 11 and later, skl2onnx returns the distances of the nearest
    neighbours negated, so ``weights="distance"`` gives every neighbour the
    same weight; their absolute value is the distance, whatever skl2onnx
    version returns them.
    """
    from skl2onnx.algebra.onnx_ops import OnnxAbs
    from skl2onnx.operator_converters import nearest_neighbours as nn

    original = nn.onnx_nearest_neighbors_indices_k

    def fixed(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        if not kwargs.get("keep_distances"):
            return out
        return out[0], OnnxAbs(out[1], op_version=kwargs.get("op_version"))

    with _CONVERTING:
        nn.onnx_nearest_neighbors_indices_k = fixed
        try:
            yield
        finally:
            nn.onnx_nearest_neighbors_indices_k = original


# -- what a conversion uses ----------------------------------------------------------------------------

#: parsers of scikit-learn classes
PARSERS: dict[type, Callable[..., list[Any]]] = {
    SimpleImputer: parse_imputer,
    OneHotEncoder: parse_onehot,
    QuantileTransformer: parse_quantiles,
    TargetEncoder: parse_target_encoder,
}
#: shape calculators and converters of the operators those parsers (and :func:`parse_hgb`) declare
CONVERTERS: dict[type, tuple[Callable[..., None], Callable[..., None]]] = {
    _FillStrings: (shape_given, _convert_string_imputer),
    _Indicators: (shape_given, _convert_indicators),
    _OneHot: (shape_given, _convert_onehot),
    _TargetCodes: (shape_given, _convert_target_encoder),
    Quantiles: (shape_given, convert_quantiles),
    _SplitColumns: (shape_given, _convert_split_columns),
}
#: converters that replace skl2onnx's own for a scikit-learn class
FIXED_CONVERTERS: dict[type, Callable[..., None]] = dict.fromkeys(HGB, _convert_hgb)

__all__ = ["CONVERTERS", "FIXED_CONVERTERS", "HGB", "PARSERS", "knn_distances", "parse_hgb"]
