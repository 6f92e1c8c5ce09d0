"""Third-party plugins found through a real entry point of the ``automl`` group."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from conftest import FAST

from automl import AutoML, PluginLoadWarning, registry
from automl.workers import pool as worker

PLUGIN_SOURCE = textwrap.dedent(
    """
    from sklearn.naive_bayes import GaussianNB

    from automl import ModelSpec, hookimpl


    class EntryPointNB(GaussianNB):
        '''A class of the plugin's own: workers must import this module to unpickle it.'''


    @hookimpl
    def automl_register_models(register):
        register(ModelSpec(name="ep_nb", tasks="classification", build=lambda params, ctx: EntryPointNB()))
    """
)


def install(site: Path, dist: str, module: str, source: str, entry_point: str) -> None:
    """Write a module and a ``*.dist-info`` directory that declares it in the ``automl`` group."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[automl]\n{entry_point} = {module}\n")


@pytest.fixture
def site(tmp_path, monkeypatch, fresh_entry_points):
    """A directory on sys.path where plugins get 'installed'; modules imported from it are forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    _forget_modules_from(tmp_path)


@pytest.fixture
def late_site(tmp_path, monkeypatch, fresh_entry_points):
    """Like ``site``, but joins sys.path only when the test calls the returned function."""
    yield lambda: monkeypatch.syspath_prepend(str(tmp_path))
    _forget_modules_from(tmp_path)


def _forget_modules_from(path: Path) -> None:
    for name, module in list(sys.modules.items()):
        if str(path) in (getattr(module, "__file__", None) or ""):
            del sys.modules[name]


def restart_workers() -> None:
    """Stop the shared workers, so the next fit starts workers that see the current sys.path."""
    for pool in worker._SHARED.values():
        pool.close()


def test_entry_point_plugin_is_found_and_used(site, iris_str):
    install(site, "automl-ep-demo", "automl_ep_demo", PLUGIN_SOURCE, "ep_demo")
    registry.reload_entry_points()
    restart_workers()
    X, y = iris_str
    model = AutoML(include=["ep_nb", "linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    board = model.leaderboard_
    ep = board[board["model"] == "ep_nb"]
    assert len(ep) >= 1
    assert ep["status"].isin(["ok", "baseline"]).all(), ep["error"].tolist()
    assert registry.plugin_failures() == []
    comps = registry.collect_components(registry.get_plugin_manager())
    assert comps.owners[("models", "ep_nb")] == "ep_demo"


def test_entry_point_plugins_are_cached_until_reloaded(site):
    registry.reload_entry_points()
    assert "ep_nb" not in registry.collect_components(registry.get_plugin_manager()).models
    install(site, "automl-ep-demo", "automl_ep_demo", PLUGIN_SOURCE, "ep_demo")
    assert "ep_nb" not in registry.collect_components(registry.get_plugin_manager()).models
    registry.reload_entry_points()
    assert "ep_nb" in registry.collect_components(registry.get_plugin_manager()).models
    assert "ep_nb" not in registry.collect_components(registry.get_plugin_manager(entry_points=False)).models


def test_a_plugin_that_fails_to_import_is_skipped_with_a_warning(site, iris_str):
    install(site, "automl-ep-broken", "automl_ep_broken", "raise ImportError('missing dependency xyz')\n", "broken")
    registry.reload_entry_points()
    X, y = iris_str
    with pytest.warns(PluginLoadWarning, match=r"automl plugin 'broken' \(automl_ep_broken\) failed to load"):
        model = AutoML(time_budget=None, max_trials=2, **FAST).fit(X, y)
    assert model.leaderboard_["status"].isin(["ok", "baseline"]).all()
    (failure,) = registry.plugin_failures()
    assert (failure.name, failure.value) == ("broken", "automl_ep_broken")
    assert "missing dependency xyz" in failure.error


def test_entry_point_plugin_added_to_sys_path_after_workers_started(late_site, tmp_path, iris_str):
    X, y = iris_str
    AutoML(include=["linear"], time_budget=None, max_trials=1, **FAST).fit(X, y)  # workers are up
    late_site()  # e.g. a notebook's sys.path.append("my_plugins"), then reload_entry_points()
    install(tmp_path, "automl-ep-late", f"automl_ep_late_{uuid.uuid4().hex}", PLUGIN_SOURCE, "ep_late")
    registry.reload_entry_points()
    model = AutoML(include=["ep_nb", "linear"], time_budget=None, max_trials=3, **FAST).fit(X, y)
    board = model.leaderboard_
    assert board.loc[board["model"] == "ep_nb", "status"].isin(["ok", "baseline"]).all()
