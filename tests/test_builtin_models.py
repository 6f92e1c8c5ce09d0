"""Built-in model components: what their builders make for the search and for the final refit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from automl.builtins import lightgbm as lgbm
from automl.context import Context
from automl.evaluation.cross_validation import learned_params


@pytest.fixture(scope="module")
def regression_data():
    X, y = make_regression(n_samples=600, n_features=8, noise=5.0, random_state=0)
    return X, y


def test_lightgbm_learns_its_number_of_trees_during_the_search(regression_data):
    X, y = regression_data
    ctx = Context(task="regression", n_rows=len(X), n_features=8, random_state=0)
    model = lgbm.build({"learning_rate": 0.3}, ctx)
    assert isinstance(model, lgbm.LGBMEarlyStoppingRegressor)
    model.fit(X, y)
    assert model.n_estimators_ < model.estimator.n_estimators  # stopped early
    # reported for a refit on all rows: more trees for the 10% more rows
    assert learned_params(model) == {"n_estimators": int(np.ceil(model.n_estimators_ / 0.9))}


def test_lightgbm_final_refit_is_a_plain_model_with_the_learned_trees_on_all_rows(regression_data):
    X, y = regression_data
    ctx = Context(task="regression", n_rows=len(X), n_features=8, random_state=0, final=True)
    final = lgbm.build({"learning_rate": 0.3, "n_estimators": 37}, ctx)
    assert not isinstance(final, lgbm.LGBMEarlyStoppingRegressor)  # no rows held out
    final.fit(X, y)
    assert final.booster_.num_trees() == 37
    # without a learned number (folds too small to stop early) it is built as on the folds
    assert lgbm.build({"learning_rate": 0.3}, ctx.replace(n_rows=100)).n_estimators == 33


def test_the_engine_passes_the_median_learned_trees_to_the_final_refit():
    from automl.evaluation.cross_validation import median_params
    from automl.search.trial import TrialConfig, TrialResult

    learned = median_params([{"n_estimators": 10}, {"n_estimators": 30}, {"n_estimators": 21}])
    assert learned == {"n_estimators": 21}
    result = TrialResult(number=0, config=TrialConfig("lightgbm", {"learning_rate": 0.1}, {}), learned=learned)
    assert result.final_config.model_params == {"learning_rate": 0.1, "n_estimators": 21}
    assert result.config.model_params == {"learning_rate": 0.1}


def test_lightgbm_classifier_reports_its_trees_and_predicts_probabilities():
    X, y = make_classification(n_samples=500, n_features=6, random_state=0)
    ctx = Context(task="binary", n_rows=len(X), n_features=6, n_classes=2, random_state=0)
    model = lgbm.build({"learning_rate": 0.2}, ctx).fit(X, y)
    proba = model.predict_proba(X)
    assert proba.shape == (500, 2) and np.allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == [0, 1]
    assert learned_params(model)["n_estimators"] >= 1


def test_lightgbm_on_few_rows_runs_its_full_number_of_trees():
    X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    ctx = Context(task="regression", n_rows=100, n_features=3, random_state=0, final=True)
    model = lgbm.build({"learning_rate": 0.1}, ctx)
    assert not isinstance(model, lgbm.LGBMEarlyStoppingRegressor)  # too few rows to hold some out
    assert model.fit(X, y).n_estimators == 100


def test_hist_gradient_boosting_reports_the_iterations_it_kept_and_refits_without_holding_rows_out():
    from sklearn.ensemble import HistGradientBoostingRegressor

    from automl.builtins import hist_gradient_boosting as hgb

    X, y = make_regression(n_samples=11_000, n_features=4, noise=10.0, random_state=0)
    ctx = Context(task="regression", n_rows=len(X), n_features=4, random_state=0)
    searched = hgb.build({"learning_rate": 0.3, "max_iter": 1000}, ctx).fit(X, y)
    assert searched.n_iter_ < 1000  # stopped early on its own held-out tenth
    learned = learned_params(searched)
    assert learned == {"max_iter": int(np.ceil(searched.n_iter_ / 0.9)), "early_stopping": False}
    final = hgb.build({"learning_rate": 0.3, "max_iter": 1000, **learned}, ctx.replace(final=True))
    assert type(final) is HistGradientBoostingRegressor  # plain scikit-learn in the returned pipeline
    assert final.fit(X, y).n_iter_ == learned["max_iter"]
    # on fewer rows there is no early stopping and nothing to report
    small = hgb.build({"max_iter": 20}, ctx.replace(n_rows=500)).fit(X[:500], y[:500])
    assert learned_params(small) == {}


@pytest.mark.parametrize("labels", [["no", "yes"], ["F", "L", "M", "VF"]])
def test_lightgbm_early_stopping_with_string_class_labels(labels):
    # LightGBM 4.7 does not encode string labels given as eval_y (it does for eval_set)
    import warnings

    X, y = make_classification(n_samples=600, n_features=6, n_informative=4, n_classes=len(labels), random_state=0)
    y = np.asarray(labels)[y]
    task = "binary" if len(labels) == 2 else "multiclass"
    ctx = Context(task=task, n_rows=len(X), n_features=6, n_classes=len(labels), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no deprecation warning from LightGBM
        model = lgbm.build({"learning_rate": 0.3}, ctx).fit(X, y)
    assert isinstance(model, lgbm.LGBMEarlyStoppingClassifier)
    assert list(model.classes_) == labels
    assert set(model.predict(X)) <= set(labels)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_l1_penalty_zeroes_useless_columns(n_classes):
    from sklearn.preprocessing import StandardScaler

    from automl.builtins import linear

    X, y = make_classification(
        n_samples=600, n_features=30, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    task = "binary" if n_classes == 2 else "multiclass"
    ctx = Context(task=task, n_rows=600, n_features=30, n_classes=n_classes, random_state=0)
    l1 = linear.build({"C": 0.05, "penalty": "l1"}, ctx).fit(X, y)
    l2 = linear.build({"C": 0.05, "penalty": "l2"}, ctx).fit(X, y)
    assert (l1.coef_ == 0).sum() > 10
    assert (l2.coef_ == 0).sum() == 0
    assert l1.predict_proba(X).shape == (600, n_classes)


def test_a_forest_on_a_larger_table_is_capped_in_nodes_not_on_a_small_one():
    from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

    from automl.builtins import forests

    build = forests._builder(ExtraTreesClassifier, ExtraTreesRegressor)
    small = Context(task="regression", n_rows=800, n_features=5, random_state=0, n_threads=1)
    assert build({"n_estimators": 300, "min_samples_leaf": 1}, small).n_estimators == 300
    large = small.replace(n_rows=15_000)
    capped = build({"n_estimators": 300, "min_samples_leaf": 1}, large).n_estimators
    assert capped * 2 * 15_000 <= forests.MAX_FOREST_NODES and capped >= 10
    assert build({"n_estimators": 300, "min_samples_leaf": 10}, large).n_estimators == 300
    classify = large.replace(task="binary")
    assert build({"n_estimators": 300, "min_samples_leaf": 1}, classify).n_estimators == 2 * capped + 1
