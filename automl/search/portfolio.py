"""The portfolio: configurations that were strong across many tables, tried first.

``automl/builtins/portfolio.json`` is built offline by
``benchmarks/portfolio/build_portfolio.py`` from tables that are not used for
evaluation; each entry is a dict of Optuna parameters in the engine's naming.
"""

from __future__ import annotations

import functools
import json
import logging
from importlib import resources
from typing import Any

logger = logging.getLogger(__name__)


@functools.cache
def load_portfolio() -> tuple[dict[str, Any], ...]:
    """The committed portfolio, in order; empty if the file is missing or unreadable."""
    try:
        text = resources.files("automl.builtins").joinpath("portfolio.json").read_text()
        data = json.loads(text)
        return tuple(dict(entry["params"]) for entry in data.get("configs", []))
    except (FileNotFoundError, ModuleNotFoundError):
        return ()
    except (ValueError, KeyError, TypeError) as exc:
        logger.warning("the portfolio file is unreadable and is ignored: %s", exc)
        return ()


__all__ = ["load_portfolio"]
