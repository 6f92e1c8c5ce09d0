"""The layout keeps its rules: the import contracts of docs/architecture.md, checked on the code as it is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_hold():
    """import-linter reads the contracts from pyproject.toml; a broken one names the import that breaks it."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def test_the_architecture_map_names_every_part():
    """docs/architecture.md names every subpackage and top-level module of automl/."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "automl"
    parts = [p.name + "/" for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    modules = [p.name for p in package.glob("*.py")]
    missing = [name for name in parts + modules if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md does not name {missing}"


def test_the_contracts_keep_the_workers_free_of_the_search():
    """A worker process runs evaluation code only: its entry point imports neither the search nor Optuna."""
    code = (
        "import sys, automl.workers.main, automl.evaluation.cross_validation; "
        "bad = [m for m in sys.modules if m.startswith(('automl.search', 'automl.estimator', 'optuna'))]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
