"""Where a search's study lives: Optuna's storages (a database URL, a journal file), and the study's fingerprint.

A study kept in a storage outlives the process: a ``fit`` started again with the
same storage and study name continues it (:mod:`automl.search.resume`). The
study records what it searches, as a *fingerprint* of the data, the task, the
metric and the folds; continuing it with anything else is an error that names
what differs, never a silent mix of two problems.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automl.data.prepare import Prepared

logger = logging.getLogger(__name__)

#: the study name when ``storage`` is given without ``study_name``
DEFAULT_STUDY = "automl"
#: study attributes the engine keeps
FINGERPRINT_ATTR = "automl_fingerprint"
SETUP_ATTR = "automl_setup"

#: fingerprint fields, in the order a mismatch names them
_FIELDS = {
    "task": "the task",
    "metric": "the metric",
    "rows": "the number of rows",
    "columns": "the columns (names and kinds)",
    "data": "the data (a hash of X and y)",
    "weights": "the sample weights",
    "folds": "the folds (cv, groups, time or random_state)",
}


def open_storage(storage: Any, create: bool = True) -> optuna.storages.BaseStorage:
    """An Optuna storage from what a user passes as ``storage``.

    Parameters
    ----------
    storage : str, path or optuna.storages.BaseStorage
        A database URL (``"sqlite:///search.db"``, ``"postgresql://user@host/db"``),
        the path of an Optuna journal file (created if missing; its folder must
        exist), or a storage object.

    Raises
    ------
    ValueError
        When the storage cannot be opened; the message names it.
    """
    if isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, (str, os.PathLike)) or not str(storage).strip():
        raise ValueError(
            f"storage={storage!r} must be a database URL such as 'sqlite:///search.db', "
            "the path of a journal file, or an optuna storage"
        )
    text = str(storage)
    if "://" in text:
        return _database(text, create)
    path = Path(text).expanduser()
    if not path.parent.is_dir():
        raise ValueError(f"storage={text!r}: the folder {str(path.parent)!r} of the journal file does not exist")
    if path.is_dir():
        raise ValueError(f"storage={text!r} is a folder; give the path of a journal file, e.g. {text}/search.log")
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    return optuna.storages.JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


#: times a process tries again when another one created the same tables while it did (a fresh database)
TABLE_RACE_RETRIES = 3


def _database(url: str, create: bool) -> optuna.storages.BaseStorage:
    shown = redact(url)
    for attempt in range(TABLE_RACE_RETRIES + 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url), skip_table_creation=not create)
        except ImportError as exc:
            raise ValueError(
                f"storage={shown!r}: the database driver is not installed ({exc}); "
                "for PostgreSQL: pip install 'automl[postgres]'"
            ) from exc
        except Exception as exc:  # sqlalchemy's errors: bad URL, refused connection, wrong password
            if create and attempt < TABLE_RACE_RETRIES and _created_meanwhile(exc):
                logger.info("storage=%r: another process created its tables at the same time; opening again", shown)
                time.sleep(0.2 * (attempt + 1))
                continue
            raise ValueError(f"storage={shown!r} cannot be opened: {driver_message(exc)}") from exc
    raise AssertionError("unreachable")  # the last attempt returns or raises


def _created_meanwhile(exc: BaseException) -> bool:
    """Whether ``exc`` says that a table or type it was creating already exists (a coordinator and workers
    opening a fresh database together: PostgreSQL's unique violation on ``pg_type``, or a duplicate table)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(getattr(seen, "orig", None) or seen)
        if "already exists" in text or "duplicate key value" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def driver_message(exc: BaseException) -> str:
    """The first line of the database driver's own message, under Optuna's and SQLAlchemy's wrappers."""
    seen: BaseException | None = exc
    found = exc
    while seen is not None:
        if getattr(seen, "orig", None) is not None:
            found = seen.orig
            break
        seen = seen.__cause__ or seen.__context__
    lines = str(found).strip().splitlines()
    return lines[0] if lines else type(found).__name__


def _engine_kwargs(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # several processes of one machine may share the file: wait for its lock rather than fail
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True}


def redact(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


def open_study(storage: Any, study_name: str | None) -> optuna.Study:
    """The study ``study_name`` in ``storage``, created if it does not exist yet.

    Its sampler and pruner are set by :func:`automl.search.study.create_study`.
    """
    name = DEFAULT_STUDY if study_name is None else study_name
    if not isinstance(name, str) or not name:
        raise ValueError(f"study_name={study_name!r} must be a non-empty string")
    backend = open_storage(storage)
    try:
        return optuna.create_study(storage=backend, study_name=name, direction="maximize", load_if_exists=True)
    except ValueError as exc:  # a study of that name that minimises: not one of ours
        raise ValueError(f"study {name!r} in storage={_shown(storage)!r} cannot be used: {exc}") from exc


def _shown(storage: Any) -> str:
    return redact(storage) if isinstance(storage, str) else repr(storage)


def setup(study: optuna.Study, random_state: int | None, time_budget: float | None) -> dict[str, Any]:
    """The seed and the time budget that decide the folds, recorded by the study's first run.

    A run that continues the study makes its folds (and its sample of a large
    table) with the first run's values: a fit given ``random_state=None`` would
    otherwise draw other folds, and another budget another sample.
    """
    recorded = study.user_attrs.get(SETUP_ATTR)
    if recorded is not None:
        return dict(recorded)
    seed = random_state if random_state is not None else secrets.randbelow(2**31 - 1)
    out = {"random_state": int(seed), "time_budget": time_budget}
    study.set_user_attr(SETUP_ATTR, out)
    return out


def fingerprint(prepared: Prepared) -> dict[str, Any]:
    """What a study searches: the task, metric, rows, columns, a hash of the data, the weights and the folds."""
    problem = prepared.problem
    content = hashlib.sha256(pd.util.hash_pandas_object(problem.X, index=False).to_numpy().tobytes())
    content.update(np.ascontiguousarray(problem.y_codes).tobytes())
    folds = hashlib.sha256()
    for train, valid in problem.splits:
        folds.update(np.asarray(train, dtype=np.int64).tobytes() + b"|" + np.asarray(valid, dtype=np.int64).tobytes())
    weights = "none" if problem.weights is None else _digest(np.asarray(problem.weights, dtype=float).tobytes())
    return {
        "task": problem.task,
        "metric": problem.metric.name,
        "rows": int(len(problem.X)),
        "columns": [[str(c.name), c.kind] for c in prepared.schema.columns],
        "data": content.hexdigest()[:32],
        "weights": weights,
        "folds": folds.hexdigest()[:32],
    }


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def check_fingerprint(study: optuna.Study, found: dict[str, Any]) -> None:
    """Record ``found`` in a new study, or check it against the one recorded.

    Raises
    ------
    ValueError
        When the study searched another problem; the message says what differs.
    """
    recorded = study.user_attrs.get(FINGERPRINT_ATTR)
    if recorded is None:
        study.set_user_attr(FINGERPRINT_ATTR, found)
        return
    differ = [what for key, what in _FIELDS.items() if recorded.get(key) != found.get(key)]
    if not differ:
        return
    details = []
    for key in ("task", "metric", "rows"):
        if recorded.get(key) != found.get(key):
            details.append(f"{key} {recorded.get(key)!r} then, {found.get(key)!r} now")
    raise ValueError(
        f"study {study.study_name!r} searched another problem: {', '.join(differ)} "
        + ("differ" if len(differ) > 1 else "differs")
        + (f" ({'; '.join(details)})" if details else "")
        + ". Continue it with the same data, task, metric and cv, or give a new study_name."
    )


__all__ = [
    "DEFAULT_STUDY",
    "check_fingerprint",
    "driver_message",
    "fingerprint",
    "open_storage",
    "open_study",
    "redact",
    "setup",
]
