"""k-nearest neighbours in lean form give, element for element, what the models' own calls give."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import mixed_table
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from test_lean import _new_rows, _pipeline

from automl.pipeline import lean_neighbors
from automl.pipeline.lean_neighbors import neighbors_op
from automl.pipeline.lean_predict import LeanPipeline, lean_member


def _data(n: int = 300, d: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, d)), 1)  # rounded: ties in distance, and rows equal to training rows
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8)
    return X, y


@pytest.mark.parametrize("algorithm", ["kd_tree", "ball_tree", "brute"])
@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_the_lean_form_answers_as_the_model_does(algorithm, weights, p, kind):
    X, y = _data()
    cls, method = (KNeighborsClassifier, "predict_proba") if kind == "classifier" else (KNeighborsRegressor, "predict")
    target = y if kind == "classifier" else X[:, 0] * 2.5 + y
    model = cls(n_neighbors=7, weights=weights, p=p, algorithm=algorithm).fit(X, target)
    op = neighbors_op(model, method)
    assert op is not None
    rows = np.vstack([_data(60, seed=1)[0], X[:5]])  # new rows, and rows at distance zero from training rows
    for batch in (rows, rows[::-1].copy(), rows[:1], rows[-1:]):
        got, expected = op(batch), getattr(model, method)(batch)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert got.tobytes() == expected.tobytes()


def test_models_the_lean_form_does_not_know_keep_their_own_call():
    X, y = _data()
    assert neighbors_op(KNeighborsClassifier(weights=lambda d: 1.0 / (1.0 + d)).fit(X, y), "predict_proba") is None
    assert neighbors_op(KNeighborsRegressor().fit(X, np.c_[X[:, 0], X[:, 1]]), "predict") is None
    assert neighbors_op(KNeighborsClassifier().fit(X, y), "predict") is None  # labels: the model's own predict


def test_scikit_learn_internals_that_moved_leave_the_model_its_own_call(monkeypatch):
    def moved(model, method):
        raise ImportError("cannot import name '_get_weights'")

    monkeypatch.setattr(lean_neighbors, "_neighbors_op", moved)
    X, y = _data()
    assert neighbors_op(KNeighborsClassifier().fit(X, y), "predict_proba") is None


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_a_pipeline_with_neighbours_predicts_as_the_pipeline_does(weights):
    X, y = mixed_table(300, seed=8)
    pipe = _pipeline(KNeighborsClassifier(n_neighbors=9, weights=weights), "impute_scale", "onehot", X, y)
    assert isinstance(pipe, Pipeline)
    form = lean_member(pipe, "predict_proba")
    assert form is not None and form.predict.__module__ == lean_neighbors.__name__
    lean = LeanPipeline(pipe)
    rows = _new_rows()
    for batch in (rows, rows.iloc[:1], rows.iloc[[-1]], rows.iloc[::-1]):
        assert lean.predict_proba(batch).tobytes() == pipe.predict_proba(batch).tobytes()
