"""The example notebooks run from top to bottom, with a small budget, in a kernel of this interpreter."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NOTEBOOKS = sorted(EXAMPLES.glob("*.ipynb"))
#: seconds of search each notebook's fits get here (the notebooks default to 30): at 4 s, workers booting
#: on a loaded 2-core machine once left the regression notebook with no finished trial
BUDGET = "6"
#: the tag of the cell whose last expression is the fitted estimator
SUMMARY_TAG = "summary"
#: the MIME type of a Jupyter widget's view (the progress bar)
WIDGET = "application/vnd.jupyter.widget-view+json"
BUDGET_LINE = 'BUDGET = float(os.environ.get("AUTOML_NOTEBOOK_BUDGET", 30))'


@pytest.fixture(scope="module")
def kernels(tmp_path_factory) -> Path:
    """A folder holding one kernelspec, ``python3``, that starts this test's interpreter."""
    from ipykernel.kernelspec import write_kernel_spec

    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / "python3")
    argv = json.loads((kernels / "python3" / "kernel.json").read_text())["argv"]
    assert argv[0] == sys.executable
    return kernels


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {
        "classification.ipynb",
        "regression.ipynb",
        "custom_plugin.ipynb",
        "explain.ipynb",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"
    assert BUDGET_LINE in code[0].source, f"{path.name}: the first code cell reads the budget"
    assert "AUTOML_NOTEBOOK_BUDGET" not in "".join(c.source for c in code[1:]), "one budget, read once"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernels, tmp_path, monkeypatch):
    # the kernel inherits this environment: a small budget, and temporary files under tmp_path
    monkeypatch.setenv("AUTOML_NOTEBOOK_BUDGET", BUDGET)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own default: figures inline
    (tmp_path / "tmp").mkdir()
    cwd = tmp_path / "cwd"
    cwd.mkdir()

    nb = nbformat.read(path, as_version=4)
    km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]))
    assert km.kernel_spec.argv[0] == sys.executable
    client = nbclient.NotebookClient(
        nb, km=km, timeout=300, startup_timeout=120, resources={"metadata": {"path": str(cwd)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails

    summaries = [cell for cell in nb.cells if SUMMARY_TAG in cell.metadata.get("tags", [])]
    assert summaries, f"{path.name}: tag the cell that shows the fitted estimator {SUMMARY_TAG!r}"
    for cell in summaries:
        html = [out["data"]["text/html"] for out in cell.outputs if "text/html" in out.get("data", {})]
        assert html and "AutoML" in html[0] and "<table" in html[0], cell.outputs
    assert not [out for cell in nb.cells for out in cell.get("outputs", []) if out.output_type == "error"]
    # the progress bar of a fit is a Jupyter widget here (tqdm.auto), not text on stderr
    outputs = [out for cell in nb.cells for out in cell.get("outputs", [])]
    assert any(WIDGET in out.get("data", {}) for out in outputs), f"{path.name}: no progress widget"
    assert not [out for out in outputs if out.get("name") == "stderr" and "%|" in out.get("text", "")], "a text bar"
    assert list(cwd.iterdir()) == [], "a notebook wrote into its working directory"
