"""The JSON-lines records the benchmarks print and append, one per fit."""

# ruff: noqa: T201  (benchmarks print their results)

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any


def emit(record: dict[str, Any], records: list[dict[str, Any]], out: Path | None) -> None:
    """Print ``record`` as a JSON line, keep it in ``records``, and append it to the file ``out`` (if any)."""
    print(json.dumps(record), flush=True)
    records.append(record)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("a") as fh:
            fh.write(json.dumps(record) + "\n")


def run_json(cmd: list[str], record: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
    """Run ``cmd`` (a fit in a fresh process that prints its JSON record last) and return ``record`` updated by it.

    A process that fails, prints nothing or outlives ``timeout`` gives ``record``
    with an ``error``: the last line of its stderr, or why it was stopped.
    """
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**record, "error": f"no result after {timeout:.0f}s (killed)"}
    if proc.returncode != 0 or not proc.stdout.strip():
        err = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        return {**record, "error": err}
    return {**record, **json.loads(proc.stdout.strip().splitlines()[-1])}
