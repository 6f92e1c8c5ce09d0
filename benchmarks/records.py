"""The JSON-lines records the benchmarks print and append, one per fit."""

# ruff: noqa: T201  (benchmarks print their results)

from __future__ import annotations

import json
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
