"""Lean transforms: a fitted preprocessing step as a plain function of a numpy array, without per-call checks.

A fitted scikit-learn transformer checks its input on every call (dtypes,
feature names, finiteness) and builds pandas objects around its output; on
one row that costs ten to a hundred times the arithmetic. Once the input is
known to be what the step was fitted on (the cleaned blocks of
:meth:`~automl.pipeline.cleaning.TableCleaner.blocks`), the work is a few
array operations. :func:`transform_op` returns that work for the steps the
library builds, computed exactly as the step computes it, or None for a step
it does not know, which then runs as it always does.

Categorical encoders are not re-implemented: a table of each column's outputs
is read from the fitted encoder itself, by transforming every category it
knows (and a missing and an unseen value) once, and each call looks values up
in it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from automl.lean import CodesOp, LeanOp, TableCodes

#: a value no encoder has seen, to read what an encoder gives an unseen value
_UNSEEN = "\x00automl-unseen-value\x00"


def transform_op(step: Any) -> LeanOp | None:
    """The lean form of a fitted step, or None when it has none.

    Parameters
    ----------
    step : transformer or "passthrough"
        A fitted step of a ``prepare`` branch: a Pipeline of such steps, or one
        of the scikit-learn transformers and encoders the built-in
        preprocessors use.

    Returns
    -------
    callable or None
        ``op(X) -> Xt`` on a float64 (numeric) or object (string) array,
        giving what ``step.transform`` gives on the same values as a
        DataFrame, element for element.

    Notes
    -----
    A transformer of a plugin gets a lean form by defining ``lean_op()``,
    which returns such a function (or None).
    """
    if isinstance(step, str):
        return _identity if step == "passthrough" else None
    own = getattr(step, "lean_op", None)
    if callable(own):
        return own()
    if isinstance(step, Pipeline):
        ops = [transform_op(s) for _, s in step.steps]
        if any(op is None for op in ops):
            return None
        if len(ops) >= 2 and isinstance(ops[1], CodesOp):
            imputed = _imputed_codes(step.steps[0][1], ops[0], ops[1])  # type: ignore[arg-type]
            if imputed is not None:
                ops = [imputed, *ops[2:]]
        if len(ops) >= 2 and isinstance(ops[0], CodesOp):
            return _CodesChain(ops[0], ops[1:])  # type: ignore[arg-type]
        return ops[0] if len(ops) == 1 else _chain(ops)  # type: ignore[arg-type]
    for kind, make in _MAKERS:
        if type(step) is kind:
            return make(step)
    return None


def _identity(X: np.ndarray) -> np.ndarray:
    return X


def _chain(ops: list[LeanOp]) -> LeanOp:
    def run(X: np.ndarray) -> np.ndarray:
        for op in ops:
            X = op(X)
        return X

    return run


def _imputer(imp: SimpleImputer) -> LeanOp | None:
    if not imp.keep_empty_features or not _is_nan(imp.missing_values):
        return None  # dropped columns and other markers of missing: leave them to scikit-learn
    indicator = getattr(imp, "indicator_", None)
    features = None
    if indicator is not None:
        if indicator.features != "missing-only" or indicator.sparse not in ("auto", False):
            return None
        features = indicator.features_
    statistics = imp.statistics_

    def run(X: np.ndarray) -> np.ndarray:
        fill = statistics.astype(X.dtype, copy=False)
        mask = _missing(X)
        if mask.any():
            X = X.copy()
            rows, cols = np.nonzero(mask)
            X[rows, cols] = fill[cols]
        if features is None:
            return X
        return np.hstack((X, mask[:, features]))

    return run


def _missing(X: np.ndarray) -> np.ndarray:
    """Where ``X`` is NaN, as scikit-learn's ``_get_mask(X, np.nan)`` finds it (without its per-call imports)."""
    if X.dtype.kind == "f":
        return np.isnan(X)
    if X.dtype.kind in "iub":
        return np.zeros(X.shape, dtype=bool)
    return X != X  # an object array: only NaN differs from itself


