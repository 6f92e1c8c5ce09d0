"""A search kept in a storage: continued after a stop or a SIGKILL, refused for another problem."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import optuna
import pytest
from conftest import FAST
from optuna.trial import TrialState

from automl import AutoML
from automl.search import resume

QUIET = {k: v for k, v in FAST.items() if k != "random_state"}


def _fit(X, y, storage, **kw):
    args = {**FAST, "time_budget": None, "max_trials": 4, "storage": storage, "study_name": "s", **kw}
    return AutoML(**args).fit(X, y)


def test_a_second_fit_continues_the_study_in_a_journal_file(tmp_path, breast_cancer):
    X, y = breast_cancer
    journal = tmp_path / "search.log"
    first = _fit(X, y, str(journal), max_trials=5)
    second = _fit(X, y, str(journal), max_trials=3)
    board = second.leaderboard_.dropna(subset=["trial"])
    trials = board[board.baseline == ""]
    assert sorted(trials.trial) == list(range(8))  # 5 earlier trials, 3 new ones, none run twice
    assert set(trials[trials.earlier].trial) == set(range(5))
    earlier = {r.number: r for r in second.trials_ if r.earlier and not r.baseline}
    for r in first.trials_:
        if r.number in earlier and r.status == "ok":
            assert earlier[r.number].fold_scores == pytest.approx(r.fold_scores)
            assert earlier[r.number].config == r.config
            assert earlier[r.number].oof is not None  # so they can join an ensemble
    assert not any(r.earlier for r in first.trials_)


def test_random_state_none_continues_on_the_first_runs_folds(tmp_path, breast_cancer):
    X, y = breast_cancer
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fit(X, y, url, random_state=None, max_trials=2)
    second = _fit(X, y, url, random_state=None, max_trials=2)  # no error: the recorded seed made the folds
    assert second.leaderboard_.earlier.sum() >= 2


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"metric": "accuracy"}, "the metric differs (metric 'roc_auc' then, 'accuracy' now)"),
        ({"cv": 3}, "the folds"),
        ({"task": "regression"}, "the task"),
    ],
)
def test_continuing_with_another_problem_says_what_differs(tmp_path, breast_cancer, change, named):
    X, y = breast_cancer
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fit(X, y, url, max_trials=1)
    with pytest.raises(ValueError, match="study 's' searched another problem") as err:
        _fit(X, y, url, max_trials=1, **change)
    assert named in str(err.value)


def test_other_data_is_refused(tmp_path, breast_cancer):
    X, y = breast_cancer
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fit(X, y, url, max_trials=1)
    changed = X.copy()
    changed.iloc[0, 0] += 1.0
    with pytest.raises(ValueError, match="the data .a hash of X and y. differs"):
        _fit(changed, y, url, max_trials=1)
    with pytest.raises(ValueError, match="rows 569 then, 500 now"):
        _fit(X.iloc[:500], y.iloc[:500], url, max_trials=1)
    _fit(changed, y, url, max_trials=1, study_name="other")  # another study in the same file is fine


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"storage": 5}, "storage=5 must be a database URL"),
        ({"storage": "/no/such/folder/search.log"}, "the folder '/no/such/folder' of the journal file does not exist"),
        ({"storage": "sqlite:////no/such/folder/s.db"}, "storage='sqlite:////no/such/folder/s.db' cannot be opened"),
        ({"storage": "nosuchdriver://host/db"}, "storage='nosuchdriver://host/db' cannot be opened"),
        ({"storage": None, "study_name": "s"}, "study_name='s' needs a storage"),
        ({"study_name": ""}, "study_name='' must be a non-empty string"),
    ],
)
def test_bad_storage_arguments_are_named(tmp_path, breast_cancer, kw, message):
    X, y = breast_cancer
    args = {"storage": str(tmp_path / "search.log"), "study_name": "s", **kw}
    with pytest.raises(ValueError) as err:
        AutoML(time_budget=None, max_trials=1, **QUIET, **args).fit(X, y)
    assert message in str(err.value)


def test_a_folder_is_not_a_journal_file(tmp_path, breast_cancer):
    X, y = breast_cancer
    with pytest.raises(ValueError, match="is a folder; give the path of a journal file"):
        AutoML(time_budget=None, max_trials=1, storage=str(tmp_path), **QUIET).fit(X, y)


KILLED_FIT = textwrap.dedent(
    """
    import sys
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    AutoML(time_budget=120, n_jobs=2, random_state=0, verbose=0, storage=sys.argv[1], study_name="killed").fit(X, y)
    """
)


def _finished(t: optuna.trial.FrozenTrial) -> bool:
    """A trial that stored its result and told the study how it ended.

    One killed between the two (a few milliseconds) is stale, like any trial
    its process left running: failed, and not a result.
    """
    return "automl_result" in t.user_attrs and t.state != TrialState.RUNNING


def _wait_for_running_and_done(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Until the study has three stored results and a trial running, in the same look."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "the fit ended"
        try:  # the fit creates the tables: never here, two creators would race
            storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
            trials = optuna.load_study(study_name="killed", storage=storage).get_trials(deepcopy=False)
        except Exception:  # noqa: BLE001 - not created yet
            trials = []
        done = [t for t in trials if _finished(t)]
        if len(done) >= 3 and any(t.state == TrialState.RUNNING for t in trials):
            return
        time.sleep(0.2)
    raise AssertionError("the fit never had three finished trials and a running one")


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_fit_killed_with_sigkill_is_continued(tmp_path, breast_cancer, request, database):
    X, y = breast_cancer
    url = f"sqlite:///{tmp_path / 'killed.db'}" if database == "sqlite" else request.getfixturevalue("postgres_url")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_FIT, url], stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_running_and_done(url, proc)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = optuna.load_study(study_name="killed", storage=url).get_trials()
    running = {t.number for t in before if t.state == TrialState.RUNNING}
    finished = {t.number for t in before if _finished(t)}
    assert running and len(finished) >= 3

    automl = AutoML(time_budget=8, storage=url, study_name="killed", **FAST).fit(X, y)

    assert automl.fit_seconds_ <= 8 * 1.05 + 1  # the budget covers the new work only
    after = {t.number: t for t in optuna.load_study(study_name="killed", storage=url).get_trials()}
    for n in running:  # stale: failed, with the reason, and not a result
        assert after[n].state == TrialState.FAIL
        assert "stopped while the trial ran" in after[n].user_attrs["automl_stale"]
    assert not [t for t in after.values() if t.state == TrialState.RUNNING]
    board = automl.leaderboard_
    shown = board[board.baseline == ""].dropna(subset=["trial"])
    assert finished <= set(shown[shown.earlier].trial)  # earlier work is on the leaderboard ...
    assert not running & set(shown.trial)  # ... the stale trials are not
    new = set(shown[~shown.earlier].trial)
    assert new and min(new) > max(finished | running)  # nothing finished was run again


def test_a_trial_its_process_never_claimed_is_stale_after_a_few_seconds(monkeypatch):
    # the process created the trial and was killed before recording itself as its owner
    study = optuna.create_study()
    trial = study.ask()
    assert resume.fail_stale(study) == []  # just created: its process may be about to claim it
    later = time.time() + resume.UNCLAIMED_SECONDS + 1
    monkeypatch.setattr(resume.time, "time", lambda: later)
    assert resume.fail_stale(study, ours={trial.number}) == []  # this process's own trial
    assert resume.fail_stale(study) == [trial.number]
    stale = study.get_trials()[0]
    assert stale.state == TrialState.FAIL and "before claiming it" in stale.user_attrs[resume.STALE_ATTR]


def test_a_stale_trial_whose_result_was_stored_is_not_read_back(monkeypatch):
    # the process stored the result, then died before telling the study how the trial ended
    study = optuna.create_study()
    trial = study.ask()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    study._storage.set_trial_user_attr(trial._trial_id, resume.RESULT_ATTR, {"status": "ok"})
    study._storage.set_trial_user_attr(trial._trial_id, resume.OWNER_ATTR, {**resume.owner(), "pid": gone.pid})
    assert resume.fail_stale(study) == [trial.number]
    monkeypatch.setattr(resume, "decode", lambda number, params, stored, space: number)  # any result reads back
    assert resume.stored_results(study, space=None) == []  # failed as stale: not a result
