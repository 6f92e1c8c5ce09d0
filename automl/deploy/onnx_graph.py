"""The small toolkit the ONNX converters of :mod:`automl.deploy` write their nodes with."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from onnx import TensorProto


class Graph:
    """Writes nodes and constants into the graph skl2onnx is building for one operator.

    Parameters
    ----------
    scope, container
        What skl2onnx hands a converter: the scope names variables, the container holds the graph.
    """

    def __init__(self, scope: Any, container: Any) -> None:
        self.scope = scope
        self.container = container

    def op(self, op_type: str, *inputs: str, output: str | None = None, **attrs: Any) -> str:
        """Add one node of the default domain; return the name of its output."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type, list(inputs), [output], name=self.scope.get_unique_operator_name(op_type), **attrs
        )
        return output

    def ml(self, op_type: str, *inputs: str, output: str | None = None, **attrs: Any) -> str:
        """Add one node of the ``ai.onnx.ml`` domain (version 2); return the name of its output."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(
            op_type, list(inputs), [output], op_domain="ai.onnx.ml", op_version=2, name=name, **attrs
        )
        return output

    def const(self, value: Any, double: bool = False) -> str:
        """A constant: strings, int64 for integers and booleans, float32 for numbers (float64 when ``double``)."""
        arr = np.asarray(value)
        name = self.scope.get_unique_variable_name("c")
        shape = list(arr.shape)
        if double:
            self.container.add_initializer(name, TensorProto.DOUBLE, shape, arr.astype(np.float64).ravel().tolist())
        elif arr.dtype.kind in "OUS":
            self.container.add_initializer(name, TensorProto.STRING, shape, [str(v) for v in arr.ravel()])
        elif arr.dtype.kind in "iub":
            self.container.add_initializer(name, TensorProto.INT64, shape, arr.astype(np.int64).ravel().tolist())
        else:
            self.container.add_initializer(name, TensorProto.FLOAT, shape, arr.astype(np.float32).ravel().tolist())
        return name

    def joined(self, variables: Any) -> str:
        """The operator's input variables side by side, as one tensor."""
        names = [v.full_name for v in variables]
        return names[0] if len(names) == 1 else self.op("Concat", *names, axis=1)

    def column(self, x: str, j: int) -> str:
        """Column ``j`` of a 2-D tensor, one column wide."""
        return self.op("Gather", x, self.const([j]), axis=1)

    def flag(self, condition: str) -> str:
        """A boolean tensor as float32 0 and 1."""
        return self.op("Cast", condition, to=TensorProto.FLOAT)


def shape_given(operator: Any) -> None:
    """The shape calculator of operators whose parser set their output types."""


def nan_like(value: Any) -> bool:
    """True for NaN, None and ``pd.NA`` (a missing value as scikit-learn stores it)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, (float, np.floating)) and bool(np.isnan(value))


def as_string(category: Any) -> str:
    """A category as the graph reads it: a string, ``""`` for a missing value."""
    return "" if nan_like(category) else str(category)


__all__ = ["Graph", "as_string", "nan_like", "shape_given"]
