"""What a model file says about its model, as JSON: versions, parameters, fitted attributes, leaderboard, profile."""

from __future__ import annotations

import datetime
import platform
from importlib import metadata as importlib_metadata
from typing import Any

import numpy as np
import pandas as pd

from automl.estimator import AutoML, AutoMLClassifier, AutoMLRegressor

#: the libraries whose versions a model file records; a different version at load time warns
LIBRARIES = ("automl", "scikit-learn", "lightgbm", "numpy", "pandas", "scipy")
ESTIMATORS = {cls.__name__: cls for cls in (AutoML, AutoMLClassifier, AutoMLRegressor)}
#: parameters that cannot be written as JSON are recorded by name and restored as their default
_PLAIN = (str, int, float, bool, type(None))


def versions() -> dict[str, str]:
    """The installed versions of :data:`LIBRARIES` and of Python."""
    out = {"python": platform.python_version()}
    for lib in LIBRARIES:
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            out[lib] = "not installed"
    return out


def check_versions(saved: dict[str, str]) -> list[str]:
    """One message per library whose installed version differs from the one the model was saved with."""
    here = versions()
    return [
        f"saved with {lib} {saved[lib]}, loaded with {lib} {here[lib]}: predictions may differ or fail"
        for lib in (*LIBRARIES, "python")
        if lib in saved and saved[lib] != here.get(lib)
    ]


def _params(model: AutoML) -> tuple[dict[str, Any], dict[str, str]]:
    plain, dropped = {}, {}
    for name, value in model.get_params(deep=False).items():
        if isinstance(value, _PLAIN) or (isinstance(value, list | tuple) and all(isinstance(v, _PLAIN) for v in value)):
            plain[name] = list(value) if isinstance(value, tuple) else value
        else:
            dropped[name] = repr(value)[:200]
    return plain, dropped


def _array(values: Any) -> dict[str, Any] | None:
    if values is None:
        return None
    values = np.asarray(values)
    return {"values": values.tolist(), "dtype": values.dtype.str if values.dtype != object else "object"}


def _unarray(stored: dict[str, Any] | None) -> np.ndarray | None:
    if stored is None:
        return None
    return np.asarray(stored["values"], dtype=np.dtype(stored["dtype"]))


def _plain(value: Any) -> Any:
    """A cell as JSON: numbers exactly (Python's float repr), missing values as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value if isinstance(value, str | int | float | bool) else str(value)


def _leaderboard(frame: pd.DataFrame) -> dict[str, Any]:
    return {
        "columns": [str(c) for c in frame.columns],
        "dtypes": frame.dtypes.astype(str).to_dict(),
        "data": [[_plain(v) for v in row] for row in frame.itertuples(index=False)],
    }


def leaderboard_of(meta: dict[str, Any]) -> pd.DataFrame:
    """The leaderboard a model file's metadata holds, as ``leaderboard_`` was (no need to load the model)."""
    return _unleaderboard(meta["leaderboard"])


def _unleaderboard(stored: dict[str, Any]) -> pd.DataFrame:
    frame = pd.DataFrame(stored["data"], columns=stored["columns"])
    for column, dtype in stored["dtypes"].items():
        if dtype != "object":
            frame[column] = frame[column].astype(dtype)
    if "params" in frame:  # JSON keys are strings: the ensemble's members are trial numbers
        frame["params"] = [
            {"members": {int(k): w for k, w in p["members"].items()}} if isinstance(p, dict) and "members" in p else p
            for p in frame["params"]
        ]
    return frame


def unwrapped(model: Any) -> Any:
    """The pipeline or ensemble inside a final model's wrappers (``FixedThresholdClassifier``, ``FrozenEstimator``)."""
    while model is not None and hasattr(model, "estimator") and not hasattr(model, "steps"):
        model = model.estimator
    return model


def describe_final(pipeline: Any) -> str:
    """The final model in words: its estimator's class, or an ensemble's members and weights."""
    final = unwrapped(pipeline)
    if hasattr(final, "steps"):
        final = final.steps[-1][1]
    if hasattr(final, "weights") and hasattr(final, "estimators"):
        parts = [f"{name} {w:.3g}" for (name, _), w in zip(final.estimators, final.weights, strict=True)]
        return f"ensemble of {len(parts)}: " + ", ".join(parts)
    return type(final).__name__


def metadata_of(model: AutoML) -> dict[str, Any]:
    """The JSON-able description of a fitted ``AutoML`` that a model file carries."""
    params, dropped = _params(model)
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "estimator": type(model).__name__,
        "params": params,
        "params_not_saved": dropped,
        "task": model.task_,
        "metric": model.metric_,
        "cv": model.cv_,
        "best_score": None if np.isnan(model.best_score_) else float(model.best_score_),
        "threshold": None if model.threshold_ is None else float(model.threshold_),
        "classes": _array(getattr(model, "classes_", None)),
        "n_features_in": int(model.n_features_in_),
        "feature_names_in": _array(getattr(model, "feature_names_in_", None)),
        "final_model": describe_final(model.best_pipeline_),
        "leaderboard": _leaderboard(model.leaderboard_),
        "profile": getattr(model, "data_profile_", None),
    }


def estimator_from_metadata(meta: dict[str, Any], pipeline: Any, plugins: Any = None) -> AutoML:
    """Rebuild the fitted estimator from a model file's metadata and its loaded pipeline."""
    from automl.evaluation.metrics import resolve_metric
    from automl.registry import collect_components, get_plugin_manager

    cls = ESTIMATORS.get(meta.get("estimator"), AutoML)
    known = cls().get_params(deep=False)
    model = cls(**{k: v for k, v in meta.get("params", {}).items() if k in known})
    if plugins is not None:
        model.set_params(plugins=plugins)
    model.task_ = meta["task"]
    model.metric_ = meta["metric"]
    model.cv_ = meta.get("cv")
    model.best_score_ = float("nan") if meta.get("best_score") is None else meta["best_score"]
    model.threshold_ = meta.get("threshold")
    model.n_features_in_ = meta["n_features_in"]
    for attr, key in (("classes_", "classes"), ("feature_names_in_", "feature_names_in")):
        value = _unarray(meta.get(key))
        if value is not None:
            setattr(model, attr, value)
    model.leaderboard_ = leaderboard_of(meta)
    model.data_profile_ = meta.get("profile")
    model.best_pipeline_ = pipeline
    model.model_metadata_ = {k: meta[k] for k in ("created", "versions", "final_model", "serializer") if k in meta}
    try:  # the metric, for score(); a plugin's metric that is not installed here leaves score() unavailable
        components = collect_components(get_plugin_manager(plugins or ()))
        model._metric = resolve_metric(meta["metric"], meta["task"], components.metrics)
    except ValueError:
        pass
    return model
