"""Trials that outlive their process: results stored in the study, earlier work read back, stale trials failed.

Each finished trial stores its :class:`~automl.search.trial.TrialResult` (fold
scores, timings, what the model learned, its out-of-fold predictions) as a user
attribute of the Optuna trial, so a later run, or the coordinator of trials run
on other machines, can rank it, refit it and put it in an ensemble without
running it again. A running trial records its owner (host and process) and a
heartbeat; a trial whose process is gone, or whose heartbeat stopped, is marked
failed (*stale*) rather than left running forever.
"""

from __future__ import annotations

import base64
import logging
import os
import socket
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

from automl.search.space import SearchSpace
from automl.search.trial import TrialResult

logger = logging.getLogger(__name__)

RESULT_ATTR = "automl_result"
OWNER_ATTR = "automl_owner"
BEAT_ATTR = "automl_beat"
STALE_ATTR = "automl_stale"
#: seconds between two heartbeats of a running trial
HEARTBEAT_SECONDS = 10.0
#: a running trial whose heartbeat is older than this is stale (its process or machine is gone)
STALE_SECONDS = 60.0
#: a running trial that no process has claimed this long after its start is stale: a process claims
#: its trial right after creating it, so its process stopped in between
UNCLAIMED_SECONDS = 5.0
#: out-of-fold predictions larger than this many values are not stored (the trial can still be refit)
MAX_STORED_OOF = 500_000


def owner() -> dict[str, Any]:
    """This process, as a running trial records it."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def claim(study: optuna.Study, trial: optuna.trial.Trial) -> None:
    """Record that this process runs ``trial``, with its first heartbeat."""
    storage, tid = study._storage, trial._trial_id
    storage.set_trial_user_attr(tid, OWNER_ATTR, owner())
    storage.set_trial_user_attr(tid, BEAT_ATTR, time.time())


def beat(study: optuna.Study, trials: list[optuna.trial.Trial]) -> None:
    """A heartbeat for each of ``trials``, still running here."""
    now = time.time()
    for trial in trials:
        try:
            study._storage.set_trial_user_attr(trial._trial_id, BEAT_ATTR, now)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # another process failed it as stale; its result will be refused too


def save(study: optuna.Study, trial: optuna.trial.Trial, result: TrialResult) -> None:
    """Store ``result`` with ``trial`` (before the study is told how it ended)."""
    try:
        study._storage.set_trial_user_attr(trial._trial_id, RESULT_ATTR, encode(result))
    except optuna.exceptions.UpdateFinishedTrialError:
        logger.warning("trial %d was marked stale by another process; its result is not stored", trial.number)


def encode(result: TrialResult) -> dict[str, Any]:
    """A JSON-able form of ``result``; the configuration is the trial's own parameters."""
    out: dict[str, Any] = {
        "status": result.status,
        "fold_scores": [float(s) for s in result.fold_scores],
        "fit_seconds": float(result.fit_seconds),
        "predict_seconds": float(result.predict_seconds),
        "duration": float(result.duration),
        "error": result.error,
        "learned": {k: _plain(v) for k, v in result.learned.items()},
        "row_seconds": result.row_seconds,
        "needed": result.needed,
    }
    oof = result.oof
    if oof is not None and oof.size <= MAX_STORED_OOF:
        data = np.ascontiguousarray(oof, dtype=np.float32)
        out["oof"] = {"shape": list(data.shape), "float32": base64.b64encode(data.tobytes()).decode("ascii")}
    return out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def decode(number: int, params: dict[str, Any], stored: dict[str, Any], space: SearchSpace) -> TrialResult:
    """The :class:`TrialResult` stored by :func:`encode`, its configuration rebuilt from ``params``."""
    config = space.sample(optuna.trial.FixedTrial(params, number))
    oof = None
    if stored.get("oof"):
        raw = base64.b64decode(stored["oof"]["float32"])
        oof = np.frombuffer(raw, dtype=np.float32).reshape(stored["oof"]["shape"]).astype(float)
    return TrialResult(
        number=number,
        config=config,
        status=stored["status"],
        fold_scores=list(stored["fold_scores"]),
        fit_seconds=stored["fit_seconds"],
        predict_seconds=stored["predict_seconds"],
        duration=stored["duration"],
        error=stored["error"],
        learned=dict(stored["learned"]),
        row_seconds=stored["row_seconds"],
        needed=stored["needed"],
        oof=oof,
        earlier=True,
    )


