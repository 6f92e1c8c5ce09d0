"""Fit-time checks of the user's data: X and y, the task, and one prepared problem for the search.

``Schema`` and ``ColumnInfo`` are importable here because models pickled before
version 0.2 name them ``automl.data.Schema``; they live in :mod:`automl.pipeline.schema`.
"""

from __future__ import annotations

from automl.pipeline.schema import ColumnInfo, Schema

__all__ = ["ColumnInfo", "Schema"]
