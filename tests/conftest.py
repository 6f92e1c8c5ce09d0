"""Shared fixtures: small data sets and settings that keep every fit short."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from automl import registry

#: keyword arguments of a short, quiet, reproducible fit
FAST = {"n_jobs": 2, "random_state": 0, "verbose": 0}


@pytest.fixture(scope="session")
def breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def iris_str() -> tuple[pd.DataFrame, pd.Series]:
    """Iris with the species names as labels."""
    data = load_iris(as_frame=True)
    y = pd.Series(np.asarray(data.target_names)[data.target], name="species")
    return data.data, y


@pytest.fixture(scope="session")
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    return X, y


def mixed_table(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A table with every kind of column, and a binary target that depends on several of them."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=n)
    num_nan = np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n))
    city = rng.choice(["paris", "rome", "oslo"], size=n)
    color = pd.Categorical(rng.choice(["red", "green", "blue"], size=n))
    obj = np.array(rng.choice(["a", "b", "c"], size=n), dtype=object)
    obj[rng.random(n) < 0.2] = np.nan
    flag = rng.random(n) < 0.5
    X = pd.DataFrame(
        {
            "num": num,
            "num_nan": num_nan,
            "city": pd.array(city, dtype="str"),
            "color": color,
            "obj": pd.Series(obj, dtype=object),
            "flag": flag,
        }
    )
    logit = 1.5 * num + (city == "rome") * 1.0 - flag * 1.0 + (np.asarray(color) == "red") * 0.8
    y = pd.Series(np.where(logit + rng.normal(scale=0.5, size=n) > 0, "yes", "no"), name="target")
    return X, y


@pytest.fixture
def fresh_entry_points():
    """Forget cached entry points before and after the test."""
    registry.reload_entry_points()
    yield
    registry.reload_entry_points()


#: no test may run longer than this; a hung search fails its test instead of the whole run
TEST_TIMEOUT = 150


@pytest.fixture(autouse=True)
def _fail_hung_tests():
    """Fail a test that runs past TEST_TIMEOUT seconds (a hung fit would otherwise block CI)."""
    if not hasattr(signal, "setitimer"):  # pragma: no cover - not POSIX
        yield
        return

    def on_alarm(signum, frame):
        raise TimeoutError(f"test ran longer than {TEST_TIMEOUT}s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a throwaway PostgreSQL server on loopback (see ``tests/postgres.py``); CI must have one."""
    from postgres import postgres_server, server_bin

    if server_bin() is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL's server is not installed; .ci/run installs it (apt-get install postgresql)")
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql)")
    with postgres_server() as url:
        yield url
