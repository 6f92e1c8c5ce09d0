"""automl.workers.scratch: the pool's and the zygote's folders go when their process goes, however it goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from automl.workers import scratch
from automl.workers.pool import WorkerPool
from automl.workers.scratch import LOCK_NAME, UNLOCKED_GRACE_SECONDS, ScratchDir, sweep

FIT = textwrap.dedent(
    """
    import sys
    from sklearn.datasets import load_breast_cancer
    from automl import AutoML
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    AutoML(time_budget=float(sys.argv[1]), n_jobs=2, random_state=0, verbose=0).fit(X, y)
    """
)

HOLD = textwrap.dedent(
    """
    import sys, time
    from automl.workers.scratch import ScratchDir
    print(ScratchDir(sys.argv[1]).path, flush=True)
    time.sleep(120)
    """
)


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    """The temporary directory, for this process (``tempfile``) and for the processes it starts (``TMPDIR``)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    return tmp_path


def ours(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.name.startswith("automl-"))


def test_a_fit_leaves_no_folder_behind_when_its_process_exits(tmpdir_env):
    subprocess.run([sys.executable, "-c", FIT, "3"], check=True, timeout=120, env=os.environ.copy())
    assert ours(tmpdir_env) == []


def test_a_killed_fit_leaves_its_data_and_the_next_pool_deletes_it(tmpdir_env):
    proc = subprocess.Popen([sys.executable, "-c", FIT, "120"], env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while not list(tmpdir_env.glob("automl-workers-*/problem-*.pkl")):
            assert proc.poll() is None and time.monotonic() < deadline, "the fit never wrote its problem"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    left = ours(tmpdir_env)
    assert {p.name.rsplit("-", 1)[0] for p in left} == {"automl-workers", "automl-zygote"}
    assert list(tmpdir_env.glob("automl-workers-*/problem-*.pkl"))  # the training data, on disk

    pool = WorkerPool(memory_limit=0)  # what the next fit does first
    try:
        assert not [p for p in left if p.name.startswith("automl-workers-") and p.exists()]
        assert pool.tmp.is_dir() and pool.tmp.parent == tmpdir_env
    finally:
        pool.close()
    assert not pool.tmp.exists()
    ScratchDir("automl-zygote-").remove()  # what the next zygote does first
    assert ours(tmpdir_env) == []


def test_a_living_owners_folder_is_kept_until_it_dies(tmpdir_env):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, "automl-test-"], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    try:
        held = Path(proc.stdout.readline().strip())
        assert held.is_dir()
        assert sweep("automl-test-") == []
        assert held.is_dir()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert sweep("automl-test-") == [held]
    assert not held.exists()


def test_a_folder_made_again_is_locked_again(tmpdir_env):
    mine = ScratchDir("automl-test-")
    mine.remove()
    assert not mine.path.exists()
    mine.ensure()
    assert (mine.path / LOCK_NAME).exists()
    assert sweep("automl-test-") == []  # this process holds it
    mine.remove()


def test_folders_without_a_lock_are_swept_only_when_old(tmpdir_env):
    young, old = tmpdir_env / "automl-test-young", tmpdir_env / "automl-test-old"
    young.mkdir()
    old.mkdir()
    (old / "problem-1.pkl").write_bytes(b"rows")
    past = time.time() - UNLOCKED_GRACE_SECONDS - 60
    os.utime(old, (past, past))
    assert sweep("automl-test-") == [old]
    assert young.is_dir() and not old.exists()


def test_other_names_files_and_links_are_left_alone(tmpdir_env, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "keep").write_text("x")
    (tmpdir_env / "automl-test-link").symlink_to(elsewhere, target_is_directory=True)
    (tmpdir_env / "automl-test-file").write_text("x")
    other = tmpdir_env / "other-folder"
    other.mkdir()
    past = time.time() - UNLOCKED_GRACE_SECONDS - 60
    for p in (other, tmpdir_env / "automl-test-file"):
        os.utime(p, (past, past))
    os.utime(tmpdir_env / "automl-test-link", (past, past), follow_symlinks=False)
    assert sweep("automl-test-") == []
    assert (elsewhere / "keep").exists() and other.is_dir() and (tmpdir_env / "automl-test-file").exists()


def test_a_sweep_never_fails_the_fit(tmpdir_env, monkeypatch):
    monkeypatch.setattr(scratch.shutil, "rmtree", lambda *a, **k: None)  # e.g. files another user put inside
    stale = tmpdir_env / "automl-test-stale"
    stale.mkdir()
    (stale / LOCK_NAME).write_text("")
    assert sweep("automl-test-") == []  # not deleted, not reported as deleted
    assert ScratchDir("automl-test-").path.is_dir()
