"""Counting physical cores without starting ``lscpu`` (which ``getrusage`` counted at this process's size)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from automl.workers import cores


def _fake_sysfs(root: Path, online: str, siblings: dict[int, str], *, old_names: bool = False) -> Path:
    (root / "online").parent.mkdir(parents=True, exist_ok=True)
    (root / "online").write_text(online + "\n")
    for cpu, text in siblings.items():
        topology = root / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / ("thread_siblings_list" if old_names else "core_cpus_list")).write_text(text + "\n")
    return root


def test_sibling_threads_count_as_one_core(tmp_path):
    # four CPUs, two threads a core: 0 and 2 share a core, 1 and 3 another
    root = _fake_sysfs(tmp_path, "0-3", {0: "0,2", 1: "1,3", 2: "0,2", 3: "1,3"})
    assert cores.physical_cores_from_sysfs(root) == 2


def test_offline_cpus_and_older_kernels(tmp_path):
    # CPUs 4-5 are offline (no topology listed); the old file name is read
    root = _fake_sysfs(tmp_path, "0-3,6", {0: "0", 1: "1", 2: "2-3", 3: "2-3", 6: "6"}, old_names=True)
    assert cores.physical_cores_from_sysfs(root) == 4


@pytest.mark.parametrize("online", ["", "0-x", None])
def test_an_unreadable_topology_is_unknown(tmp_path, online):
    if online is not None:
        _fake_sysfs(tmp_path, online, {})
    assert cores.physical_cores_from_sysfs(tmp_path) is None
    _fake_sysfs(tmp_path / "b", "0-1", {0: "0"})  # cpu1 listed online but not described
    assert cores.physical_cores_from_sysfs(tmp_path / "b") is None


@pytest.mark.skipif(sys.platform != "linux", reason="sysfs is Linux's")
def test_joblib_gets_the_count_without_a_process(monkeypatch):
    from joblib.externals.loky.backend import context

    expected = cores.physical_cores_from_sysfs()
    assert expected is not None and expected >= 1
    monkeypatch.setattr(context, "physical_cores_cache", None)

    def no_process(*args, **kwargs):
        raise AssertionError(f"started {args[0]!r}")

    monkeypatch.setattr(context.subprocess, "run", no_process)
    import joblib

    assert cores.count_physical_cores() == joblib.cpu_count(only_physical_cores=True)
    assert context.physical_cores_cache == expected


@pytest.mark.skipif(sys.platform != "linux", reason="lscpu is Linux's")
def test_the_count_is_lscpus():
    try:
        out = subprocess.run(["lscpu", "--parse=core"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("no lscpu here")
    assert cores.physical_cores_from_sysfs() == len({line for line in out.splitlines() if not line.startswith("#")})


def test_a_count_joblib_already_has_is_kept(monkeypatch):
    from joblib.externals.loky.backend import context

    monkeypatch.setattr(context, "physical_cores_cache", 7)
    cores._seed_joblib_cache(3)
    assert context.physical_cores_cache == 7
