"""A user stops a fit (KeyboardInterrupt, as a notebook's stop button sends): nothing finished is lost."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from automl_test_plugins import SleepForever, model_plugin
from conftest import FAST
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from automl import AutoML


def interrupt_after(seconds: float) -> threading.Timer:
    """Send this process SIGINT (Ctrl-C) after ``seconds``."""
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_an_interrupted_fit_returns_the_best_pipeline_found_so_far(breast_cancer):
    X, y = breast_cancer
    model = AutoML(time_budget=60, **FAST)
    t0 = time.monotonic()
    timer = interrupt_after(6.0)
    try:
        with pytest.warns(RuntimeWarning, match="fit interrupted: using the best of the"):
            model.fit(X, y)
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 40  # it stopped, it did not run out the budget
    check_is_fitted(model)
    assert (model.leaderboard_["status"] == "ok").any()
    assert model.score(X, y) > 0.9
    assert model.predict(X).shape == (len(X),)


def test_an_interrupt_before_any_trial_finished_is_raised_and_leaves_nothing_fitted(breast_cancer):
    X, y = breast_cancer
    hang = model_plugin("sleepy_interrupted", SleepForever, tasks="classification")
    model = AutoML(plugins=[hang], include=["sleepy_interrupted"], time_budget=60, **FAST)
    timer = interrupt_after(3.0)
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(X, y)
    finally:
        timer.cancel()
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    # the estimator is usable afterwards: the workers were stopped, not left hanging
    AutoML(include=["linear"], time_budget=None, max_trials=1, **FAST).fit(X, y)
