"""Built-in preprocessing: numeric imputation and scaling, categorical encoding.

Categorical columns can be one-hot encoded (rare values grouped), ordinal
encoded, target encoded (cross-fitted, for many-valued columns) or handed to
models that handle categories natively.
"""

from __future__ import annotations

import sklearn
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)

from automl.builtins.encoders import CategoryEncoder, missing_as_category
from automl.markers import hookimpl
from automl.specs import PreprocessorSpec

_SKLEARN = tuple(int(part) for part in sklearn.__version__.split(".")[:2])


def _impute_space(trial, ctx):
    return {
        "strategy": trial.suggest_categorical("strategy", ["median", "mean"]),
        "add_indicator": trial.suggest_categorical("add_indicator", [False, True]),
    }


def _impute(params, ctx):
    return SimpleImputer(
        strategy=params.get("strategy", "median"),
        add_indicator=params.get("add_indicator", False),
        keep_empty_features=True,
    )


def _impute_scale_space(trial, ctx):
    out = _impute_space(trial, ctx)
    out["scaler"] = trial.suggest_categorical("scaler", ["standard", "robust", "quantile"])
    return out


def _impute_scale(params, ctx):
    scaler = params.get("scaler", "standard")
    if scaler == "robust":
        step = RobustScaler()
    elif scaler == "quantile":
        step = QuantileTransformer(
            output_distribution="normal",
            n_quantiles=max(10, min(1000, ctx.n_rows)),
            random_state=ctx.random_state,
        )
    else:
        step = StandardScaler()
    return make_pipeline(_impute(params, ctx), step)


def _passthrough(params, ctx):
    return "passthrough"


def _onehot_space(trial, ctx):
    return {
        "min_frequency": trial.suggest_int("min_frequency", 1, 20, log=True),
        "max_categories": trial.suggest_int("max_categories", 4, 64, log=True),
    }


def _onehot(params, ctx):
    return make_pipeline(
        missing_as_category(),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=params.get("min_frequency", 5),
            max_categories=params.get("max_categories", 32),
            sparse_output=False,
        ),
    )


def _ordinal(params, ctx):
    return make_pipeline(
        missing_as_category(),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, dtype=float),
    )


def _target_space(trial, ctx):
    return {"smooth": trial.suggest_float("smooth", 0.1, 100.0, log=True)}


def _target(params, ctx):
    # cross-fitted inside fit_transform, so a row's own target never leaks into its code;
    # scaled because the codes are in the target's units
    k = max(2, min(5, ctx.n_rows // 4))  # fewer cross-fitting folds on tiny tables
    # rows in time order are cross-fitted in contiguous blocks, never shuffled
    shuffle = {"shuffle": True, "random_state": ctx.random_state} if not ctx.time_ordered else {"shuffle": False}
    folds: dict = {"cv": k, **shuffle}
    if _SKLEARN >= (1, 9):  # a splitter as cv; shuffle and random_state are deprecated
        splitter = KFold if ctx.task == "regression" else StratifiedKFold
        folds = {"cv": splitter(k, **shuffle)}
    encoder = TargetEncoder(
        target_type="continuous" if ctx.task == "regression" else ctx.task,
        smooth=params.get("smooth", "auto"),
        **folds,
    )
    return make_pipeline(missing_as_category(), encoder, StandardScaler())


def _native_space(trial, ctx):
    return {"min_frequency": trial.suggest_int("min_frequency", 1, 20, log=True)}


def _native(params, ctx):
    return CategoryEncoder(max_categories=250, min_frequency=params.get("min_frequency", 1))


@hookimpl
def automl_register_preprocessors(register):
    """Register impute, impute_scale, passthrough, onehot, ordinal, target and native."""
    register(
        PreprocessorSpec(
            name="impute",
            kind="numeric",
            build=_impute,
            space=_impute_space,
            defaults={"strategy": "median", "add_indicator": False},
            excludes=("needs_scaling",),
            priority=1,
        )
    )
    register(
        PreprocessorSpec(
            name="impute_scale",
            kind="numeric",
            build=_impute_scale,
            space=_impute_scale_space,
            defaults={"strategy": "median", "add_indicator": False, "scaler": "standard"},
            requires=("needs_scaling",),
            priority=1,
        )
    )
    register(
        PreprocessorSpec(
            name="passthrough",
            kind="numeric",
            build=_passthrough,
            requires=("handles_missing",),
            priority=2,
        )
    )
    register(
        PreprocessorSpec(
            name="onehot",
            kind="categorical",
            build=_onehot,
            space=_onehot_space,
            defaults={"min_frequency": 5, "max_categories": 32},
            priority=1,
        )
    )
    register(
        PreprocessorSpec(
            name="ordinal",
            kind="categorical",
            build=_ordinal,
            excludes=("needs_scaling",),
            priority=0,
        )
    )
    register(
        PreprocessorSpec(
            name="target",
            kind="categorical",
            build=_target,
            space=_target_space,
            defaults={"smooth": 10.0},
            priority=-1,
            # the encoder keeps its cross-fitting splitter
            trusted_types=("sklearn.model_selection._split.KFold", "sklearn.model_selection._split.StratifiedKFold"),
        )
    )
    register(
        PreprocessorSpec(
            name="native",
            kind="categorical",
            build=_native,
            space=_native_space,
            defaults={"min_frequency": 1},
            requires=("native_categorical",),
            priority=2,
            pandas_output=True,
            trusted_types=("automl.builtins.encoders.CategoryEncoder",),
        )
    )
