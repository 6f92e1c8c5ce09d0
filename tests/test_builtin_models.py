"""Built-in model components: what their builders make for the search and for the final refit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from automl.builtins import lightgbm as lgbm
from automl.context import Context


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=600, n_features=8, noise=5.0, random_state=0)
    return X, y


def test_lightgbm_learns_its_number_of_trees_during_the_search(regression_data):
    X, y = regression_data
    ctx = Context(task="regression", n_rows=len(X), n_features=8, random_state=0)
    model = lgbm.build({"learning_rate": 0.3}, ctx)
    assert isinstance(model, lgbm.LGBMEarlyStoppingRegressor)
    assert not model.refit
    model.fit(X, y)
    assert model.n_estimators_ < model.estimator.n_estimators  # stopped early
    assert model.estimator_.n_estimators == model.estimator.n_estimators  # trained on 90% with the ceiling


def test_lightgbm_final_refit_uses_all_rows_with_the_learned_number_of_trees(regression_data):
    X, y = regression_data
    ctx = Context(task="regression", n_rows=len(X), n_features=8, random_state=0, final=True)
    searched = lgbm.build({"learning_rate": 0.3}, ctx.replace(final=False)).fit(X, y)
    final = lgbm.build({"learning_rate": 0.3}, ctx)
    assert final.refit
    final.fit(X, y)
    assert final.n_estimators_ == int(np.ceil(searched.n_estimators_ / 0.9))
    assert final.estimator_.n_estimators == final.n_estimators_
    assert final.estimator_.booster_.num_trees() == final.n_estimators_
    # trained on every row: changing a held-out row's target changes the final model
    y2 = y.copy()
    y2[np.argsort(y)[-5:]] += 1000.0
    again = lgbm.build({"learning_rate": 0.3}, ctx).fit(X, y2)
    assert not np.allclose(again.predict(X), final.predict(X))


def test_lightgbm_classifier_final_refit_predicts_probabilities():
    X, y = make_classification(n_samples=500, n_features=6, random_state=0)
    ctx = Context(task="binary", n_rows=len(X), n_features=6, n_classes=2, random_state=0, final=True)
    model = lgbm.build({"learning_rate": 0.2}, ctx).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (500, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == [0, 1]


def test_lightgbm_on_few_rows_runs_its_full_number_of_trees():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    ctx = Context(task="regression", n_rows=100, n_features=3, random_state=0, final=True)
    model = lgbm.build({"learning_rate": 0.1}, ctx)
    assert not isinstance(model, lgbm.LGBMEarlyStoppingRegressor)  # too few rows to hold some out
    assert model.fit(X, y).n_estimators == 100
