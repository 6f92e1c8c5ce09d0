"""The time budget: the one clock of a fit, and every rule that spends it.

Whatever the library decides by the clock is decided here, as named constants
and small functions of numbers: how a large table is evaluated (one holdout,
trials on a sample of rows), how long a trial may run, when the search stops to
leave time for the final refit, and how long that refit is expected to take.
The search (:mod:`automl.search.pacing`, :mod:`automl.search.plan`) applies
these rules to its trials and keeps no timing constant of its own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence


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

    @property
    def limited(self) -> bool:
        """True when there is a time limit."""
        return math.isfinite(self.seconds)


# -- large tables: how they are evaluated -------------------------------------------------------

#: above this many rows, ``cv="auto"`` uses one holdout split instead of k folds
HOLDOUT_ROWS = 100_000
#: ``cv="auto"`` also uses a holdout when rows x columns per second of budget exceed this
#: (about FLAML's rule of thumb, ten million cells per hour): k folds would leave
#: time for too few trials
HOLDOUT_CELLS_PER_SECOND = 3_000
#: below this many rows folds are cheap and one holdout too noisy: always k folds
HOLDOUT_MIN_ROWS = 2_000
#: with a holdout, a trial trains on at most this many cells (rows x columns) per second of budget
SEARCH_CELLS_PER_SECOND = 20_000
#: never fewer training rows than this in a sample
MIN_SAMPLE_ROWS = 10_000
#: validation rows scored per trial, at most (or a quarter of the training sample, if more)
MAX_VALIDATION_ROWS = 30_000


def use_holdout(n_rows: int, n_columns: int, seconds: float | None) -> bool:
    """Whether ``cv="auto"`` scores trials on one holdout rather than k folds."""
    cells_per_second = n_rows * max(1, n_columns) / (seconds or math.inf)
    return n_rows > HOLDOUT_ROWS or (n_rows > HOLDOUT_MIN_ROWS and cells_per_second > HOLDOUT_CELLS_PER_SECOND)


def sample_rows(n_train: int, n_columns: int, seconds: float | None) -> int:
    """How many training rows a trial gets on a holdout: all, or a sample sized to the budget."""
    if seconds is None or not math.isfinite(seconds):
        return n_train
    rows = int(SEARCH_CELLS_PER_SECOND * seconds / max(1, n_columns))
    return min(n_train, max(MIN_SAMPLE_ROWS, rows))


def validation_rows(n_valid: int, n_sample: int) -> int:
    """How many validation rows a trial is scored on, given its training sample."""
    return min(n_valid, max(MAX_VALIDATION_ROWS, n_sample // 4))


# -- trials: when one starts and how long it may run --------------------------------------------

#: largest share of the budget one trial may use ...
TRIAL_SHARE = 0.5
#: ... but never less than this many seconds
MIN_TRIAL_SECONDS = 2.0
#: a model without a success yet gets this many times the typical successful trial ...
NEW_MODEL_TIMES_TYPICAL = 5.0
#: ... or this share of the budget, or MIN_TRIAL_SECONDS, whichever is longest
NEW_MODEL_SHARE = 0.1
#: a model that has only timed out gets this many times its longest attempt ...
RETRY_TIMES_LONGEST = 2.0
#: ... and only while that is at most this share of the time left
RETRY_SHARE_OF_LEFT = 0.25
#: a trial may run past its limit when its remaining folds need at most this share of the
#: budget, at the pace of its folds so far times FINISH_SLACK
FINISH_SHARE = 0.1
FINISH_SLACK = 1.2
#: a trial stops after a fold when its remaining folds, at this share of its pace so far
#: (an optimistic guess), would still end after its limit or the search's end
CANNOT_FINISH_PACE = 0.9
#: no trial starts with less than this many seconds before the search's end
MIN_START_SECONDS = 0.05
#: the search loop wakes at least this often to check the clock ...
POLL_SECONDS = 0.25
#: ... and waits at least this long for replies once the search's end has passed
MIN_WAIT_SECONDS = 0.01
#: the final refits' queue waits at most this long at a time for a worker to become ready
START_POLL_SECONDS = 0.1
#: a worker gets this long to load the problem before its first trial's clock counts ...
LOAD_SECONDS = 0.5
#: ... plus this many times what writing the problem file took, plus its size at this many bytes a second
LOAD_TIMES_WRITE = 3.0
LOAD_BYTES_PER_SECOND = 50e6


def trial_share(seconds: float) -> float:
    """Seconds one trial may run at most: :data:`TRIAL_SHARE` of the budget (:data:`MIN_TRIAL_SECONDS` at least)."""
    return max(MIN_TRIAL_SECONDS, TRIAL_SHARE * seconds)


def trial_cap(
    seconds: float,
    left: float,
    *,
    any_success: bool,
    own_ok: Sequence[float],
    own_timeouts: Sequence[float],
    own_running: int,
    typical: float,
) -> float | None:
    """Seconds a new trial of a model may run, or None if it should not start.

    Until some trial has succeeded, a trial may use all the search time left.
    Then a model that has succeeded may use :func:`trial_share` of the budget,
    unless its typical trial needs more than the time ``left``. A model without
    a success gets a few times what the trials so far needed (so one slow model
    cannot eat the search), one trial at a time; once it has timed out, it gets
    twice its longest attempt (or twice what an attempt stopped after a fold was
    projected to need), and only while that is a small share of the time left.

    Parameters
    ----------
    seconds : float
        The whole budget.
    left : float
        Seconds until the search's end.
    any_success : bool
        Some trial of any model has succeeded.
    own_ok : sequence of float
        Durations of the model's successful trials.
    own_timeouts : sequence of float
        Of the model's timed-out trials, what each needed (or ran).
    own_running : int
        The model's trials in progress.
    typical : float
        Median duration of the successful trials of all models.
    """
    if not any_success:
        return math.inf
    share = trial_share(seconds)
    if own_ok:
        return None if _median(own_ok) > left else share
    if own_running:
        return None
    if own_timeouts:
        cap = RETRY_TIMES_LONGEST * max(own_timeouts)
        if cap > RETRY_SHARE_OF_LEFT * left:
            return None
    else:
        cap = max(MIN_TRIAL_SECONDS, NEW_MODEL_SHARE * seconds, NEW_MODEL_TIMES_TYPICAL * typical)
    return min(cap, share)


def finish_by(now: float, pace: float, folds_left: int, *, started: float, kill_at: float, seconds: float) -> float:
    """The kill time of a running trial, moved back when the folds it has left need little time.

    Stopping a trial after most of its folds throws away all that work. The
    trial's pace so far gives the time its remaining folds need; when that is at
    most :data:`FINISH_SHARE` of the budget and the whole trial stays within
    :func:`trial_share`, the trial may finish (the search's end still stops it).
    """
    if not math.isfinite(kill_at):
        return kill_at
    finish = now + FINISH_SLACK * pace * folds_left
    if finish <= kill_at:
        return kill_at
    if finish - now <= FINISH_SHARE * seconds and finish - started <= trial_share(seconds):
        return finish
    return kill_at


def can_finish(now: float, pace: float, folds_left: int, limit: float) -> bool:
    """Whether a running trial's remaining folds can end by ``limit``, even at a somewhat faster pace."""
    return now + CANNOT_FINISH_PACE * pace * folds_left <= limit


def load_allowance(write_seconds: float, size: int) -> float:
    """Extra seconds a worker's first trial gets for loading a problem file of ``size`` bytes."""
    return LOAD_SECONDS + LOAD_TIMES_WRITE * write_seconds + size / LOAD_BYTES_PER_SECOND


# -- the final refit: how long it takes, and what the search keeps for it -----------------------

#: until a refit has been timed during the search, it is estimated as this many
#: times one fold's fit, scaled to all rows
REFIT_SAFETY = 1.5
#: once refits have been timed, the factor is the larger of this times their median
#: actual / nominal ratio and REFIT_RATIO_WORST times the largest (at least 1, at most REFIT_RATIO_CAP)
REFIT_RATIO_TYPICAL = 1.15
REFIT_RATIO_WORST = 0.9
REFIT_RATIO_CAP = 3.0
#: the best pipeline's final refit gets every core; count on this much speed-up from them
THREAD_SPEEDUP = 1.3
#: seconds always kept for building, pickling and returning the final pipeline
REFIT_OVERHEAD = 0.3
#: before any trial has succeeded, the refit is guessed as this share of the budget (at most a minute's)
UNKNOWN_REFIT_SHARE = 0.1
#: a fold that trains on less than this share of the rows is scaled as if it had this share
MIN_FOLD_SHARE = 0.05
#: a refit timed during the search counts as at least this many nominal seconds
MIN_NOMINAL_SECONDS = 0.05
#: share of the budget the search may give up for refitting an ensemble's members
ENSEMBLE_RESERVE_SHARE = 0.1
#: the final refit of an ensemble starts only if its estimate is below this share of the time left
REFIT_MARGIN = 0.9
#: an ensemble too slow to refit keeps the members that refit within this share of the time left
AFFORDABLE_SHARE = 0.8
#: seconds kept for choosing the final ensemble: this share of the budget, at most CHOOSE_SECONDS
CHOOSE_SHARE = 0.02
CHOOSE_SECONDS = 2.0
#: choosing the final ensemble may take this share of the time left (MIN_CHOOSE_SECONDS at least)
FINAL_CHOOSE_SHARE = 0.1
MIN_CHOOSE_SECONDS = 0.05
#: the plan of the final model is made again at most every this share of the budget (1 s at least),
#: each time with this many seconds for a quick ensemble selection
PLAN_EVERY_SHARE = 0.05
PLAN_EVERY_SECONDS = 1.0
PLAN_CHOOSE_SECONDS = 0.25
#: the planned final pipelines are refit on the spare worker once the search's end is within
#: this many times their estimated refit, or this share of the search
PREFIT_TIMES_REFIT = 4.0
PREFIT_SHARE = 0.25


def nominal_refit(fit_seconds: float, n_folds: int, fold_share: float) -> float:
    """One fold's fit time, scaled to all rows (a refit predicts nothing)."""
    return fit_seconds / max(1, n_folds) / max(fold_share, MIN_FOLD_SHARE)


def refit_ratio(took: float, nominal: float) -> float:
    """Actual / nominal seconds of a refit that took ``took`` seconds, overhead aside."""
    return max(0.0, took - REFIT_OVERHEAD) / max(nominal, MIN_NOMINAL_SECONDS)


def refit_factor(ratios: Sequence[float]) -> float:
    """Actual / nominal refit time to count on, from the ratios of the refits timed so far.

    :data:`REFIT_SAFETY` until a refit has been timed; then the larger of
    :data:`REFIT_RATIO_TYPICAL` times the median and :data:`REFIT_RATIO_WORST`
    times the largest ratio (refits beside a running trial vary, 0.5-1.5x nominal:
    not the worst one alone), at least 1 and at most :data:`REFIT_RATIO_CAP`.
    """
    if not ratios:
        return REFIT_SAFETY
    return min(REFIT_RATIO_CAP, max(1.0, REFIT_RATIO_TYPICAL * _median(ratios), REFIT_RATIO_WORST * max(ratios)))


def refit_seconds(nominal: float, ratios: Sequence[float], threads: int = 1) -> float:
    """Seconds a refit of ``nominal`` seconds is expected to take, on ``threads`` threads."""
    speedup = THREAD_SPEEDUP if threads > 1 else 1.0
    return REFIT_OVERHEAD + refit_factor(ratios) * nominal / speedup


def unknown_refit_seconds(seconds: float) -> float:
    """The refit's time before any trial has succeeded: a share of the budget, at most a minute's."""
    return REFIT_OVERHEAD + UNKNOWN_REFIT_SHARE * min(seconds, 60.0)


def parallel_seconds(costs: Sequence[float], n_workers: int) -> float:
    """Seconds for refits of these single-thread costs spread over ``n_workers``."""
    return sum(costs) / max(1, min(len(costs), n_workers))


def refit_reserve(single: float, members: float, seconds: float) -> float:
    """Seconds the search keeps at its end for the final refit and for choosing the final model.

    ``single`` is the refit of the best pipeline on every core; ``members`` the
    refit of the planned ensemble's members in parallel. The final refit keeps
    members only with a margin (:data:`REFIT_MARGIN`), and an ensemble too slow to
    refit is cut down to what can be refit, so it may not stop the search more
    than :data:`ENSEMBLE_RESERVE_SHARE` of the budget earlier than the best
    pipeline alone would.
    """
    members = min(members / REFIT_MARGIN, single + ENSEMBLE_RESERVE_SHARE * seconds)
    choose = min(CHOOSE_SHARE * seconds, CHOOSE_SECONDS) if math.isfinite(seconds) else 0.0
    return max(single, members, REFIT_OVERHEAD) + choose


def replan_after(seconds: float) -> float:
    """Seconds between two plans of the final model."""
    return max(PLAN_EVERY_SECONDS, PLAN_EVERY_SHARE * seconds)


def time_to_prefit(until_end: float, search_seconds: float, refit_estimate: float) -> bool:
    """Whether the search is near enough its end to refit the planned pipelines on the spare worker."""
    return until_end <= max(PREFIT_TIMES_REFIT * refit_estimate, PREFIT_SHARE * search_seconds)


def final_choose_seconds(left: float) -> float:
    """Seconds the final ensemble selection may take, of the ``left`` seconds of the fit."""
    return max(MIN_CHOOSE_SECONDS, FINAL_CHOOSE_SHARE * left)


#: seconds a worker spends measuring a refit pipeline's single-row latency (when ``infer_limit`` is set)
REFIT_LATENCY_SECONDS = 0.1


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return float(ordered[mid]) if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


__all__ = [
    "Budget",
    "can_finish",
    "final_choose_seconds",
    "finish_by",
    "load_allowance",
    "nominal_refit",
    "parallel_seconds",
    "refit_factor",
    "refit_ratio",
    "refit_reserve",
    "refit_seconds",
    "replan_after",
    "sample_rows",
    "time_to_prefit",
    "trial_cap",
    "trial_share",
    "unknown_refit_seconds",
    "use_holdout",
    "validation_rows",
]
