"""One search shared through a stored study: the fit that coordinates it, and ``automl worker`` processes.

The coordinating ``fit`` and any number of workers, on this machine or others,
ask the same Optuna study for trials and store every result with it
(:mod:`automl.search.resume`). The coordinator publishes the time at which
trials must stop (its search's end, which moves as its refit plan changes) and
reads the workers' results into its own, so that its final model is the best
over every machine's trials. A worker runs trials until that deadline passes.
"""

from __future__ import annotations

import logging
import math
import time

import optuna

from automl.search import resume
from automl.search.plan import RefitPlan
from automl.search.space import SearchSpace
from automl.search.trial import TrialResult

logger = logging.getLogger(__name__)

#: study attribute: wall-clock time (seconds since the epoch) at which every process stops starting trials
DEADLINE_ATTR = "automl_deadline"
#: seconds between two reads of the study (others' results, stale trials) and writes of the deadline
SYNC_SECONDS = 2.0
#: a published deadline is written again when it moves by more than this
DEADLINE_STEP = 0.5
#: nothing published yet by this process (the study may hold an earlier run's deadline)
_UNSET = object()


class StudyLink:
    """A search's link to its stored study.

    Parameters
    ----------
    study : optuna.Study
        The study, in a storage other processes may share.
    space : SearchSpace
        Rebuilds the configurations of stored results.
    coordinator : bool
        True for the ``fit`` that will refit the final model: it publishes the
        deadline and reads the results of the other processes. False for a worker.
    """

    def __init__(self, study: optuna.Study, space: SearchSpace, coordinator: bool) -> None:
        self.study = study
        self.space = space
        self.coordinator = coordinator
        self._synced = -math.inf
        self._beaten = -math.inf
        self._published: float | None | object = _UNSET

    def start(self) -> list[TrialResult]:
        """Fail the trials left running by processes that are gone; return the results stored so far."""
        resume.fail_stale(self.study)
        earlier = resume.stored_results(self.study, self.space)
        if earlier:
            ok = sum(r.status == "ok" for r in earlier)
            logger.info("study %r continued: %d earlier trials (%d ok)", self.study.study_name, len(earlier), ok)
        return earlier

    def claim(self, trial: optuna.trial.Trial) -> None:
        """This process runs ``trial``."""
        resume.claim(self.study, trial)

    def save(self, trial: optuna.trial.Trial, result: TrialResult) -> None:
        """Store ``result`` with ``trial``."""
        resume.save(self.study, trial, result)

    def sync(
        self, running: list[optuna.trial.Trial], known: set[int], until: float | None, force: bool = False
    ) -> list[TrialResult]:
        """Keep the study up to date; return results other processes stored since the last call.

        Heartbeats for the ``running`` trials every :data:`resume.HEARTBEAT_SECONDS`;
        for the coordinator, every :data:`SYNC_SECONDS`: publish ``until`` (the
        search's end, seconds from now) as the deadline, fail stale trials, and
        read the results of trials not in ``known``. ``force`` reads them now.
        """
        now = time.monotonic()
        if force:
            self._synced = -math.inf
        if now - self._beaten >= resume.HEARTBEAT_SECONDS:
            self._beaten = now
            resume.beat(self.study, running)
        if not self.coordinator or now - self._synced < SYNC_SECONDS:
            return []
        self._synced = now
        if until is not None:
            self.publish(until)
        resume.fail_stale(self.study, ours={t.number for t in running})
        return resume.stored_results(self.study, self.space, skip=known)

    def publish(self, until: float) -> None:
        """Tell the workers to stop starting trials ``until`` seconds from now (inf: no deadline yet)."""
        deadline = time.time() + until if math.isfinite(until) else None
        last = self._published
        if last is not _UNSET and (
            deadline == last or (deadline is not None and last is not None and abs(deadline - last) < DEADLINE_STEP)
        ):
            return
        self.study.set_user_attr(DEADLINE_ATTR, deadline)
        self._published = deadline

    def finish(self) -> None:
        """The coordinator's search is over: workers stop now."""
        if self.coordinator:
            self._published = time.time()
            self.study.set_user_attr(DEADLINE_ATTR, self._published)


def deadline(study: optuna.Study) -> float | None:
    """The published deadline (seconds since the epoch), None while the coordinator sets no limit."""
    value = study.user_attrs.get(DEADLINE_ATTR)
    return None if value is None else float(value)


class DeadlinePlan(RefitPlan):
    """A worker's plan: no final refit of its own; trials stop at the coordinator's deadline."""

    def __init__(self, *args, study: optuna.Study, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.study = study
        self._read_at = -math.inf
        self._end = math.inf

    def search_end(self) -> float:
        """The study's deadline on this search's clock, read again every :data:`SYNC_SECONDS`."""
        now = self.budget.now()
        if now - self._read_at >= SYNC_SECONDS:
            self._read_at = now
            wall = deadline(self.study)
            self._end = math.inf if wall is None else now + (wall - time.time())
        return min(self._end, self.budget.deadline)

    def update(self) -> None:
        """Nothing to plan: the coordinator refits the final model."""

    def maybe_prefit(self, *args, **kwargs) -> None:
        """No refit on a worker."""


__all__ = ["DEADLINE_ATTR", "DeadlinePlan", "StudyLink", "deadline"]
