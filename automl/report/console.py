"""What a fit says while it runs: the log's verbosity and the warnings it raises, kept for the report."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator

logger = logging.getLogger("automl")


@contextlib.contextmanager
def verbosity(verbose: int) -> Iterator[None]:
    """Set the library's log level for one fit; add a stderr handler if nobody listens."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    old = logger.level
    logger.setLevel(level)
    handler = None
    if verbose > 0 and not logging.getLogger().hasHandlers():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[automl] %(message)s"))
        logger.addHandler(handler)
    optuna_logger = logging.getLogger("optuna")
    optuna_old = optuna_logger.level
    optuna_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(old)
        optuna_logger.setLevel(optuna_old)
        if handler is not None:
            logger.removeHandler(handler)


@contextlib.contextmanager
def recorded_warnings() -> Iterator[list[str]]:
    """Record the warnings raised inside as ``"Category: message"`` lines, and raise them again on the way out.

    The caller still sees every warning (as its filters decide); the list keeps
    them for the fit's report, each distinct warning once.
    """
    kept: list[str] = []
    records: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield kept
            finally:
                records = list(caught)
    finally:
        for w in records:
            line = f"{w.category.__name__}: {w.message}"
            if line not in kept:
                kept.append(line)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


__all__ = ["recorded_warnings", "verbosity"]
