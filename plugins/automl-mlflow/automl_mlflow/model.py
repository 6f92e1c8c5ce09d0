"""The final model as an MLflow model (scikit-learn flavour, loadable with ``mlflow.pyfunc``).

Saved in MLflow's safe ``skops`` format with the types automl's own safe format
trusts (the engine's and those the plugins declare), with pinned pip
requirements read from the modules the pipeline holds (MLflow would otherwise
infer them by loading the model in a subprocess: seconds), and with an input
signature inferred from the training columns the estimator exposes.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import tempfile
from typing import Any

import numpy as np

from automl_mlflow.records import dropped_columns, example_frame

logger = logging.getLogger(__name__)

#: distributions a saved automl pipeline always needs
BASE_MODULES = ("automl", "sklearn", "skops", "numpy", "pandas")

#: where the model goes among the run's artifacts
ARTIFACT_PATH = "model"


def signature_of(automl: Any) -> Any:
    """The model signature: the training columns and their types in, the predictions out.

    Columns the pipeline drops when cleaning are optional. None when the estimator was
    fitted on an array.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator.

    Returns
    -------
    mlflow.models.ModelSignature or None
    """
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    frame = example_frame(automl)
    if frame is None:
        return None
    if getattr(automl, "task_", "regression") == "regression":
        output = np.zeros(2, dtype=float)
    else:
        output = np.asarray(automl.classes_)[:1].repeat(2)
    signature = infer_signature(frame, output)
    dropped = dropped_columns(automl)
    if dropped:
        inputs = [
            ColSpec(spec.type, spec.name, required=spec.name not in dropped) for spec in signature.inputs.inputs
        ]
        signature = ModelSignature(inputs=Schema(inputs), outputs=signature.outputs)
    return signature


def requirements_of(types: list[str]) -> list[str]:
    """Pinned pip requirements for the top-level modules of ``types`` and :data:`BASE_MODULES`."""
    by_module = importlib.metadata.packages_distributions()
    modules = {name.split(".")[0] for name in types} | set(BASE_MODULES)
    requirements = set()
    for module in sorted(modules):
        for dist in by_module.get(module, ()):
            try:
                requirements.add(f"{dist}=={importlib.metadata.version(dist)}")
            except importlib.metadata.PackageNotFoundError:
                continue
    return sorted(requirements)


def save_pipeline(automl: Any, path: str) -> None:
    """Save ``automl.best_pipeline_`` as an MLflow model in the new directory ``path``.

    Parameters
    ----------
    automl : AutoML
        The fitted estimator.
    path : str
        A directory that does not exist yet.
    """
    import mlflow.sklearn
    import skops.io

    from automl.deploy.trust import trusted_types

    pipeline = automl.best_pipeline_
    needed = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    trusted = set(trusted_types(automl.plugins or ()))
    safe = set(needed) <= trusted
    if not safe:
        logger.info("automl-mlflow: types no plugin declares %s: the model is saved with cloudpickle", needed)
    mlflow.sklearn.save_model(
        pipeline,
        path,
        serialization_format="skops" if safe else "cloudpickle",
        skops_trusted_types=sorted(needed) if safe else None,
        signature=signature_of(automl),
        pip_requirements=requirements_of(needed),
        metadata={"automl_task": str(getattr(automl, "task_", "")), "automl_metric": str(automl.metric_)},
    )


def log_pipeline(client: Any, run_id: str, automl: Any) -> str:
    """Save the final model in a temporary directory and log it as the run's ``model`` artifact.

    Returns
    -------
    str
        The model's URI, ``runs:/<run_id>/model``.
    """
    with tempfile.TemporaryDirectory(prefix="automl-mlflow-") as tmp:
        path = os.path.join(tmp, ARTIFACT_PATH)
        save_pipeline(automl, path)
        client.log_artifacts(run_id, path, ARTIFACT_PATH)
    return f"runs:/{run_id}/{ARTIFACT_PATH}"


__all__ = ["ARTIFACT_PATH", "log_pipeline", "requirements_of", "save_pipeline", "signature_of"]