def stored_results(
    study: optuna.Study,
    space: SearchSpace,
    skip: set[int] = frozenset(),  # type: ignore[assignment]
) -> list[TrialResult]:
    """The results stored in ``study`` by finished trials, other than the numbers in ``skip`` and stale ones.

    A trial whose configuration this search cannot rebuild (a model whose plugin
    is not installed here) is left out, with a log line.
    """
    out: list[TrialResult] = []
    missing: list[int] = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)):
        stored = t.user_attrs.get(RESULT_ATTR)
        # stale: its process stopped before telling the study how it ended (perhaps just after
        # storing the result): failed, and not a result, as the sampler sees it
        if stored is None or t.number in skip or STALE_ATTR in t.user_attrs:
            continue
        try:
            out.append(decode(t.number, t.params, stored, space))
        except Exception:  # noqa: BLE001 - a model or preprocessor not among this search's candidates
            missing.append(t.number)
    if missing:
        logger.warning("trials %s are not candidates of this search (a plugin missing here?) and are left out", missing)
    return out


def fail_stale(study: optuna.Study, ours: Collection[int] = ()) -> list[int]:
    """Mark failed the running trials whose process is gone; return their numbers.

    A trial is stale when its owner ran on this host and that process has ended
    (or had this process's number: a process of a container restarted),
    or when nobody claimed it :data:`UNCLAIMED_SECONDS` after its start (its
    process stopped between creating and claiming it), or when its heartbeat
    (or its start, without one) is older than :data:`STALE_SECONDS`.
    ``ours`` are the trials this process runs.
    """
    failed = []
    me = owner()
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        reason = None if t.number in ours else _stale(t, me)
        if reason is None:
            continue
        try:
            study._storage.set_trial_user_attr(t._trial_id, STALE_ATTR, reason)
            study._storage.set_trial_state_values(t._trial_id, state=TrialState.FAIL)
            failed.append(t.number)
        except optuna.exceptions.UpdateFinishedTrialError:
            pass  # finished, or failed by another process, meanwhile
    if failed:
        logger.warning("%d trials whose process stopped were marked failed (stale): %s", len(failed), failed)
    return failed


def _stale(t: optuna.trial.FrozenTrial, me: dict[str, Any]) -> str | None:
    who = t.user_attrs.get(OWNER_ATTR) or {}
    if who.get("host") == me["host"] and who.get("pid") is not None:
        if who["pid"] == me["pid"] or not _alive(int(who["pid"])):
            return f"process {who['pid']} on {who['host']} stopped while the trial ran"
    if not who and t.datetime_start is not None:
        unclaimed = time.time() - t.datetime_start.timestamp()
        if unclaimed > UNCLAIMED_SECONDS:
            return f"its process stopped while the trial ran, before claiming it ({unclaimed:.0f}s ago)"
    last = t.user_attrs.get(BEAT_ATTR)
    if last is None and t.datetime_start is not None:
        last = t.datetime_start.timestamp()
    if last is not None and time.time() - float(last) > STALE_SECONDS:
        return f"no heartbeat for {time.time() - float(last):.0f}s (host {who.get('host', '?')})"
    return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (a zombie, ended but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: the signal test is all there is
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


__all__ = [
    "HEARTBEAT_SECONDS",
    "MAX_STORED_OOF",
    "STALE_SECONDS",
    "beat",
    "claim",
    "decode",
    "encode",
    "fail_stale",
    "save",
    "stored_results",
]
