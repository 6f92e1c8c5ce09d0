"""``automl worker``: join a search that a ``fit`` coordinates through a stored study, and run its trials.

The coordinating ``fit`` (given ``storage``, ``study_name`` and ``shared_dir``)
writes its rows to a Parquet file in ``shared_dir`` and records in the study
where the file is and how the fit was called (:func:`share`). A worker reads
both (:func:`run_worker`), prepares the same problem, checks it against the
study's fingerprint, and runs trials in its own worker processes, with the
same per-trial limits as a local fit, until the coordinator's deadline.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automl.budget import Budget
from automl.data.prepare import Prepared, prepare
from automl.registry import collect_components, get_plugin_manager
from automl.search.distributed import DEADLINE_ATTR, deadline
from automl.search.loop import Search, SearchSettings
from automl.search.run import space_of
from automl.search.storage import (
    FINGERPRINT_ATTR,
    SETUP_ATTR,
    check_fingerprint,
    driver_message,
    fingerprint,
    open_storage,
    redact,
)
from automl.workers.pool import auto_memory_limit, worker_pool

logger = logging.getLogger(__name__)

#: study attribute: where the rows are and how the coordinating fit was called
SHARED_ATTR = "automl_shared"
#: reserved Parquet columns: the target and the per-row arguments of ``fit``
TARGET, WEIGHT, GROUPS, TIME = "__automl_y__", "__automl_sample_weight__", "__automl_groups__", "__automl_time__"
#: the fit's arguments a worker repeats (each JSON-able)
FIT_ARGS = ("task", "metric", "cv", "include", "exclude", "column_kinds", "measure_latency")
#: seconds a worker waits between two attempts to reach the database, at most
MAX_RETRY_SECONDS = 30.0
#: a worker's own budget when the coordinator has published no deadline (it stops when the fit ends)
NO_DEADLINE_SECONDS = 24 * 3600.0


def share(
    study: optuna.Study,
    shared_dir: Any,
    X: pd.DataFrame,
    y: Any,
    per_row: dict[str, Any],
    fit_args: dict[str, Any],
    prepared: Prepared,
) -> Path:
    """Write the rows to ``shared_dir`` as Parquet and record, in ``study``, what a worker needs to join.

    The arguments are checked first by :func:`check_shareable`.
    """
    folder = Path(shared_dir)
    frame = X.copy()
    frame[TARGET] = np.asarray(y)
    for column, key in ((WEIGHT, "sample_weight"), (GROUPS, "groups"), (TIME, "time")):
        value = per_row.get(key)
        if value is not None and not isinstance(value, str):
            frame[column] = np.asarray(value)
    path = folder / f"{study.study_name}-{fingerprint(prepared)['data'][:12]}.parquet"
    frame.to_parquet(path, index=False)
    time_column = per_row.get("time") if isinstance(per_row.get("time"), str) else None
    study.set_user_attr(DEADLINE_ATTR, None)  # an earlier run's deadline has passed: no limit until published
    study.set_user_attr(
        SHARED_ATTR,
        {
            "data": str(path.resolve()),
            "fit": {k: _plain(fit_args[k]) for k in FIT_ARGS},
            "time_column": time_column,
            "models": [m.name for m in prepared.models],
        },
    )
    return path


def _plain(value: Any) -> Any:
    """An argument as JSON keeps it: a mapping as a dict, a sequence of names as a list."""
    if isinstance(value, Mapping):
        return dict(value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return list(value)


def check_shareable(X: Any, fit_args: dict[str, Any], shared_dir: Any) -> None:
    """Check, before the study records anything, that workers can repeat this fit.

    Raises
    ------
    ValueError
        When a worker could not repeat it (a metric or cv given as an object,
        X without string column names, no such folder); the message names the argument.
    """
    for name in ("metric", "cv"):
        value = fit_args[name]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ValueError(f"shared_dir: workers cannot repeat {name}={value!r}; give {name} by name or number")
    if not isinstance(X, pd.DataFrame) or not all(isinstance(c, str) for c in X.columns):
        raise ValueError("shared_dir: workers read X from Parquet, which needs a DataFrame with string column names")
    if not Path(shared_dir).is_dir():
        raise ValueError(f"shared_dir={str(shared_dir)!r} is not a folder")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(
            "shared_dir: the rows are shared as Parquet, which needs pyarrow: pip install 'automl[postgres]'"
        ) from None


def connect(storage: str, wait: float) -> optuna.storages.BaseStorage:
    """The storage at ``storage``, retried with backoff for ``wait`` seconds while the database cannot be reached.

    A refused login (wrong password, unknown user or database) is not retried.
    """
    started, delay = time.monotonic(), 1.0
    while True:
        try:
            return open_storage(storage, create=False)
        except ValueError as exc:
            text = str(exc)
            lasting = any(s in text for s in ("password", "does not exist", "not installed", "must be", "folder"))
            left = wait - (time.monotonic() - started)
            if lasting or left <= 0:
                raise
            pause = min(delay, left)
            logger.warning("%s; retrying in %.0fs", text, pause)
            time.sleep(pause)
            delay = min(MAX_RETRY_SECONDS, delay * 2)


def _joined(backend: optuna.storages.BaseStorage, storage: str, study_name: str, wait: float) -> optuna.Study:
    """The study, once its coordinator has recorded the data (waiting up to ``wait`` seconds)."""
    try:
        study = optuna.load_study(study_name=study_name, storage=backend)
    except KeyError:
        names = [s.study_name for s in optuna.get_all_study_summaries(backend)]
        raise ValueError(f"no study {study_name!r} in storage {redact(storage)!r}; its studies: {names}") from None
    started, said = time.monotonic(), -math.inf
    while SHARED_ATTR not in study.user_attrs or FINGERPRINT_ATTR not in study.user_attrs:
        if time.monotonic() - started > wait:
            raise ValueError(
                f"study {study_name!r} records no data for workers: start its fit with shared_dir=... "
                "(automl fit --shared-dir DIR)"
            )
        if time.monotonic() - said >= 10:
            said = time.monotonic()
            logger.info("waiting for the fit of study %r to record its data", study_name)
        time.sleep(1.0)
    return study


def _prepared(study: optuna.Study) -> Prepared:
    """The coordinator's problem, prepared again from the shared Parquet file and checked against the fingerprint."""
    shared, setup = study.user_attrs[SHARED_ATTR], study.user_attrs[SETUP_ATTR]
    path = shared["data"]
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise ValueError(f"the study's data {path!r} cannot be read here: {exc}") from exc
    y = frame.pop(TARGET)
    per_row = {
        key: frame.pop(col) if col in frame else None
        for col, key in ((WEIGHT, "sample_weight"), (GROUPS, "groups"), (TIME, "time"))
    }
    if shared.get("time_column"):
        per_row["time"] = shared["time_column"]
    components = collect_components(get_plugin_manager(()))
    prepared = prepare(
        frame,
        y,
        components,
        **shared["fit"],
        time_budget=setup["time_budget"],
        random_state=setup["random_state"],
        **per_row,
    )
    try:
        check_fingerprint(study, fingerprint(prepared))
    except ValueError as exc:
        raise ValueError(f"the data at {path!r} does not match study {study.study_name!r}: {exc}") from exc
    missing = sorted(set(shared["models"]) - {m.name for m in prepared.models})
    if missing:
        raise ValueError(f"models {missing} of study {study.study_name!r} are not installed here (their plugins)")
    return prepared


