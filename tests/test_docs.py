"""The README, docs and examples say what the code does."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest
from conftest import FAST

from automl import AutoML

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TEST_COMMAND = 'pip install -e ".[test]" && pytest -q'


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def definitions_of(block: str, stop: str) -> dict:
    """Run a documentation block up to the line that starts with ``stop``; return its namespace."""
    head = block.split(f"\n{stop}", 1)[0]
    namespace: dict = {"__name__": "doc_example"}
    exec(compile(head, "<doc>", "exec"), namespace)
    return namespace


def test_readme_opens_with_the_two_commands():
    lines = README.splitlines()
    assert lines[0].startswith("```")
    assert lines[1:4] == ["pip install -e . && python examples/quickstart.py", TEST_COMMAND, "```"]


def test_ci_runs_the_readme_test_command_and_ruff():
    script = (ROOT / ".ci" / "run").read_text()
    assert TEST_COMMAND in script
    assert "ruff check automl tests examples" in script
    assert "set -euo pipefail" in script
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_readme_links_exist():
    for link in re.findall(r"\]\(([^)#]+)\)", README):
        assert (ROOT / link).exists(), link


def test_readme_plugin_example_works(iris_str):
    (block,) = [b for b in code_blocks(README, "python") if "hookimpl" in b]
    namespace = definitions_of(block, "automl = AutoML(")
    X, y = iris_str
    plugin = namespace["GaussianNBPlugin"]()
    model = AutoML(plugins=[plugin], include=["gaussian_nb"], time_budget=None, max_trials=2, **FAST).fit(X, y)
    assert (model.leaderboard_["status"] == "ok").all()


def test_plugins_doc_example_works(iris_str):
    doc = (ROOT / "docs" / "plugins.md").read_text()
    block = next(b for b in code_blocks(doc, "python") if "class SVCPlugin" in b)
    namespace = definitions_of(block, "AutoML(plugins=")
    X, y = iris_str
    model = AutoML(plugins=[namespace["SVCPlugin"]()], include=["svc"], time_budget=None, max_trials=2, **FAST).fit(
        X, y
    )
    board = model.leaderboard_
    assert (board["status"] == "ok").all()
    assert (board.loc[board["trial"].notna(), "preprocessing"] == "numeric=impute_scale").all()  # needs_scaling


def test_plugins_doc_lists_every_hook_and_field():
    from dataclasses import fields

    from automl import MetricSpec, ModelSpec, PreprocessorSpec, hookspecs

    doc = (ROOT / "docs" / "plugins.md").read_text()
    hooks = [name for name in dir(hookspecs) if name.startswith("automl_")]
    assert len(hooks) == 6
    for hook in hooks:
        assert f"`{hook}(" in doc, hook
    for spec in (ModelSpec, PreprocessorSpec, MetricSpec):
        for field in fields(spec):
            assert f"`{field.name}" in doc, (spec.__name__, field.name)


def _load_example(name: str):
    path = ROOT / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines things; main() runs only as a script
    return module


def test_custom_plugin_example_registers_its_model(iris_str):
    example = _load_example("custom_plugin")
    X, y = iris_str
    model = AutoML(
        plugins=[example.GaussianNBPlugin()], include=["gaussian_nb", "linear"], time_budget=None, max_trials=3, **FAST
    ).fit(X, y)
    ours = model.leaderboard_[model.leaderboard_["model"] == "gaussian_nb"]
    assert len(ours) >= 1 and (ours["status"] == "ok").all()


@pytest.mark.parametrize("name", ["quickstart", "custom_plugin"])
def test_examples_import_without_running(name):
    assert callable(_load_example(name).main)
