"""Models pickled before ``automl/`` became subpackages still load and predict the same."""

from __future__ import annotations

import importlib
import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import mixed_table
from sklearn.datasets import load_diabetes

LEGACY = Path(__file__).resolve().parent / "legacy"
META = json.loads((LEGACY / "expected.json").read_text())


def rows(case: str):
    if case == "regression":
        X, _ = load_diabetes(return_X_y=True, as_frame=True)
    else:
        X, _ = mixed_table(240, seed=0)
    return X.iloc[:25]


def assert_same(pred, expected) -> None:
    if isinstance(expected[0], float):
        np.testing.assert_allclose(pred, expected, rtol=1e-12)
    else:
        assert list(pred) == expected


def load(path: Path):
    with warnings.catch_warnings():
        # a file made under another scikit-learn version says so; it is not what this test is about
        warnings.simplefilter("ignore", UserWarning)
        return pickle.loads(path.read_bytes())


@pytest.mark.parametrize(("module", "name"), [tuple(g) for g in META["globals"]])
def test_every_name_an_old_pickle_uses_still_imports(module, name):
    assert getattr(importlib.import_module(module), name) is not None


def test_an_old_module_path_is_the_new_module_itself():
    import automl.cleaning

    from automl.pipeline import cleaning

    assert automl.cleaning is cleaning
    assert cleaning.__spec__.name == "automl.pipeline.cleaning"


@pytest.mark.parametrize("case", sorted(META["expected"]))
def test_an_old_pipeline_loads_and_predicts_as_it_did(case):
    expected = META["expected"][case]
    pipeline = load(LEGACY / f"{case}.pipeline.pkl")
    assert [type(step).__name__ for _, step in pipeline.steps] == expected["final_steps"]
    X = rows(case)
    assert_same(pipeline.predict(X), expected["predict"])
    if "predict_proba" in expected:
        np.testing.assert_allclose(pipeline.predict_proba(X), expected["predict_proba"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", sorted(META["expected"]))
def test_an_old_automl_loads_with_its_leaderboard_and_predicts_as_it_did(case):
    expected = META["expected"][case]
    model = load(LEGACY / f"{case}.automl.pkl")
    X = rows(case)
    assert_same(model.predict(X), expected["predict"])
    if "predict_proba" in expected:
        np.testing.assert_allclose(model.predict_proba(X), expected["predict_proba"], rtol=0, atol=1e-12)
    assert model.leaderboard_["status"].iloc[0] == "ok"
    assert type(model.trials_[0]).__module__ == "automl.search.trial"
