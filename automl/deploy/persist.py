"""Save a fitted ``AutoML`` to one file and load it back, safely by default.

A model file is a zip archive of two members:

- ``automl.json``: the metadata (format, versions, the estimator's parameters
  and fitted attributes, the leaderboard, the training data's schema and
  profile, and the SHA-256 of the model member). Reading it runs no code.
- ``model.skops`` (the default, safe format: skops loads only the types that
  :func:`automl.deploy.trust.trusted_types` lists and runs no code from the
  file) or ``model.joblib`` (a pickle, only for files you made: loading one
  needs ``allow_pickle=True``).

The fitted pipeline is the only object that is serialised; everything else is
JSON. ``trials_`` (the out-of-fold predictions of every trial) and
``best_config_`` are not saved.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.deploy.metadata import check_versions, estimator_from_metadata, metadata_of
from automl.deploy.trust import check_trusted, trusted_types
from automl.exceptions import VersionWarning

logger = logging.getLogger(__name__)

FORMAT = "automl-model"
FORMAT_VERSION = 1
META = "automl.json"
FORMATS = ("skops", "joblib")


def _serialise(pipeline: Any, format: str) -> bytes:
    if format == "skops":
        import skops.io as sio

        return sio.dumps(pipeline)
    import joblib

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    return buffer.getvalue()


def save(model: Any, path: str | os.PathLike[str], *, format: str = "skops") -> Path:
    """Write a fitted ``AutoML`` and its metadata to ``path`` (see the module docstring).

    The file is written next to ``path`` and moved into place, so a failure
    never leaves a half-written model where an older one was.

    Parameters
    ----------
    model : AutoML
        A fitted estimator.
    path : str or path-like
        The file to write.
    format : {"skops", "joblib"}
        The pipeline's serialisation: skops (safe to load from anyone) or joblib
        (a pickle: only for files you made).

    Returns
    -------
    Path
        The file written.
    """
    if format not in FORMATS:
        raise ValueError(f"format={format!r} must be one of {list(FORMATS)}")
    if not hasattr(model, "best_pipeline_"):
        raise ValueError(f"{type(model).__name__} is not fitted yet: call fit before save")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give the model file's name, e.g. {path / 'model.automl'}")
    payload = _serialise(model.best_pipeline_, format)
    member = f"model.{format}"
    meta = metadata_of(model) | {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "serializer": format,
        "model_member": member,
        "sha256": hashlib.sha256(payload).hexdigest(),
    }
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh, zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(META, json.dumps(meta, default=_json_default, allow_nan=True))
            zf.writestr(member, payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("saved %s (%s, %.1f MB)", path, format, path.stat().st_size / 1e6)
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata of a model file, without loading the model.

    Raises
    ------
    ValueError
        When the file is missing, truncated, corrupt or not an automl model file.
    """
    with _open(path) as zf:
        return _metadata(zf, path)


def _open(path: str | os.PathLike[str]) -> zipfile.ZipFile:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such model file")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{path}: not an automl model file, or a truncated or corrupt one ({exc})") from None


def _metadata(zf: zipfile.ZipFile, path: Any) -> dict[str, Any]:
    try:
        meta = json.loads(zf.read(META))
    except KeyError:
        raise ValueError(f"{path}: not an automl model file (it has no {META})") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: the model file is corrupt ({type(exc).__name__}: {exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path}: not an automl model file ({META} does not describe one)")
    if meta.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"{path}: written in format version {meta['format_version']} by automl {meta['versions']['automl']}; "
            f"this automl reads up to version {FORMAT_VERSION}: upgrade automl"
        )
    return meta


def _payload(zf: zipfile.ZipFile, meta: dict[str, Any], path: Any) -> bytes:
    member = meta.get("model_member")
    try:
        payload = zf.read(member)
    except KeyError:
        raise ValueError(f"{path}: the model file is incomplete (no {member})") from None
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: the model file is corrupt ({type(exc).__name__}: {exc})") from None
    if hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        raise ValueError(f"{path}: the model does not match its checksum: the file was changed or is corrupt")
    return payload


def _deserialise(
    payload: bytes, meta: dict[str, Any], path: Any, trusted: list[str], plugins: Any, allow_pickle: bool
) -> Any:
    serializer = meta.get("serializer")
    if serializer == "skops":
        import skops.io as sio

        try:
            needed = sio.get_untrusted_types(data=payload)
        except Exception as exc:  # skops raises many kinds on a damaged archive
            raise ValueError(f"{path}: the model is corrupt ({type(exc).__name__}: {exc})") from None
        allowed = [*trusted_types(plugins or ()), *trusted]
        check_trusted(needed, allowed, str(path))
        try:
            return sio.loads(payload, trusted=needed)
        except Exception as exc:
            raise ValueError(f"{path}: the model could not be loaded ({type(exc).__name__}: {exc})") from None
    if serializer == "joblib":
        if not allow_pickle:
            raise ValueError(
                f"{path}: this model file holds a pickle (saved with format='joblib'), which runs code when "
                "loaded; load it only if you made it: load(path, allow_pickle=True)"
            )
        import joblib

        try:
            return joblib.load(io.BytesIO(payload))
        except Exception as exc:
            raise ValueError(f"{path}: the model could not be unpickled ({type(exc).__name__}: {exc})") from None
    raise ValueError(f"{path}: unknown serializer {serializer!r} in the metadata")


def load(
    path: str | os.PathLike[str],
    *,
    trusted: list[str] | None = None,
    plugins: Any = None,
    allow_pickle: bool = False,
) -> Any:
    """Load a model file written by :meth:`automl.AutoML.save`.

    Parameters
    ----------
    path : str or path-like
        The model file.
    trusted : list of str, optional
        Dotted names of further types to load from a skops file, beyond those of
        the engine and of the installed plugins (only for files you trust).
    plugins : sequence, optional
        Plugin objects (as for ``AutoML(plugins=...)``) whose components the
        model holds, when they are not installed as entry points.
    allow_pickle : bool
        Load a joblib (pickle) file; only for files you made.

    Returns
    -------
    AutoML
        The fitted estimator: ``predict``, ``predict_proba``, ``score``,
        ``leaderboard_``, ``best_pipeline_`` and the other fitted attributes.

    Raises
    ------
    ValueError
        When the file is missing, truncated, corrupt, not an automl model file,
        changed since it was written, or a pickle without ``allow_pickle``.
    UntrustedTypeError
        When the file needs a type that is not trusted; the message names it.
    """
    with _open(path) as zf:
        meta = _metadata(zf, path)
        payload = _payload(zf, meta, path)
    for message in check_versions(meta.get("versions", {})):
        warnings.warn(f"{path}: {message}", VersionWarning, stacklevel=2)
    pipeline = _deserialise(payload, meta, path, list(trusted or ()), plugins, allow_pickle)
    return estimator_from_metadata(meta, pipeline, plugins)