def run_worker(
    storage: str, study_name: str, n_jobs: int = 1, wait: float = 60.0, memory_limit: int | None = None
) -> int:
    """Join ``study_name`` in ``storage`` and run trials until its deadline; return how many ran here.

    Parameters
    ----------
    storage : str
        The study's database URL (or journal file).
    study_name : str
        The study a ``fit`` started with ``storage``, ``study_name`` and ``shared_dir``.
    n_jobs : int
        Trials run at once on this machine.
    wait : float
        Seconds to keep trying to reach the database, and to wait for the fit to record its data.
    memory_limit : int or None
        Bytes of address space per worker process (0: no limit); None takes a
        safe share of the machine, as ``AutoML(memory_limit="auto")`` does.

    Raises
    ------
    ValueError
        When the storage, the study or its data cannot be used (one line saying which).
    """
    backend = connect(storage, wait)
    study = _joined(backend, storage, study_name, wait)
    prepared = _prepared(study)
    end = deadline(study)
    left = NO_DEADLINE_SECONDS if end is None else end - time.time()
    if left <= 0:
        logger.info("study %r: its deadline has passed; nothing to do", study_name)
        return 0
    problem = prepared.problem
    space = space_of(prepared)
    settings = SearchSettings(n_workers=n_jobs, ensemble=False, study=study, worker=True)
    budget = Budget(left if math.isfinite(left) else NO_DEADLINE_SECONDS)
    logger.info("joined study %r: %d rows, %d trials so far", study_name, len(problem.X), len(study.trials))
    limit = auto_memory_limit(n_jobs + 1) if memory_limit is None else memory_limit
    with worker_pool(limit, n_jobs + 1) as pool:
        search = Search(
            space=space, builder=prepared.builder, problem=problem, budget=budget, pool=pool, settings=settings
        )
        try:
            results = search.run()
        except Exception as exc:
            lost = isinstance(exc, optuna.exceptions.StorageInternalError) or type(exc).__module__.startswith(
                "sqlalchemy"
            )
            if not lost:
                raise
            reason = f"lost the database {redact(storage)!r}: {driver_message(exc)}"
            raise ValueError(f"{reason}; the results stored before are kept") from exc
        finally:
            search.cleanup()
    mine = [r for r in results if not r.earlier]
    logger.info("study %r: %d trials run here (%d ok)", study_name, len(mine), sum(r.status == "ok" for r in mine))
    return len(mine)


__all__ = ["SHARED_ATTR", "check_shareable", "connect", "run_worker", "share"]
