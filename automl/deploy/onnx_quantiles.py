"""QuantileTransformer in ONNX, uniform and normal, as scikit-learn computes it.

skl2onnx 1.20 converts only the uniform output, and takes minutes to build
its graph for the 1,000 quantiles the built-in ``impute_scale`` preprocessor
may fit. This graph interpolates as ``np.interp`` does, in float64: each
column against its own quantiles, up and down (scikit-learn's mean of both,
for runs of repeated values), then the bounds and, for ``"normal"``, the
normal quantile function (Acklam's approximation, relative error below
1.2e-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from onnx import TensorProto
from skl2onnx.common.data_types import FloatTensorType
from sklearn.preprocessing import QuantileTransformer

from automl.deploy.onnx_graph import Graph

#: Acklam's rational approximation of the normal quantile function: central region, numerator and denominator
_CENTRAL = (
    (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628277459239,
    ),
    (-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572, 1.0),
)
#: ... and the tails, below this probability
_TAIL = (
    (-7.784894002430293e-03, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
     2.938163982698783),
    (7.784695709041462e-03, 0.3224671290700398, 2.445134137142996, 3.754408661907416, 1.0),
)  # fmt: skip
_TAIL_BELOW = 0.02425
#: scikit-learn's distance to the bounds, and its clipping of the uniform quantiles before the normal quantile function
_BOUND = 1e-7


@dataclass(eq=False)
class Quantiles:
    """A fitted QuantileTransformer's quantiles ``[n_quantiles, n_features]``, references and output distribution."""

    quantiles: np.ndarray
    references: np.ndarray
    normal: bool


