"""The final model as an MLflow model (scikit-learn flavour, loadable with ``mlflow.pyfunc``).

Saved in MLflow's safe ``skops`` format with the types automl's own safe format
trusts (the engine's and those the plugins declare), with pinned pip
requirements read from the modules the pipeline holds (MLflow would otherwise
infer them by loading the model in a subprocess: seconds), and with an input
signature inferred from the training columns the estimator exposes.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
import tempfile
from typing import Any

import numpy as np

from automl_mlflow.records import example_frame

logger = logging.getLogger(__name__)

#: distributions a saved automl pipeline always needs
BASE_MODULES = ("automl", "sklearn", "skops", "numpy", "pandas")

#: where the model goes among the run's artifacts
ARTIFACT_PATH = "model"


def model_payload(automl: Any) -> dict[str, Any]:
    """What the writer process needs to log the final model, read from the fitted estimator's attributes.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator.

    Returns
    -------
    dict
        ``pipeline`` (``best_pipeline_``), ``example`` (a two-row frame of the training columns'
        types, or None), ``task``, ``classes``,
        ``metric`` and ``trusted`` (the types automl's safe format loads here).
    """
    from automl.deploy.trust import trusted_types

    return {
        "pipeline": automl.best_pipeline_,
        "example": example_frame(automl),
        "task": str(getattr(automl, "task_", "")),
        "classes": np.asarray(automl.classes_) if hasattr(automl, "classes_") else None,
        "metric": str(getattr(automl, "metric_", "")),
        "trusted": sorted(trusted_types(automl.plugins or ())),
    }


def signature_of(model: dict[str, Any]) -> Any:
    """The model signature: the training columns and their types in, the predictions out.

    Every training column is required, those the pipeline drops when cleaning too (the
    pipeline asks for them); extra columns are ignored.

    Parameters
    ----------
    model : dict
        See :func:`model_payload`.

    Returns
    -------
    mlflow.models.ModelSignature or None
        None when the estimator was fitted on an array (no column names).
    """
    from mlflow.models import infer_signature

    frame = model["example"]
    if frame is None:
        return None
    classes = model["classes"]
    output = np.zeros(2, dtype=float) if classes is None else np.asarray(classes)[:1].repeat(2)
    return infer_signature(frame, output)


@functools.cache
def distributions() -> dict[str, list[str]]:
    """Top-level module -> the installed distributions that provide it (read once: half a second)."""
    return dict(importlib.metadata.packages_distributions())


def requirements_of(types: list[str]) -> list[str]:
    """Pinned pip requirements for the top-level modules of ``types`` and :data:`BASE_MODULES`."""
    by_module = distributions()
    modules = {name.split(".")[0] for name in types} | set(BASE_MODULES)
    requirements = set()
    for module in sorted(modules):
        for dist in by_module.get(module, ()):
            try:
                requirements.add(f"{dist}=={importlib.metadata.version(dist)}")
            except importlib.metadata.PackageNotFoundError:
                continue
    return sorted(requirements)


def save_pipeline(model: dict[str, Any], path: str) -> None:
    """Save the final pipeline as an MLflow model in the new directory ``path``.

    In the ``skops`` format when automl's safe format trusts every type the pipeline holds,
    else with cloudpickle.

    Parameters
    ----------
    model : dict
        See :func:`model_payload`.
    path : str
        A directory that does not exist yet.
    """
    import mlflow.sklearn
    import skops.io

    pipeline = model["pipeline"]
    needed = sorted(skops.io.get_untrusted_types(data=skops.io.dumps(pipeline)))
    safe = set(needed) <= set(model["trusted"])
    if not safe:
        logger.info("automl-mlflow: types no plugin declares %s: the model is saved with cloudpickle", needed)
    mlflow.sklearn.save_model(
        pipeline,
        path,
        serialization_format="skops" if safe else "cloudpickle",
        skops_trusted_types=needed if safe else None,
        signature=signature_of(model),
        pip_requirements=requirements_of(needed),
        metadata={"automl_task": model["task"], "automl_metric": model["metric"]},
    )


def log_pipeline(client: Any, run_id: str, model: dict[str, Any]) -> str:
    """Save the final model in a temporary directory and log it as the run's ``model`` artifact.

    Parameters
    ----------
    client : mlflow.tracking.MlflowClient
        The client of the run's store.
    run_id : str
        The parent run.
    model : dict
        See :func:`model_payload`.

    Returns
    -------
    str
        The model's URI, ``runs:/<run_id>/model``.
    """
    with tempfile.TemporaryDirectory(prefix="automl-mlflow-") as tmp:
        path = os.path.join(tmp, ARTIFACT_PATH)
        save_pipeline(model, path)
        client.log_artifacts(run_id, path, ARTIFACT_PATH)
    return f"runs:/{run_id}/{ARTIFACT_PATH}"


__all__ = ["ARTIFACT_PATH", "log_pipeline", "model_payload", "requirements_of", "save_pipeline", "signature_of"]
