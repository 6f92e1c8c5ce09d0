"""The plugin passes automl's conformance kit, and a fit finds it."""

from __future__ import annotations

from automl_plugin_template import plugin
from sklearn.datasets import load_iris

from automl import AutoML
from automl.testing import parametrize_plugin_checks


@parametrize_plugin_checks(plugin)
def test_conformance(check):
    check()


def test_every_fit_finds_the_installed_plugin():
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = AutoML(include=["template_nb"], time_budget=4, n_jobs=1, random_state=0, verbose=0).fit(X, y)
    assert (model.leaderboard_["model"] == "template_nb").any()
