"""Lean prediction: a fitted ``clean -> prepare -> model`` pipeline's predictions from the cleaned arrays.

The pipeline's own call turns the cleaned table into DataFrames, checks them
in every step and hands the model a DataFrame or an array. The lean form
cleans the input into two arrays once (:meth:`TableCleaner.blocks`), runs each
``prepare`` branch as a plain function of its columns
(:func:`~automl.pipeline.lean.transform_op`) and calls the model on the
stacked array. The result is the pipeline's own, element for element; a
pipeline with any step the lean form does not know has no lean form, and an
ensemble runs such a member as it always does.

Models: any model that receives an array in its pipeline is called on the
same array. Forests and LightGBM models are called below their scikit-learn
wrappers (one validation for all trees; LightGBM's Booster on the array it
would have built from the DataFrame), linear models are their arithmetic
(:mod:`~automl.pipeline.lean_linear`), and a model of a plugin can offer its
own lean form with ``lean_op(method)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.utils._set_output import _get_output_config

from automl.lean import CodesOp, LeanOp, is_lightgbm, lightgbm_op
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.columns import branches
from automl.pipeline.lean import transform_op
from automl.pipeline.lean_linear import linear_op
from automl.pipeline.lean_neighbors import NEIGHBORS, neighbors_op
from automl.pipeline.lean_trees import FORESTS, HIST_GRADIENT_BOOSTING, forest_op, hist_gradient_boosting_op

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeanBranch:
    """One ``prepare`` branch: its key (shared between members), the block and columns it reads, its lean form."""

    key: Any
    block: int
    columns: np.ndarray
    op: LeanOp


@dataclass(frozen=True)
class LeanMember:
    """A pipeline in lean form: its cleaner (and key), its branches, its model's lean method."""

    clean_key: Any
    cleaner: TableCleaner
    branches: list[LeanBranch]
    predict: LeanOp

    def run(self, X: Any, done: dict[Any, Any]) -> np.ndarray:
        """The pipeline's ``method`` on X; ``done`` holds the blocks and branch outputs other members computed."""
        return self.predict(self.inputs(X, done))

    def inputs(self, X: Any, done: dict[Any, Any]) -> np.ndarray:
        """The array the model gets: X cleaned and through every branch, reusing and adding to ``done``."""
        blocks = done.get(self.clean_key)
        if blocks is None:
            blocks = done[self.clean_key] = self.cleaner.blocks(X)
        parts = []
        for branch in self.branches:
            out = done.get(branch.key)
            if out is None:
                out = done[branch.key] = _branch_output(branch, blocks[branch.block], done)
            parts.append(out)
        return np.hstack(parts)


def _branch_output(branch: LeanBranch, block: np.ndarray, done: dict[Any, Any]) -> np.ndarray:
    """A branch's output on its columns of ``block``; the category codes of those columns found once a call.

    Branches of different members that look the same columns up in the same
    categories (a :class:`~automl.lean.CodesOp` of the same ``codes_table``)
    share the codes through ``done``, which lives for one call.
    """
    X = block[:, branch.columns]
    if not isinstance(branch.op, CodesOp):
        return branch.op(X)
    table = branch.op.codes_table
    key = ("codes", id(table), id(block), branch.columns.tobytes())  # the table and block live as long as done
    codes = done.get(key)
    if codes is None:
        codes = done[key] = table.codes(X)
    return branch.op.from_codes(codes, X)


def lean_member(
    pipe: Any, method: str, clean_key: Any = None, branch_keys: list[Any] | None = None
) -> LeanMember | None:
    """The lean form of a fitted ``Pipeline(clean, prepare, model)`` for ``method``, or None.

    Parameters
    ----------
    pipe : Pipeline
        A pipeline the library built and fitted.
    method : {"predict", "predict_proba"}
        The model's method to call.
    clean_key, branch_keys : optional
        Keys under which the cleaned blocks and each branch's output are shared
        with other members (an ensemble gives equal keys to equal fitted
        steps); by default, keys of this pipeline alone.
    """
    if not isinstance(pipe, Pipeline) or len(pipe.steps) != 3:
        return None
    try:
        return _lean_member(pipe, method, clean_key, branch_keys)
    except Exception:  # noqa: BLE001  (a step whose lean form cannot be built: the pipeline's own path answers)
        logger.debug("no lean form for the pipeline", exc_info=True)
        return None


def _lean_member(pipe: Pipeline, method: str, clean_key: Any, branch_keys: list[Any] | None) -> LeanMember | None:
    (_, cleaner), (_, prepare), (_, model) = pipe.steps
    if not isinstance(cleaner, TableCleaner) or not isinstance(prepare, ColumnTransformer):
        return None
    parts = branches(prepare)
    if parts is None or getattr(cleaner, "schema_", None) is None:
        return None
    floats, strings = cleaner.block_columns()
    where = {name: (0, i) for i, name in enumerate(floats)} | {name: (1, i) for i, name in enumerate(strings)}
    keys = branch_keys if branch_keys is not None else [(id(pipe), i) for i in range(len(parts))]
    lean_branches = []
    for key, (_, trans, labels) in zip(keys, parts, strict=True):
        places = [where.get(c) for c in labels]
        op = transform_op(trans)
        if op is None or None in places or len({b for b, _ in places}) != 1:  # type: ignore[misc]
            return None
        lean_branches.append(LeanBranch(key, places[0][0], np.array([i for _, i in places]), op))  # type: ignore[index]
    frame = _get_output_config("transform", prepare)["dense"] == "pandas"
    predict = model_op(model, method, frame)
    if predict is None:
        return None
    return LeanMember(clean_key if clean_key is not None else (id(pipe), "clean"), cleaner, lean_branches, predict)


