"""From the user's X, y and arguments to one prepared problem: rows, task, metric, columns, folds, candidates."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import has_fit_parameter

from automl.context import Context
from automl.data.rows import RowInfo, check_positive_total, check_rows
from automl.data.target import check_y, drop_missing_target, encode_target, resolve_task
from automl.evaluation.cross_validation import Problem
from automl.evaluation.folds import Splits, make_splits, time_ordered
from automl.evaluation.metrics import resolve_metric
from automl.evaluation.sampling import subsample_holdout
from automl.exceptions import DataError, DataWarning
from automl.pipeline.build import PipelineBuilder
from automl.pipeline.cleaning import infinite_columns, infinite_message
from automl.pipeline.schema import Schema, as_frame, infer_schema
from automl.specs import ModelSpec

if TYPE_CHECKING:
    from automl.registry.components import Components

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """One problem, checked and ready to search.

    Attributes
    ----------
    problem : Problem
        The rows with a target, the encoded target, the folds, the metric and the
        task: what the workers evaluate pipelines on.
    schema : Schema
        How each column of X is used (decided on all rows, those without a target too).
    cv : str
        How trials are evaluated, in words (``"5-fold stratified"``).
    models : list of ModelSpec
        The candidate models for the task, after ``include`` and ``exclude``.
    builder : PipelineBuilder
        Builds the pipelines of this fit from the registered components.
    rows : RowInfo
        The weights, groups and time of the rows of ``problem``.
    """

    problem: Problem
    schema: Schema
    cv: str
    models: list[ModelSpec]
    builder: PipelineBuilder
    rows: RowInfo = RowInfo()


def prepare(
    X: Any,
    y: Any,
    components: Components,
    *,
    task: str,
    metric: Any,
    cv: Any,
    include: Sequence[str] | None,
    exclude: Sequence[str] | None,
    time_budget: float | None,
    random_state: int | None,
    measure_latency: bool = False,
    column_kinds: Mapping[str, str] | None = None,
    sample_weight: Any = None,
    groups: Any = None,
    time: Any = None,
) -> Prepared:
    """Check X and y against the fit's arguments and prepare the problem the search runs on.

    ``sample_weight``, ``groups`` and ``time`` (see :func:`automl.data.rows.check_rows`)
    follow the rows with a target: weights reach every fit and score, groups
    and time decide the folds.

    Raises
    ------
    DataError
        When X or y cannot be used (the message names the argument or column).
    ValueError
        When an argument does not fit the data (a metric for another task, an
        unknown model in ``include``, a ``cv`` that gives no folds).
    """
    X_all, Xf, ys, info = _rows(X, y, sample_weight, groups, time)
    task = resolve_task(task, ys)
    target = encode_target(ys, task)
    scorer = resolve_metric(metric, task, components.metrics)
    if info.weights is not None and target.classes is not None:
        _check_weighted_classes(info.weights, target.codes, target.classes)
    if info.weights is not None and not scorer.takes_weights:
        raise ValueError(
            f"metric {scorer.name!r} does not accept sample_weight, so weighted rows cannot be scored; "
            "use another metric or register one whose function takes sample_weight="
        )
    # the kind of every column is decided on all rows, those without a target too: X itself can be predicted
    schema = _without_unprepared_text(infer_schema(X_all, _kinds(column_kinds)), components)
    infinite = infinite_columns(Xf, [c for c in schema.kept if c.kind == "numeric"])
    if infinite:  # the pipelines' TableCleaner treats them as missing
        warnings.warn(infinite_message(infinite), DataWarning, stacklevel=4)
    by = {"groups": info.groups, "time": info.time}
    splits, cv_desc = make_splits(
        cv, target.codes, task, random_state, n_columns=Xf.shape[1], time_budget=time_budget, **by
    )
    if isinstance(cv, str) and cv in ("auto", "time"):  # a large table: trials train on a sample
        splits, sampled = subsample_holdout(
            splits, target.codes, task, len(schema.kept), time_budget, random_state, **by
        )
        cv_desc += f", {sampled}" if sampled else ""
    ctx = _context(task, schema, splits, target.classes, random_state).replace(time_ordered=time_ordered(cv, info.time))
    models = candidates(components.models, task, include, exclude)
    if info.weights is not None:
        models = weighted_candidates(models, ctx)
    problem = Problem(
        X=Xf,
        y=target.values,
        y_codes=target.codes,
        classes=target.classes,
        splits=splits,
        metric=scorer,
        task=task,
        measure_latency=measure_latency,
        weights=info.weights,
        order=info.order,
    )
    builder = PipelineBuilder(components.models, components.preprocessors, schema, ctx, n_rows_all=len(Xf))
    return Prepared(problem=problem, schema=schema, cv=cv_desc, models=models, builder=builder, rows=info)


def _check_weighted_classes(weights: np.ndarray, codes: np.ndarray, classes: np.ndarray) -> None:
    """Raise :class:`DataError` when the weights leave fewer than two classes with any weight."""
    totals = np.bincount(codes.astype(int), weights=weights, minlength=len(classes))
    if (totals > 0).sum() < 2:
        zero = [c.item() if hasattr(c, "item") else c for c in classes[totals == 0]]
        raise DataError(
            f"sample_weight is zero on every row of class(es) {zero[:10]}: a classifier needs weight on at least "
            "two classes; give those rows weight, or leave them out"
        )


def _kinds(column_kinds: Any) -> dict[str, str] | None:
    if column_kinds is None:
        return None
    if not isinstance(column_kinds, Mapping):
        raise ValueError(
            f"column_kinds must be a dict of column name -> kind, got {type(column_kinds).__name__}; "
            "e.g. column_kinds={'zip_code': 'categorical', 'review': 'text'}"
        )
    return dict(column_kinds)


def _without_unprepared_text(schema: Schema, components: Components) -> Schema:
    """The schema, its text columns dropped (with a warning naming them) when no plugin prepares text."""
    text = schema.names("text")
    if not text or any(p.kind == "text" for p in components.preprocessors.values()):
        return schema
    warnings.warn(
        f"column(s) {text} hold free text, which no installed plugin prepares, so they are ignored: "
        "pip install automl-text (TF-IDF for text columns) to use them, or pass "
        "column_kinds={name: 'categorical'} to read one as categories",
        DataWarning,
        stacklevel=5,
    )
    return schema.without_text("free text, and no installed plugin prepares text")


def _rows(
    X: Any, y: Any, sample_weight: Any, groups: Any, time: Any
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, RowInfo]:
    """X as given (as a frame), and X, y and the per-row facts on the rows with a target."""
    X_all = as_frame(X)
    if len(X_all) == 0:
        raise DataError("X has 0 samples; pass a table with rows")
    y_all = check_y(y, len(X_all))
    info = check_rows(X_all, sample_weight, groups, time)
    Xf, ys = drop_missing_target(X_all, y_all)
    if len(Xf) < len(X_all):
        info = info.take(y_all.notna().to_numpy())
    check_positive_total(info.weights)
    if len(Xf) < 2:
        raise DataError(
            f"X has {len(Xf)} sample(s) with a target; pass at least 2 rows with a target to evaluate a model"
        )
    return X_all, Xf, ys, info


def candidates(
    models: Mapping[str, ModelSpec], task: str, include: Sequence[str] | None, exclude: Sequence[str] | None
) -> list[ModelSpec]:
    """The registered models that serve ``task``, narrowed by ``include`` and ``exclude``.

    Raises
    ------
    ValueError
        When ``include`` or ``exclude`` names an unknown model, ``include`` names
        one that does not serve the task, or no model is left.
    """
    names = [m.name for m in models.values() if task in m.tasks]
    for arg, value in (("include", include), ("exclude", exclude)):
        unknown = [v for v in (value or []) if v not in models]
        if unknown:
            raise ValueError(f"{arg} names unknown model(s) {unknown}; available: {sorted(models)}")
    if include is not None:
        wrong_task = [v for v in include if task not in models[v].tasks]
        if wrong_task:
            raise ValueError(f"include names model(s) {wrong_task} that do not support a {task} task")
        names = [n for n in names if n in include]
    if exclude is not None:
        names = [n for n in names if n not in exclude]
    if not names:
        raise ValueError(f"no model is left for a {task} task after include/exclude")
    return [models[n] for n in names]


def weighted_candidates(models: list[ModelSpec], ctx: Context) -> list[ModelSpec]:
    """The models that take ``sample_weight``; the others are left out, with a log line saying so.

    A model takes weights when the estimator its ``build`` returns has a ``fit``
    with a ``sample_weight`` parameter (scikit-learn's convention). A model whose
    ``build`` cannot be called with its first defaults here is kept.

    Raises
    ------
    ValueError
        When no candidate takes weights.
    """
    kept = [m for m in models if _takes_weights(m, ctx)]
    left_out = [m.name for m in models if m not in kept]
    if left_out:
        logger.info("model(s) %s left out: their fit takes no sample_weight", left_out)
    if not kept:
        raise ValueError(
            f"no candidate model takes sample_weight (the fit of {left_out} has no sample_weight parameter); "
            "include models that do, or fit without weights"
        )
    return kept


def _takes_weights(model: ModelSpec, ctx: Context) -> bool:
    try:
        estimator = model.build(dict(model.defaults[0]), ctx)
    except Exception:  # a build that needs its space's parameters: let its trials tell
        return True
    return has_fit_parameter(estimator, "sample_weight")


def _context(
    task: str, schema: Schema, splits: Splits, classes: np.ndarray | None, random_state: int | None
) -> Context:
    """What the components are told about the problem; ``n_rows`` is the rows of a training fold."""
    return Context(
        task=task,
        n_rows=int(np.mean([len(tr) for tr, _ in splits])),
        n_features=len(schema.kept),
        n_numeric=len(schema.names("numeric")) + len(schema.names("datetime")),
        n_categorical=len(schema.names("categorical")),
        n_classes=0 if classes is None else len(classes),
        random_state=random_state,
    )


__all__ = ["Prepared", "candidates", "prepare", "weighted_candidates"]
