"""Fit-time checks of the user's data: X and y, the task, and one prepared problem for the search.

``Schema`` and ``ColumnInfo`` are importable here because models pickled before
``automl/`` had subpackages name them ``automl.data.Schema``; they live in
:mod:`automl.pipeline.schema` (see :mod:`automl._compat`).
"""

from __future__ import annotations

from automl.pipeline.schema import ColumnInfo, Schema

__all__ = ["ColumnInfo", "Schema"]
