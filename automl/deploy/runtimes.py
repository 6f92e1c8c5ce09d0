"""How a served model predicts: with its scikit-learn pipeline (exact) or with ONNX Runtime (fast).

A runtime turns the request's table into the predictions and, for a
classifier, the probabilities, in one call:

- ``"sklearn"`` calls ``predict`` and ``predict_proba`` of the fitted
  ``AutoML``: the answers are exactly those of the model in Python.
- ``"onnx"`` converts the final model to ONNX when the server starts, checks
  it against the model on rows drawn from the training profile (the parity
  check of :func:`automl.deploy.onnx.checked_model`, which refuses to serve a
  graph that disagrees), and answers with one ONNX Runtime call per request:
  probabilities within the parity tolerance (1e-3), labels identical except on
  float32 ties. It needs the ``onnx`` extra and refuses models it cannot
  convert (datetime columns, components without a converter) by name.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from automl.workers.memory import give_back_memory

logger = logging.getLogger(__name__)

RUNTIMES = ("sklearn", "onnx")
CLASSIFICATION = ("binary", "multiclass")
#: rows drawn from the training profile for the model's first call, made before the first request
WARM_UP_ROWS = 32


class SklearnRuntime:
    """Predict with the fitted ``AutoML`` itself.

    Parameters
    ----------
    model : AutoML
        A fitted estimator.
    """

    name = "sklearn"

    def __init__(self, model: Any) -> None:
        self.model = model
        self.classify = model.task_ in CLASSIFICATION

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The predictions of ``X``'s rows, and their class probabilities (None for a regressor)."""
        raw = np.asarray(self.model.predict(X))
        return raw, (self.model.predict_proba(X) if self.classify else None)

    def describe(self) -> dict[str, Any]:
        """The runtime for ``GET /metadata``."""
        return {"name": self.name}

    def warm_up(self) -> float | None:
        """Answer rows drawn from the training profile once, so that the first request is as fast as the others.

        The first call of ``predict`` and ``predict_proba`` runs each pipeline
        both ways and compares (see :class:`~automl.pipeline.lean_predict.LeanPipeline`),
        and builds what the lean form walks (an XGBoost model of 700 trees: most
        of a second). Returns the seconds it took; None when the model has no
        training profile or the rows fail (logged: requests are answered all
        the same, the first one slower).
        """
        profile = getattr(self.model, "data_profile_", None)
        if not profile:
            return None
        from automl.data.profile import sample_rows

        start = time.perf_counter()
        try:
            self(sample_rows(profile, WARM_UP_ROWS, seed=0))
        except Exception:  # noqa: BLE001  (a failed warm-up leaves the first call to the first request)
            logger.warning("the warm-up on rows drawn from the training profile failed", exc_info=True)
            return None
        finally:
            give_back_memory()  # building the lean forms (an XGBoost model read from JSON) frees more than it keeps
        return time.perf_counter() - start


class OnnxRuntime:
    """Predict with ONNX Runtime, on the model converted and checked when the runtime is made.

    Parameters
    ----------
    model : AutoML
        A fitted estimator with a training profile (models fitted by this version have one).
    atol : float
        The parity tolerance (see :func:`automl.deploy.onnx.export`).

    Raises
    ------
    ValueError
        When the model cannot be converted (the component or column is named), ONNX
        Runtime disagrees with it, or the ``onnx`` extra is not installed.
    """

    name = "onnx"

    def __init__(self, model: Any, *, atol: float = 1e-3) -> None:
        from automl.deploy.onnx import checked_model

        try:  # the converters and ONNX Runtime are imported when first used
            self.session, self.report, payload = checked_model(model, atol=atol)
        except ImportError as exc:
            raise ValueError(
                f"the onnx runtime needs skl2onnx and onnxruntime: pip install 'automl[onnx]' ({exc})"
            ) from None
        self.classify = self.session.task in CLASSIFICATION
        logger.info(
            "serving with ONNX Runtime (%.1f MB graph); parity on %d rows: max difference %.3g",
            len(payload) / 1e6,
            self.report.rows,
            self.report.max_abs_diff,
        )

    def __call__(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """The predictions of ``X``'s rows, and their class probabilities (None for a regressor)."""
        out = self.session.run(X)
        if not self.classify:
            return out["variable"].reshape(-1).astype(float), None
        return self.session.decode(out["label"]), out["probabilities"].astype(float)

    def describe(self) -> dict[str, Any]:
        """The runtime for ``GET /metadata``, with its parity check."""
        return {"name": self.name, "parity": asdict(self.report)}


def make_runtime(model: Any, runtime: str) -> SklearnRuntime | OnnxRuntime:
    """The runtime named ``runtime`` (one of :data:`RUNTIMES`) for a fitted model, its first call made.

    Raises
    ------
    ValueError
        For an unknown name, or an ONNX runtime that cannot be built.
    """
    if runtime == "sklearn":
        served = SklearnRuntime(model)
        served.warm_up()
        return served
    if runtime == "onnx":
        return OnnxRuntime(model)
    raise ValueError(f"runtime={runtime!r} is not one of {', '.join(RUNTIMES)}")


__all__ = ["CLASSIFICATION", "RUNTIMES", "OnnxRuntime", "SklearnRuntime", "make_runtime"]