class _ImputedCodes(CodesOp):
    """A string for a missing value, then an encoder: one :class:`~automl.lean.CodesOp` on the raw strings.

    The codes of the filled table are those of the raw one, with each
    missing cell's code the fill's code in its column; so the encoder can
    start from codes shared with the other encoders of the same columns.
    """

    def __init__(self, impute: LeanOp, encode: CodesOp, fills: list[str]) -> None:
        self.impute, self.encode = impute, encode
        self.codes_table = encode.codes_table
        positions = [lookup.positions for lookup in self.codes_table.columns]
        self.fill_codes = np.array([p.get(v, -1) for p, v in zip(positions, fills, strict=True)], dtype=np.intp)

    def from_codes(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        missing = _missing(X)
        if missing.any():
            codes = np.where(missing, self.fill_codes, codes)
        return self.encode.from_codes(codes, self.impute(X))


class _CodesChain(CodesOp):
    """Steps after one that starts from codes (an encoder, then a scaler): a :class:`~automl.lean.CodesOp` too."""

    def __init__(self, first: CodesOp, rest: list[LeanOp]) -> None:
        self.first, self.rest = first, rest
        self.codes_table = first.codes_table

    def from_codes(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        out = self.first.from_codes(codes, X)
        for op in self.rest:
            out = op(out)
        return out


def _imputed_codes(imputer: Any, impute: LeanOp, encode: CodesOp) -> CodesOp | None:
    """``[imputer, encoder]`` as one :class:`_ImputedCodes`, where the imputer fills each column with a string.

    A constant or a column's most frequent value: either way ``statistics_``
    holds the string that fills each column.
    """
    if type(imputer) is not SimpleImputer or imputer.strategy not in ("constant", "most_frequent"):
        return None
    fills = list(imputer.statistics_)
    if getattr(imputer, "indicator_", None) is not None or not all(isinstance(v, str) for v in fills):
        return None
    if len(fills) != len(encode.codes_table.columns):
        return None
    return _ImputedCodes(impute, encode, fills)


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _standard(scaler: StandardScaler) -> LeanOp:
    mean = scaler.mean_ if scaler.with_mean else None
    scale = scaler.scale_ if scaler.with_std else None
    return _center_scale(mean, scale)


def _robust(scaler: RobustScaler) -> LeanOp:
    center = scaler.center_ if scaler.with_centering else None
    scale = scaler.scale_ if scaler.with_scaling else None
    return _center_scale(center, scale)


def _center_scale(center: np.ndarray | None, scale: np.ndarray | None) -> LeanOp:
    def run(X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=np.float64)  # a copy, as the scaler's own check makes
        if center is not None:
            X -= center
        if scale is not None:
            X /= scale
        return X

    return run


def _quantile(qt: QuantileTransformer) -> LeanOp | None:
    inner = getattr(qt, "_transform", None)
    if inner is None:
        return None
    return lambda X: inner(np.array(X, dtype=np.float64), inverse=False)


def _function(ft: FunctionTransformer) -> LeanOp | None:
    return _identity if ft.func is None and not ft.validate else None


class _NotStrings(Exception):
    """An encoder fitted on values other than strings: left to scikit-learn."""


class _Lookup(CodesOp):
    """An encoder as per-column tables: each known value's output, and the output of a missing and an unseen value.

    The tables lie end to end in one flat array; output column ``c`` of a row
    reads ``flat[base[c] + row_of_its_column * stride[c]]``, so the whole
    output is one gather after one pass of lookups.
    """

    def __init__(self, encoder: Any, categories: list[np.ndarray], widths: list[int]) -> None:
        for cats in categories:
            if not all(isinstance(c, str) or _is_nan(c) for c in cats):
                raise _NotStrings
        probe = np.array([[c[0] if len(c) else _UNSEEN for c in categories]], dtype=object)
        knowns, tables = [], []
        for j, (cats, width) in enumerate(zip(categories, widths, strict=True)):
            known = [c for c in cats if isinstance(c, str)]
            # rows: the known values, then missing, then unseen
            rows = np.repeat(probe, len(known) + 2, axis=0)
            rows[: len(known), j] = known
            rows[len(known), j] = np.nan
            rows[len(known) + 1, j] = _UNSEEN
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(encoder.transform(rows), dtype=np.float64)
            start = sum(widths[:j])
            knowns.append(known)
            tables.append(out[:, start : start + width])
        self.codes_table = TableCodes.shared(knowns)
        self.missing_rows = np.array([len(k) for k in knowns], dtype=np.intp)
        starts = np.r_[0, np.cumsum([t.size for t in tables])[:-1]].astype(np.intp)
        self.flat = np.concatenate([t.ravel() for t in tables]) if tables else np.zeros(0)
        self.column_of = np.repeat(np.arange(len(tables)), widths)
        self.stride = np.repeat(np.asarray(widths, dtype=np.intp), widths)
        self.base = np.repeat(starts, widths) + np.concatenate([np.arange(w) for w in widths] or [np.zeros(0, int)])
        self.width = sum(widths)

    def from_codes(self, codes: np.ndarray, X: np.ndarray) -> np.ndarray:
        codes = np.where(codes < 0, self.missing_rows + 1, codes)  # unseen: the last row
        codes = np.where(_missing(X), self.missing_rows, codes)
        # row-major, as the encoder's own output: a model's arithmetic may depend on the layout (BLAS)
        return self.flat[self.base + codes.take(self.column_of, axis=1) * self.stride]


def _lookup(encoder: Any, widths: list[int]) -> LeanOp | None:
    try:
        return _Lookup(encoder, encoder.categories_, widths)
    except _NotStrings:
        return None


def _onehot(enc: OneHotEncoder) -> LeanOp | None:
    if enc.handle_unknown == "error" or getattr(enc, "sparse_output_", enc.sparse_output):
        return None
    return _lookup(enc, list(enc._n_features_outs))


def _ordinal(enc: OrdinalEncoder) -> LeanOp | None:
    if enc.handle_unknown == "error":
        return None
    return _lookup(enc, [1] * len(enc.categories_))


def _target(enc: TargetEncoder) -> LeanOp | None:
    width = len(enc.classes_) if enc.target_type_ == "multiclass" else 1
    return _lookup(enc, [width] * len(enc.categories_))


_MAKERS: list[tuple[type, Callable[[Any], LeanOp | None]]] = [
    (SimpleImputer, _imputer),
    (StandardScaler, _standard),
    (RobustScaler, _robust),
    (QuantileTransformer, _quantile),
    (FunctionTransformer, _function),
    (OneHotEncoder, _onehot),
    (OrdinalEncoder, _ordinal),
    (TargetEncoder, _target),
]

__all__ = ["transform_op"]