def model_op(model: Any, method: str, frame: bool) -> LeanOp | None:
    """The lean form of a fitted model's ``method``, or None.

    Parameters
    ----------
    model : estimator
        The last step of a pipeline.
    method : str
        ``"predict"`` or ``"predict_proba"``.
    frame : bool
        Whether the pipeline gives the model a DataFrame (native categorical
        columns); then only a model that says how to read the lean arrays (the
        category codes) has a lean form.
    """
    own = getattr(model, "lean_op", None)
    if callable(own):
        return own(method)
    if is_lightgbm(model):
        return lightgbm_op(model, method)
    if frame and type(model).__module__.startswith(_READ_CODES) and hasattr(model, method):
        return getattr(model, method)
    if _inherits(model, HIST_GRADIENT_BOOSTING, method):
        return hist_gradient_boosting_op(model, method, frame)
    if frame or not hasattr(model, method):
        return None
    if type(model) in NEIGHBORS:
        return neighbors_op(model, method) or getattr(model, method)
    if _inherits(model, FORESTS, method):
        return forest_op(model, method)
    return linear_op(model, method) or getattr(model, method)


#: rows of the first call on which a lean form is compared with the pipeline's own output
CHECK_ROWS = 1000


def identical(a: Any, b: Any) -> bool:
    """The same values, shape and dtype, NaN where NaN."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def head(X: Any, n: int = CHECK_ROWS) -> Any:
    """The first ``n`` rows of a DataFrame or an array."""
    return X.iloc[:n] if hasattr(X, "iloc") else X[:n]


def checked(form: LeanMember | None, X: Any, own: Any, done: dict[Any, Any] | None = None) -> LeanMember | None:
    """``form`` if it gives the pipeline's own output ``own`` on the first rows of X, else None (logged)."""
    if form is None:
        return None
    try:
        same = identical(form.run(head(X), {} if done is None else done), head(own))
    except Exception:  # noqa: BLE001  (a lean form that fails is not used; the pipeline's own path is)
        logger.debug("lean form failed; using the pipeline", exc_info=True)
        return None
    if not same:
        logger.debug("lean form differs from the pipeline's output; using the pipeline")
    return form if same else None


class LeanPipeline:
    """A fitted pipeline whose ``predict`` and ``predict_proba`` run in lean form where it gives the same output.

    The first call of each method runs the pipeline and its lean form and
    compares them; later calls run the lean form when they agreed, the
    pipeline otherwise (and whenever the lean form raises, so that a bad input
    gets the pipeline's own error). Other attributes are the pipeline's.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted ``Pipeline(clean, prepare, model)``; any other estimator just runs as it is.
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline
        self._forms: dict[str, LeanMember | None] = {}

    def __getattr__(self, name: str) -> Any:
        if name in ("pipeline", "_forms"):
            raise AttributeError(name)
        if name in ("predict", "predict_proba"):
            getattr(self.pipeline, name)  # an AttributeError when the pipeline has no such method
            return lambda X: self._call(name, X)
        return getattr(self.pipeline, name)

    def _call(self, method: str, X: Any) -> Any:
        own = getattr(_only_step(self.pipeline), method)
        if method not in self._forms:
            out = own(X)
            self._forms[method] = checked(lean_member(self.pipeline, method), X, out)
            return out
        form = self._forms[method]
        if form is None:
            return own(X)
        try:
            return form.run(X, {})
        except Exception:  # noqa: BLE001  (the pipeline's own path gives its own error, or the answer)
            logger.debug("lean form failed; running the pipeline", exc_info=True)
            return own(X)


def _only_step(pipeline: Any) -> Any:
    """The one step of a one-step Pipeline (an ensemble), whose methods are the pipeline's without its per-call work.

    scikit-learn's ``Pipeline.predict`` checks that it is fitted and copies its
    configuration on every call; with one step and no transform, the answer is
    the step's own. Anything else is returned as it is.
    """
    steps = getattr(pipeline, "steps", None)
    if type(pipeline) is Pipeline and len(steps) == 1 and steps[0][1] not in (None, "passthrough"):
        return steps[0][1]
    return pipeline


def _inherits(model: Any, kinds: tuple[type, ...], method: str) -> bool:
    """Whether ``model`` is one of ``kinds``, or a subclass that keeps its ``method`` and how it reads its trees."""
    for kind in kinds:
        if isinstance(model, kind):
            return all(getattr(type(model), m, None) is getattr(kind, m, None) for m in (method, "_raw_predict"))
    return False


#: packages whose models read a pandas ``category`` column as its codes (NaN for a missing value)
_READ_CODES = ("xgboost.",)

__all__ = ["CHECK_ROWS", "LeanBranch", "LeanMember", "LeanPipeline", "checked", "identical", "lean_member", "model_op"]
