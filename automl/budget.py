"""The one clock of a fit: how much of the time budget is left."""

from __future__ import annotations

import math
import time


class Budget:
    """Wall-clock budget for a whole ``fit``, started when the object is made.

    Parameters
    ----------
    seconds : float or None
        Total seconds; None or ``inf`` means no limit.
    clock : callable
        Monotonic clock, replaceable in tests.
    """

    def __init__(self, seconds: float | None, clock=time.monotonic) -> None:
        self.seconds = math.inf if seconds is None else float(seconds)
        self._clock = clock
        self.start = clock()
        self.deadline = self.start + self.seconds

    def now(self) -> float:
        """The clock's current reading."""
        return self._clock()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self.start

    def remaining(self) -> float:
        """Seconds left (never negative; ``inf`` without a limit)."""
        return max(0.0, self.deadline - self._clock())

    def expired(self) -> bool:
        """True once the deadline has passed."""
        return self._clock() >= self.deadline


__all__ = ["Budget"]
