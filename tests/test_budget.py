"""automl.budget.Budget: the one clock of a fit."""

from __future__ import annotations

import math

import pytest

from automl.budget import Budget


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_budget_counts_down():
    clock = FakeClock()
    budget = Budget(10, clock=clock)
    assert budget.deadline == 110.0
    assert budget.remaining() == 10.0 and not budget.expired()
    clock.t = 104.5
    assert budget.elapsed() == pytest.approx(4.5)
    assert budget.remaining() == pytest.approx(5.5)
    assert budget.now() == 104.5
    clock.t = 110.0
    assert budget.expired()
    clock.t = 120.0
    assert budget.remaining() == 0.0  # never negative
    assert budget.elapsed() == pytest.approx(20.0)


@pytest.mark.parametrize("seconds", [None, math.inf])
def test_no_limit(seconds):
    clock = FakeClock()
    budget = Budget(seconds, clock=clock)
    clock.t = 1e9
    assert budget.seconds == math.inf
    assert budget.remaining() == math.inf
    assert not budget.expired()


def test_budget_uses_a_monotonic_clock_by_default():
    budget = Budget(60)
    assert 0.0 <= budget.elapsed() < 5.0
    assert 55.0 < budget.remaining() <= 60.0