def parse_quantiles(scope: Any, model: QuantileTransformer, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """The parser of every QuantileTransformer (see the module docstring)."""
    plan = Quantiles(model.quantiles_, np.asarray(model.references_), model.output_distribution == "normal")
    op = scope.declare_local_operator("AutomlQuantileTransformer", plan)
    op.inputs = inputs
    op.outputs.append(scope.declare_local_variable("quantiles", FloatTensorType([None, model.quantiles_.shape[1]])))
    return list(op.outputs)


def convert_quantiles(scope: Any, operator: Any, container: Any) -> None:
    """scikit-learn's transform: the mean of the interpolations up and down, the bounds, then ``norm.ppf``.

    In float64, after :func:`_snap`, because a run of equal quantiles often
    starts with one a rounding error below them (out of the percentile
    interpolation), which float32 would merge into the run.
    """
    g, plan = Graph(scope, container), operator.raw_operator
    x = _snap(g, g.op("Cast", g.joined(operator.inputs), to=TensorProto.DOUBLE), plan.quantiles)
    up = _interp(g, x, plan.quantiles, plan.references)
    down = _interp(g, g.op("Neg", x), -plan.quantiles[::-1], -plan.references[::-1])
    y = g.op("Mul", g.op("Sub", up, down), g.const(0.5, double=True))
    low, high = g.const(plan.quantiles[0][None], double=True), g.const(plan.quantiles[-1][None], double=True)
    if plan.normal:  # within 1e-7 of a bound: the bound
        bound = g.const(_BOUND, double=True)
        at_low, at_high = g.op("Less", g.op("Sub", x, bound), low), g.op("Greater", g.op("Add", x, bound), high)
    else:
        at_low, at_high = g.op("Equal", x, low), g.op("Equal", x, high)
    y = g.op("Where", at_high, g.const(1.0, double=True), y)
    y = g.op("Where", at_low, g.const(0.0, double=True), y)
    y = g.op("Where", g.op("IsNaN", x), x, y)
    if plan.normal:
        y = _normal_quantile(g, y)
    g.op("Cast", y, output=operator.outputs[0].full_name, to=TensorProto.FLOAT)


def _snap(g: Graph, x: str, xp: np.ndarray) -> str:
    """``x`` (float32 values, as float64) moved onto the nearest quantile within half a float32 step.

    A value repeated in the training column (a median an imputer filled in, a
    price like 9.99) is a run of equal quantiles, which scikit-learn maps to
    the middle of its run; its float32 input only comes within half a float32
    step of it, which would map it to an end of the run.
    """
    width = xp.shape[1]
    distance = g.op("Abs", g.op("Sub", g.op("Unsqueeze", x, g.const([1])), g.const(xp[None], double=True)))
    nearest = g.op("ArgMin", distance, axis=1, keepdims=0)
    at = g.op("Add", g.op("Mul", nearest, g.const(width)), g.const(np.arange(width)))
    value = g.op("Gather", g.const(xp.ravel(), double=True), at)
    half_step = g.op("Mul", g.op("Abs", x), g.const(2.0**-24, double=True))
    return g.op("Where", g.op("LessOrEqual", g.op("Abs", g.op("Sub", value, x)), half_step), value, x)


def _interp(g: Graph, x: str, xp: np.ndarray, fp: np.ndarray) -> str:
    """``np.interp`` of every column of ``x`` [N, F] (float64) on its own points ``xp[:, f]`` with values ``fp``."""
    n, width = xp.shape
    # j: the last point at or below x (the last of equal points, as np.interp), kept below the last point
    below = g.op(
        "Cast",
        g.op("LessOrEqual", g.const(xp[None], double=True), g.op("Unsqueeze", x, g.const([1]))),
        to=TensorProto.INT64,
    )
    count = g.op("ReduceSum", below, g.const([1]), keepdims=0)
    j = g.op("Clip", g.op("Sub", count, g.const(1)), g.const(0), g.const(n - 2))
    at = g.op("Add", g.op("Mul", j, g.const(width)), g.const(np.arange(width)))  # row j of column f, flattened
    after = g.op("Add", at, g.const(width))
    xs, fs = g.const(xp.ravel(), double=True), g.const(np.repeat(fp, width), double=True)
    x0, x1, y0, y1 = (
        g.op("Gather", xs, at),
        g.op("Gather", xs, after),
        g.op("Gather", fs, at),
        g.op("Gather", fs, after),
    )
    span = g.op("Sub", x1, x0)
    span = g.op("Where", g.op("Equal", span, g.const(0.0, double=True)), g.const(1.0, double=True), span)
    t = g.op("Clip", g.op("Div", g.op("Sub", x, x0), span), g.const(0.0, double=True), g.const(1.0, double=True))
    y = g.op("Add", y0, g.op("Mul", t, g.op("Sub", y1, y0)))
    # at or beyond the last point: its value
    last = g.const(np.repeat(fp[-1], width), double=True)
    return g.op("Where", g.op("GreaterOrEqual", count, g.const(n)), last, y)


def _horner(g: Graph, x: str, coefficients: tuple[float, ...]) -> str:
    out = g.const(coefficients[0], double=True)
    for c in coefficients[1:]:
        out = g.op("Add", g.op("Mul", out, x), g.const(c, double=True))
    return out


def _normal_quantile(g: Graph, p: str) -> str:
    """``norm.ppf`` of float64 probabilities clipped to [1e-7, 1 - 1e-7], computed on the nearer tail.

    The rational approximations cancel large terms, which float32 cannot
    afford; and the lower tail ``r = min(p, 1 - p)`` is clipped at 1e-7 before
    the sign is restored, so both tails keep scikit-learn's precision.
    """
    r = g.op("Max", g.op("Min", p, g.op("Sub", g.const(1.0, double=True), p)), g.const(_BOUND, double=True))
    q = g.op("Sub", r, g.const(0.5, double=True))
    q2 = g.op("Mul", q, q)
    central = g.op("Div", g.op("Mul", _horner(g, q2, _CENTRAL[0]), q), _horner(g, q2, _CENTRAL[1]))
    t = g.op("Sqrt", g.op("Mul", g.const(-2.0, double=True), g.op("Log", r)))
    tail = g.op("Div", _horner(g, t, _TAIL[0]), _horner(g, t, _TAIL[1]))
    low = g.op("Where", g.op("Less", r, g.const(_TAIL_BELOW, double=True)), tail, central)
    return g.op("Where", g.op("Greater", p, g.const(0.5, double=True)), g.op("Neg", low), low)


__all__ = ["Quantiles", "convert_quantiles", "parse_quantiles"]
