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
TEST_COMMAND = 'pip install -e ".[test]" -r plugins/requirements.txt && pytest -q'


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
    assert model.leaderboard_["status"].isin(["ok", "baseline"]).all()


def test_plugins_doc_example_works(iris_str):
    doc = (ROOT / "docs" / "plugins.md").read_text()
    block = next(b for b in code_blocks(doc, "python") if "class SVCPlugin" in b)
    namespace = definitions_of(block, "AutoML(plugins=")
    X, y = iris_str
    model = AutoML(plugins=[namespace["SVCPlugin"]()], include=["svc"], time_budget=None, max_trials=2, **FAST).fit(
        X, y
    )
    board = model.leaderboard_
    assert board["status"].isin(["ok", "baseline"]).all()
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
    assert len(ours) >= 1 and ours["status"].isin(["ok", "baseline"]).all()


@pytest.mark.parametrize("name", ["quickstart", "custom_plugin"])
def test_examples_import_without_running(name):
    assert callable(_load_example(name).main)


# -- the documentation site (mkdocs.yml, docs/) -----------------------------------------------------------------
HOOKS_PAGE = ROOT / "docs" / "hooks.md"


def _hooks() -> list[str]:
    from automl import hookspecs

    return sorted(name for name in dir(hookspecs) if name.startswith("automl_") and callable(getattr(hookspecs, name)))


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None, reason="mkdocs is not installed: the docs extra")
def test_docs_site_builds_strict(tmp_path):
    import inspect
    import subprocess
    import sys

    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about MkDocs 2.0
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    api = (site / "api" / "index.html").read_text()
    summary, *_ = inspect.getdoc(AutoML).splitlines()
    assert 'id="automl.estimator.AutoML"' in api
    assert f"<p>{summary}</p>" in api  # the docstring, rendered by mkdocstrings
    assert "Wall-clock seconds for the whole" in api  # ... with its parameters
    for page in ("getting-started", "user-guide", "hooks", "write-a-plugin", "plugins", "deploy", "errors"):
        assert (site / page / "index.html").exists(), page


def test_every_hook_is_documented_and_tested():
    page = HOOKS_PAGE.read_text()
    examples = "\n".join(code_blocks(page, "python"))
    others = [p.read_text() for p in (ROOT / "tests").rglob("*.py") if p.name != "test_docs.py"]
    hooks = _hooks()
    assert len(hooks) == 6, hooks
    for hook in hooks:
        assert f"::: automl.hookspecs.{hook}\n" in page, f"{hook}: no signature (mkdocstrings block) on docs/hooks.md"
        assert f"def {hook}(" in examples, f"{hook}: no example implementation on docs/hooks.md"
        assert any(hook in text for text in others), f"{hook}: no test in tests/ exercises it"


def test_hooks_page_examples_work_together(tmp_path, caplog):
    import logging

    from sklearn.datasets import load_breast_cancer

    import automl

    *blocks, together = code_blocks(HOOKS_PAGE.read_text(), "python")
    assert "plugins=[" in together
    namespace: dict = {"__name__": "doc_example"}
    for block in blocks:
        exec(compile(block, "<docs/hooks.md>", "exec"), namespace)
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X, y = X.iloc[::3, :8], y.iloc[::3]
    plugins = [
        namespace["GaussianNBPlugin"](),
        namespace["QuantilePlugin"](),
        namespace["BrierPlugin"](),
        namespace["AnnounceSearch"](),
        namespace["TrialLog"](tmp_path / "trials.csv"),
        namespace["SaveEveryFit"](tmp_path / "models"),
    ]
    with caplog.at_level(logging.INFO, logger="my_plugin"):
        model = AutoML(
            plugins=plugins, metric="brier", include=["gaussian_nb", "linear"], time_budget=None, max_trials=4, **FAST
        ).fit(X, y)
    board = model.leaderboard_
    assert (
        model.metric_ == "brier"
        and board["status"].isin(["ok", "baseline"]).all()
        and "gaussian_nb" in set(board["model"])
    )
    assert any("brier" in r.getMessage() and "gaussian_nb" in r.getMessage() for r in caplog.records)
    trials = (tmp_path / "trials.csv").read_text().splitlines()
    assert len(trials) == board["trial"].notna().sum()
    saved = automl.load(tmp_path / "models" / "model-0.automl")
    assert (saved.predict(X) == model.predict(X)).all()
    assert (tmp_path / "models" / "model-0.leaderboard.csv").exists()


def test_plugin_tutorial_matches_the_template():
    tutorial = (ROOT / "docs" / "write-a-plugin.md").read_text()
    template = ROOT / "examples" / "plugin_template"
    pyproject = (template / "pyproject.toml").read_text()
    (toml,) = [b for b in code_blocks(tutorial, "toml") if "[project.entry-points.automl]" in b]
    entry = toml.split("[project.entry-points.automl]\n", 1)[1].splitlines()[0]
    name = 'name = "automl-plugin-template"'
    assert entry in pyproject and name in toml and name in pyproject
    (test_block,) = [b for b in code_blocks(tutorial, "python") if "parametrize_plugin_checks(plugin)" in b]
    template_tests = "\n".join(p.read_text() for p in (template / "tests").glob("test_*.py"))
    missing = [line for line in test_block.splitlines() if line.strip() and line not in template_tests]
    assert not missing, f"docs/write-a-plugin.md quotes lines the template's tests no longer have: {missing}"
