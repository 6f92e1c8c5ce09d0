"""Building the scikit-learn Pipeline for one configuration: ``clean -> prepare -> model``.

Every pipeline the library fits is built here, the trials', the final refit's
and the last-resort baseline's alike.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.compose import make_column_selector
from sklearn.pipeline import Pipeline

from automl.context import Context
from automl.pipeline.cleaning import TableCleaner
from automl.pipeline.columns import PrepareColumns
from automl.pipeline.schema import Schema
from automl.specs import ModelSpec, PreprocessorSpec


@dataclass(frozen=True)
class TrialConfig:
    """A pipeline choice: one model and one preprocessor per column kind, with parameters."""

    model: str
    model_params: dict[str, Any]
    preprocessing: dict[str, tuple[str, dict[str, Any]]]

    def describe_preprocessing(self) -> str:
        """Short text such as ``"numeric=impute, categorical=onehot"``."""
        return ", ".join(f"{kind}={name}" for kind, (name, _) in sorted(self.preprocessing.items())) or "-"

    def all_params(self) -> dict[str, Any]:
        """Model parameters and preprocessing parameters, flat."""
        out = dict(self.model_params)
        for kind, (name, params) in sorted(self.preprocessing.items()):
            for k, v in params.items():
                out[f"{kind}.{name}.{k}"] = v
        return out


_SELECTORS = {
    "numeric": make_column_selector(dtype_include="number"),
    "categorical": make_column_selector(dtype_exclude="number"),
}


def _selector(kind: str, schema: Schema) -> make_column_selector:
    """The columns of one kind in the cleaned table: by dtype, and by name where text columns share the string dtype."""
    text = [re.escape(c.safe) for c in schema.kept if c.kind == "text"]
    if not text:
        return _SELECTORS[kind]
    names = "|".join(text)
    if kind == "text":
        return make_column_selector(pattern=f"^(?:{names})$")
    if kind == "categorical":
        return make_column_selector(pattern=f"^(?!(?:{names})$)", dtype_exclude="number")
    return _SELECTORS[kind]


def build_pipeline(
    config: TrialConfig,
    models: Mapping[str, ModelSpec],
    preprocessors: Mapping[str, PreprocessorSpec],
    schema: Schema,
    ctx: Context,
) -> Pipeline:
    """Return the unfitted ``Pipeline(clean -> prepare -> model)`` for a configuration.

    Parameters
    ----------
    config : TrialConfig
        Model and preprocessing choices with their parameters.
    models, preprocessors : mapping
        Registered components by name.
    schema : Schema
        How each input column is used.
    ctx : Context
        Passed to the components' ``build`` functions.
    """
    transformers = []
    pandas_output = False
    for kind, (name, params) in sorted(config.preprocessing.items()):
        spec = preprocessors[name]
        transformers.append((kind, spec.build(params, ctx), _selector(kind, schema)))
        pandas_output = pandas_output or spec.pandas_output
    prepare = PrepareColumns(transformers, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0.0)
    if pandas_output:
        prepare.set_output(transform="pandas")
    model = models[config.model].build(config.model_params, ctx)
    return Pipeline([("clean", TableCleaner(schema)), ("prepare", prepare), ("model", model)])


def fit_weighted(estimator: Any, X: Any, y: Any, weights: Any = None) -> Any:
    """``estimator.fit(X, y)``, with ``sample_weight`` for its model when there are weights.

    A pipeline passes them to its last step (``model__sample_weight``), the
    model; preprocessing is fitted unweighted.
    """
    if weights is None:
        return estimator.fit(X, y)
    if hasattr(estimator, "steps"):
        return estimator.fit(X, y, **{f"{estimator.steps[-1][0]}__sample_weight": weights})
    return estimator.fit(X, y, sample_weight=weights)


@dataclass(frozen=True)
class PipelineBuilder:
    """Builds the pipelines of one fit: its components, its columns and what the components are told.

    Parameters
    ----------
    models, preprocessors : mapping
        Registered components by name.
    schema : Schema
        How each input column is used.
    context : Context
        Facts handed to the components; ``n_rows`` is the rows of a training fold.
    n_rows_all : int
        Rows of the whole table, which a final refit (``final=True``) trains on.
    """

    models: Mapping[str, ModelSpec]
    preprocessors: Mapping[str, PreprocessorSpec]
    schema: Schema
    context: Context
    n_rows_all: int

    def build(
        self, config: TrialConfig, n_threads: int = 1, final: bool = False, n_rows: int | None = None
    ) -> Pipeline:
        """The unfitted pipeline of ``config``, for a fold or (``final``) for all rows, or for ``n_rows`` rows."""
        rows = n_rows if n_rows is not None else self.n_rows_all if final else self.context.n_rows
        ctx = self.context.replace(n_threads=n_threads, n_rows=rows, final=final)
        return build_pipeline(config, self.models, self.preprocessors, self.schema, ctx)


__all__ = ["PipelineBuilder", "TrialConfig", "build_pipeline", "fit_weighted"]
