"""Built-in preprocessors, each inside a real pipeline on the mixed table."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import mixed_table

from automl.context import Context
from automl.pipeline.build import build_pipeline
from automl.pipeline.schema import infer_schema
from automl.registry import collect_components, get_plugin_manager
from automl.search.trial import TrialConfig


@pytest.fixture(scope="module")
def comps():
    return collect_components(get_plugin_manager(entry_points=False))


def targets(X, y):
    return {
        "binary": y,
        "multiclass": np.where(X["num"] > 0.5, "hi", np.where(X["num"] < -0.5, "lo", "mid")),
        "regression": 3.0 * X["num"].to_numpy() + (X["city"] == "rome").to_numpy(),
    }


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_target_encoding_gives_one_code_per_class_and_handles_unseen_values(comps, task):
    X, y = mixed_table()
    yy = targets(X, y)[task]
    ctx = Context(task=task, n_rows=len(X), n_features=X.shape[1], random_state=0)
    config = TrialConfig(
        model="linear",
        model_params={},
        preprocessing={"numeric": ("impute_scale", {}), "categorical": ("target", {"smooth": 10.0})},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)  # no deprecated scikit-learn arguments
        pipeline = build_pipeline(config, comps.models, comps.preprocessors, infer_schema(X), ctx).fit(X, yy)
    codes = pipeline[:-1].transform(X)
    n_categorical = 3  # city, color, obj
    per_column = 3 if task == "multiclass" else 1
    assert codes.shape == (len(X), 3 + n_categorical * per_column)  # num, num_nan, flag + codes
    new = X.head(5).copy()
    new["city"] = "atlantis"  # never seen
    new.loc[0, "obj"] = None
    assert np.isfinite(pipeline[:-1].transform(new)).all()
    assert pipeline.predict(new).shape == (5,)


def test_target_encoding_is_offered_to_every_model_but_tried_after_the_usual_encoders(comps):
    from automl.search.space import SearchSpace

    ctx = Context(task="binary", n_rows=100, n_features=4, n_numeric=2, n_categorical=2, n_classes=2)
    by_kind = {k: [p for p in comps.preprocessors.values() if p.kind == k] for k in ("numeric", "categorical")}
    space = SearchSpace(list(comps.models.values()), by_kind, ("numeric", "categorical"), ctx)
    for name in space.model_names:
        choices = [p.name for p in space.choices[(name, "categorical")]]
        assert "target" in choices
        assert choices[-1] == "target"


def test_native_categories_map_rare_unseen_and_missing_values_to_nan_without_a_warning():
    from automl.builtins.encoders import CategoryEncoder

    train = pd.DataFrame({"c": ["a", "a", "b", "a", "c", None]}, dtype=object)
    encoder = CategoryEncoder(min_frequency=2).fit(train)
    assert encoder.categories_ == [["a"]]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas deprecates values outside the categories
        out = encoder.transform(pd.DataFrame({"c": ["a", "b", "zz", None]}, dtype=object))
    assert isinstance(out["c"].dtype, pd.CategoricalDtype)
    assert list(out["c"].cat.categories) == ["a"]
    assert out["c"].isna().tolist() == [False, True, True, True]
