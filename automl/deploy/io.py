"""Reading the tables that the command line and drift checks take: CSV, Parquet, JSON lines and request logs.

A request log (``automl serve --log FILE``) holds one JSON object per request:
``{"time": ISO-8601, "rows": [record, ...], "predictions": [...]}`` with, for
classifiers, ``"probabilities": [[p per class], ...]``. :func:`read_table`
reads its rows as a table; :func:`read_log_predictions` its predictions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

#: file name suffixes read as each format
CSV = (".csv", ".tsv", ".txt", ".csv.gz")
PARQUET = (".parquet", ".pq")
JSONL = (".jsonl", ".ndjson", ".log")


def _kind(path: Path) -> str:
    name = path.name.lower()
    for kind, suffixes in (("csv", CSV), ("parquet", PARQUET), ("jsonl", JSONL)):
        if name.endswith(suffixes):
            return kind
    raise ValueError(
        f"{path}: unknown file type {path.suffix or '(no suffix)'!r}; use CSV (.csv), Parquet (.parquet) "
        "or JSON lines (.jsonl, a request log of automl serve)"
    )


def _log_records(path: Path) -> list[dict[str, Any]]:
    records = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {number}: not valid JSON ({exc.msg})") from None
            if not isinstance(records[-1], dict):
                raise ValueError(f"{path}, line {number}: expected a JSON object")
    return records


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV, Parquet or JSON-lines file (a request log's rows) as a DataFrame.

    Raises
    ------
    ValueError
        Naming the file: when it does not exist, has an unknown suffix, or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    kind = _kind(path)
    try:
        if kind == "csv":
            return pd.read_csv(path, sep="\t" if path.name.lower().endswith(".tsv") else ",")
        if kind == "parquet":
            return pd.read_parquet(path)
    except ImportError as exc:
        raise ValueError(f"{path}: reading Parquet needs pyarrow: pip install 'automl[deploy]' ({exc})") from None
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{path}: cannot be read as {kind} ({type(exc).__name__}: {exc})") from None
    records = _log_records(path)
    if records and all("rows" in r for r in records):  # a request log
        rows = [row for r in records for row in r["rows"]]
        return pd.DataFrame.from_records(rows)
    return pd.DataFrame.from_records(records)


def read_log_predictions(path: str | os.PathLike[str]) -> list[Any]:
    """The predictions a request log recorded, in request order (empty for other files)."""
    path = Path(path)
    if _kind(path) != "jsonl":
        return []
    return [p for r in _log_records(path) for p in r.get("predictions", [])]


def write_table(frame: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a DataFrame as CSV or Parquet, by the file's suffix."""
    path = Path(path)
    kind = _kind(path)
    if kind == "parquet":
        frame.to_parquet(path, index=False)
    elif kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_json(path, orient="records", lines=True)
