"""One search spread over a coordinating fit and ``automl worker`` processes, through a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import optuna
import pytest
from optuna.trial import TrialState
from sklearn.metrics import accuracy_score, make_scorer
from sklearn.model_selection import KFold

from automl import AutoML
from automl.search.distributed import StudyLink

BUDGET = 16


def worker(url: str, study: str, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "automl", "worker", "--storage", url, "--study", study, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _study_exists(url: str, name: str) -> bool:
    try:  # never create the tables here: the fit does, and two creators would race
        storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
        return name in [s.study_name for s in storage.get_all_studies()]
    except Exception:  # noqa: BLE001 - not created yet
        return False


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


class Workers(threading.Thread):
    """Start two workers once the fit has created the study; SIGKILL the second while it runs a trial."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(daemon=True)
        self.url, self.name = url, name
        self.procs: list[subprocess.Popen] = []
        self.killed_trials: set[int] = set()

    def run(self) -> None:
        deadline = time.monotonic() + BUDGET
        while not _study_exists(self.url, self.name) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.procs = [worker(self.url, self.name), worker(self.url, self.name)]
        victim = self.procs[1].pid
        while time.monotonic() < deadline:
            if self._running(victim):
                # stopped, it cannot finish the trial between the look and the kill
                os.kill(victim, signal.SIGSTOP)
                mine = self._running(victim)
                if mine:
                    os.kill(victim, signal.SIGKILL)
                    self.killed_trials = mine
                    return
                os.kill(victim, signal.SIGCONT)
            time.sleep(0.1)

    def _running(self, pid: int) -> set[int]:
        """The trials the process ``pid`` is running, as the storage says."""
        return {
            t.number
            for t in _trials(self.url, self.name)
            if t.state == TrialState.RUNNING and (t.user_attrs.get("automl_owner") or {}).get("pid") == pid
        }


def _run_by(trials: list[optuna.trial.FrozenTrial], pids: set[int]) -> int:
    """Trials with a result (ok, pruned, timed out or failed; not stale) run by the processes ``pids``."""
    return sum("automl_result" in t.user_attrs and t.user_attrs["automl_owner"]["pid"] in pids for t in trials)


def test_a_coordinator_and_two_workers_share_one_search(postgres_url, tmp_path, breast_cancer):
    X, y = breast_cancer
    common = {"time_budget": BUDGET, "n_jobs": 1, "random_state": 0, "verbose": 0, "storage": postgres_url}
    workers = Workers(postgres_url, "shared")
    workers.start()
    automl = AutoML(study_name="shared", shared_dir=str(tmp_path), **common).fit(X, y)
    workers.join()

    assert automl.fit_seconds_ <= BUDGET * 1.05 + 1  # the coordinator keeps its budget
    survivor, victim = workers.procs
    out, err = survivor.communicate(timeout=60)  # the workers stop at the coordinator's deadline
    assert survivor.returncode == 0, err
    assert "trials run for study 'shared'" in out
    victim.communicate(timeout=10)
    assert victim.returncode == -signal.SIGKILL and workers.killed_trials

    trials = {t.number: t for t in _trials(postgres_url, "shared")}
    for n in workers.killed_trials:  # no trial stuck: the killed worker's trial was failed as stale
        assert trials[n].state == TrialState.FAIL and "automl_stale" in trials[n].user_attrs
    assert not [t for t in trials.values() if t.state == TrialState.RUNNING]
    owners = {n: t.user_attrs["automl_owner"]["pid"] for n, t in trials.items() if "automl_owner" in t.user_attrs}
    by_workers = {n for n, pid in owners.items() if pid != os.getpid()}
    shown = automl.leaderboard_.dropna(subset=["trial"])
    assert by_workers & set(shown[shown.earlier].trial)  # the workers' trials are the coordinator's results
    by_pid = {pid: _run_by(list(trials.values()), {pid}) for pid in (os.getpid(), survivor.pid, victim.pid)}
    # the surviving worker finished trials of its own; how much faster the
    # search gets is benchmarks/distributed.py's to measure, not a unit test's
    assert by_pid[survivor.pid] > 0, by_pid
    # the final model is chosen among every process's trials: none of them scored much better (a refit
    # that cannot finish in time gives way to the next one)
    assert automl.best_score_ >= shown[shown.status == "ok"].score_mean.max() - 0.01


