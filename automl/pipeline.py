"""Building the scikit-learn Pipeline for one configuration."""

from __future__ import annotations

from collections.abc import Mapping

from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.pipeline import Pipeline

from automl.cleaning import TableCleaner
from automl.context import Context
from automl.data import Schema
from automl.specs import ModelSpec, PreprocessorSpec
from automl.trial import TrialConfig

_SELECTORS = {
    "numeric": make_column_selector(dtype_include="number"),
    "categorical": make_column_selector(dtype_exclude="number"),
}


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
        transformers.append((kind, spec.build(params, ctx), _SELECTORS[kind]))
        pandas_output = pandas_output or spec.pandas_output
    prepare = ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=False, sparse_threshold=0.0)
    if pandas_output:
        prepare.set_output(transform="pandas")
    model = models[config.model].build(config.model_params, ctx)
    return Pipeline([("clean", TableCleaner(schema)), ("prepare", prepare), ("model", model)])


__all__ = ["build_pipeline"]