def test_worker_errors_are_one_line(postgres_url, breast_cancer):
    X, y = breast_cancer
    AutoML(time_budget=None, max_trials=1, n_jobs=1, verbose=0, storage=postgres_url, study_name="plain").fit(X, y)

    def fails(url: str, study: str, *extra: str) -> str:
        proc = worker(url, study, *extra)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 2, err
        return err.strip().splitlines()[-1]

    wrong = postgres_url.replace(":s3cret@", ":wrong@")
    assert "password authentication failed" in fails(wrong, "plain")
    assert "automl:***@" in fails(wrong, "plain")  # the password is not shown
    unknown = fails(postgres_url, "nope")
    assert "no study 'nope'" in unknown and "'plain'" in unknown
    assert "records no data for workers: start its fit with shared_dir" in fails(postgres_url, "plain", "--wait", "1")


def test_a_worker_retries_an_unreachable_database_with_backoff():
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = worker(f"postgresql+psycopg2://u:p@127.0.0.1:{port}/db", "s", "--wait", "3")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "retrying in 1s" in err and "retrying in 2s" in err
    assert "cannot be opened" in err.strip().splitlines()[-1]


@pytest.mark.parametrize("bad", [{"metric": make_scorer(accuracy_score)}, {"cv": KFold(3)}])
def test_a_fit_workers_cannot_repeat_is_refused(postgres_url, tmp_path, breast_cancer, bad):
    X, y = breast_cancer
    with pytest.raises(ValueError, match="shared_dir: workers cannot repeat"):
        AutoML(time_budget=5, verbose=0, storage=postgres_url, study_name="bad", shared_dir=str(tmp_path), **bad).fit(
            X, y
        )
    assert not _study_exists(postgres_url, "bad")  # refused before the study recorded anything


def test_the_coordinator_replaces_an_earlier_runs_deadline():
    study = optuna.create_study()
    study.set_user_attr("automl_deadline", time.time() - 100)  # the deadline of a run that has ended
    link = StudyLink(study, space=None, coordinator=True)
    link.publish(float("inf"))  # a continued fit with no time limit: workers run until it ends
    assert study.user_attrs["automl_deadline"] is None
    link.publish(10.0)
    first = study.user_attrs["automl_deadline"]
    assert first == pytest.approx(time.time() + 10.0, abs=1.0)
    link.publish(10.1)  # moves less than DEADLINE_STEP: not written again
    assert study.user_attrs["automl_deadline"] == first
    link.finish()
    assert study.user_attrs["automl_deadline"] <= time.time()


def test_a_process_that_loses_the_race_to_create_the_tables_opens_them(monkeypatch):
    import sqlalchemy.exc

    from automl.search import storage

    class UniqueViolation(Exception):
        def __str__(self):
            return 'duplicate key value violates unique constraint "pg_type_typname_nsp_index"'

    calls = []

    def rdb(url, **kwargs):
        calls.append(url)
        if len(calls) == 1:  # another process created the tables meanwhile
            raise sqlalchemy.exc.IntegrityError("CREATE TABLE alembic_version", {}, UniqueViolation())
        return "opened"

    monkeypatch.setattr(storage.optuna.storages, "RDBStorage", rdb)
    monkeypatch.setattr(storage.time, "sleep", lambda s: None)
    assert storage.open_storage("postgresql+psycopg2://u:p@127.0.0.1:1/db") == "opened"
    assert len(calls) == 2

    def refused(url, **kwargs):  # any other error is not tried again
        calls.append(url)
        raise sqlalchemy.exc.OperationalError("connect", {}, Exception("connection refused"))

    calls.clear()
    monkeypatch.setattr(storage.optuna.storages, "RDBStorage", refused)
    with pytest.raises(ValueError, match="cannot be opened: connection refused"):
        storage.open_storage("postgresql+psycopg2://u:p@127.0.0.1:1/db")
    assert len(calls) == 1
