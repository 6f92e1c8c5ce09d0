"""Serve a fitted ``AutoML`` over REST with FastAPI: ``POST /predict``, ``GET /health``, ``GET /metadata``.

>>> from automl.deploy.serve import create_app, serve
>>> app = create_app("model.automl", log_path="requests.jsonl")  # doctest: +SKIP
>>> serve("model.automl", port=8000, workers=2)  # doctest: +SKIP

``POST /predict`` takes one record (a JSON object column -> value) or a list of
records and answers ``{"predictions": [...], "n_rows": n}`` with, for
classifiers, ``"probabilities": [{label: p, ...}, ...]`` (labels as strings).
Records are checked against the training schema (see
:mod:`automl.deploy.requests`): a missing column or a wrong value is a 422 that
names the column and the record, an empty list 422, a body that is not JSON
400, and a body over ``max_body_bytes`` or with over ``max_rows`` records 413.
Bad input never causes a 500. The API is documented at ``/docs`` and
``/openapi.json``.

With a request log, every successful request appends one JSON line (the format
that :func:`automl.deploy.io.read_table` and :func:`~automl.deploy.io.read_log_predictions`
read) under an exclusive ``flock``, in one write, so several worker processes can share the file.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import logging
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from automl.deploy.metadata import metadata_of
from automl.deploy.persist import load, read_metadata
from automl.deploy.requests import InputError, RequestSchema
from automl.deploy.runtimes import CLASSIFICATION, RUNTIMES, OnnxRuntime, SklearnRuntime, make_runtime

logger = logging.getLogger(__name__)

#: environment variables through which :func:`serve` passes its settings to worker processes
ENV_MODEL = "AUTOML_SERVE_MODEL"
ENV_LOG = "AUTOML_SERVE_LOG"
ENV_MAX_BODY_BYTES = "AUTOML_SERVE_MAX_BODY_BYTES"
ENV_MAX_ROWS = "AUTOML_SERVE_MAX_ROWS"
ENV_RUNTIME = "AUTOML_SERVE_RUNTIME"
MAX_BODY_BYTES = 2_000_000
MAX_ROWS = 10_000


# -- response documentation (OpenAPI) ---------------------------------------------------------------------
class Problem(BaseModel):
    """One thing wrong with a request."""

    record: int | None = None
    column: str | None = None
    message: str


class ErrorResponse(BaseModel):
    """The body of every error response."""

    detail: str
    errors: list[Problem] | None = None


class PredictResponse(BaseModel):
    """The predictions, one per record, in request order."""

    predictions: list[Any]
    probabilities: list[dict[str, float | None]] | None = None
    n_rows: int


class HealthResponse(BaseModel):
    """The server is up and holds a model."""

    status: str
    task: str


_ERRORS = {
    400: {"model": ErrorResponse, "description": "The body is not valid JSON"},
    413: {"model": ErrorResponse, "description": "The body is over max_body_bytes or holds over max_rows records"},
    422: {"model": ErrorResponse, "description": "A record lacks a column or holds a wrong value"},
    500: {"model": ErrorResponse, "description": "The model failed unexpectedly"},
}


# -- the request log --------------------------------------------------------------------------------------
class RequestLog:
    """Append one JSON line per request to a file, safely from several processes.

    Parameters
    ----------
    path : str or path-like
        The log file, created if missing.

    Raises
    ------
    ValueError
        When the file cannot be opened for appending.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        try:
            with open(self.path, "ab"):
                pass
        except OSError as exc:
            raise ValueError(f"{path}: the request log cannot be written ({exc})") from None

    def write(self, entry: dict[str, Any]) -> None:
        """Append ``entry`` as one line, in one write, under an exclusive lock on the file."""
        line = (json.dumps(entry, allow_nan=False, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with open(self.path, "ab", buffering=0) as fh:  # a new open file description per write: threads lock too
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                view = memoryview(line)
                while view:  # one write; a regular file only writes less on a full disk
                    view = view[fh.write(view) :]
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


# -- prediction -------------------------------------------------------------------------------------------
def _native(value: Any) -> Any:
    """A prediction or label as a JSON-native value (numpy scalars converted, NaN as None)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _floats(values: np.ndarray) -> list[Any]:
    """A float array as nested lists of floats, None where not finite."""
    values = np.asarray(values, dtype=float)
    if np.isfinite(values).all():
        return values.tolist()
    return np.where(np.isfinite(values), values, None).tolist()


@dataclass
class Served:
    """A model and what the server knows about it."""

    model: Any
    schema: RequestSchema
    metadata: dict[str, Any]
    log: RequestLog | None
    runtime: SklearnRuntime | OnnxRuntime

    @property
    def task(self) -> str:
        """The model's task: binary, multiclass or regression."""
        return str(self.model.task_)

    @property
    def classes(self) -> list[Any] | None:
        """The class labels as JSON values, None for regression."""
        if self.task not in CLASSIFICATION:
            return None
        return [_native(c) for c in self.model.classes_]

    def predict(self, body: bytes) -> dict[str, Any]:
        """Answer one ``POST /predict`` body (run in a worker thread).

        Raises
        ------
        InputError
            For a body that cannot be used; the model's own complaints about the rows are 422.
        """
        records, single = self.schema.parse(body)
        X = self.schema.frame(self.schema.validate(records, single))
        try:
            raw, proba = self.runtime(X)
        except (ValueError, TypeError) as exc:  # DataError is a ValueError: the rows do not suit the model
            raise InputError(422, f"the model cannot predict for these rows: {exc}") from None
        predictions = _floats(raw) if raw.dtype.kind == "f" else [_native(v) for v in raw.tolist()]
        out: dict[str, Any] = {"predictions": predictions, "n_rows": len(predictions)}
        entry: dict[str, Any] = {"predictions": predictions}
        if proba is not None:
            rows = _floats(proba)
            labels = [str(c) for c in self.classes]
            out["probabilities"] = [dict(zip(labels, row, strict=True)) for row in rows]
            entry["probabilities"] = rows
        if self.log is not None:
            self._log(records, entry)
        return out

    def _log(self, records: list[Any], entry: dict[str, Any]) -> None:
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        try:
            self.log.write({"time": now, "rows": self.schema.logged_rows(records), **entry})
        except Exception:  # the client still gets its predictions
            logger.exception("request not logged to %s", self.log.path)


def _load(model: Any) -> tuple[Any, dict[str, Any] | None]:
    """A fitted model, and its file's metadata when it was given as a path."""
    if isinstance(model, str | os.PathLike):
        meta = read_metadata(model)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = load(model)
        for w in caught:
            logger.warning("%s", w.message)
        return loaded, meta
    if not hasattr(model, "best_pipeline_"):
        raise ValueError(f"{type(model).__name__} is not fitted yet: call fit before serving it")
    return model, None


def _metadata(model: Any, meta: dict[str, Any] | None, schema: RequestSchema, limits: dict[str, int]) -> dict[str, Any]:
    """The body of ``GET /metadata``."""
    if meta is None:  # a model in memory: what a file of it would say, and when it was saved if it was loaded
        meta = metadata_of(model) | {"created": None} | getattr(model, "model_metadata_", {})
    best = meta.get("best_score")
    classes = getattr(model, "classes_", None) if model.task_ in CLASSIFICATION else None
    return {
        "task": model.task_,
        "metric": model.metric_,
        "classes": None if classes is None else [_native(c) for c in classes],
        "best_score": None if best is None or not np.isfinite(best) else float(best),
        "final_model": meta.get("final_model"),
        "created": meta.get("created"),
        "versions": meta.get("versions", {}),
        "estimator": meta.get("estimator", type(model).__name__),
        "schema": [c.describe() for c in schema.columns],
        "limits": limits,
    }


# -- the app ----------------------------------------------------------------------------------------------
def create_app(
    model: Any,
    *,
    log_path: str | os.PathLike[str] | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    runtime: str = "sklearn",
) -> FastAPI:
    """A FastAPI app that serves a fitted ``AutoML`` (see the module docstring for the endpoints).

    Parameters
    ----------
    model : AutoML or str or path-like
        A fitted estimator, or a model file (loaded with :func:`automl.deploy.persist.load`).
    log_path : str or path-like, optional
        Append every successful request to this JSON-lines file.
    max_body_bytes : int
        Largest request body accepted (larger: 413).
    max_rows : int
        Most records accepted in one request (more: 413).
    runtime : {"sklearn", "onnx"}
        What predicts: the model itself (exact), or ONNX Runtime on the model converted
        and parity-checked at start-up (fast; see :mod:`automl.deploy.runtimes`).

    Returns
    -------
    FastAPI
        The app; run it with uvicorn, or use :func:`serve`.

    Raises
    ------
    ValueError
        When the model file cannot be loaded, the model is not fitted or records no
        training schema, the request log cannot be written, or the ONNX runtime cannot
        convert the model or does not reproduce it.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime={runtime!r} is not one of {', '.join(RUNTIMES)}")
    if max_body_bytes < 1 or max_rows < 1:
        raise ValueError(f"max_body_bytes={max_body_bytes} and max_rows={max_rows} must be positive")
    fitted, meta = _load(model)
    schema = RequestSchema.from_model(fitted, max_rows)
    limits = {"max_body_bytes": int(max_body_bytes), "max_rows": int(max_rows)}
    predictor = make_runtime(fitted, runtime)
    metadata = _metadata(fitted, meta, schema, limits) | {"runtime": predictor.describe()}
    served = Served(fitted, schema, metadata, RequestLog(log_path) if log_path else None, predictor)
    app = FastAPI(
        title="automl model",
        version=str(served.metadata["versions"].get("automl", "")),
        description=f"Predictions of a fitted automl model: {served.task}, {served.metadata['final_model']}.",
    )
    _add_routes(app, served, max_body_bytes)
    app.add_exception_handler(Exception, _unexpected)
    app.openapi = _openapi(app, schema)
    app.state.served = served
    logger.info("serving a %s model with %d columns on %s", served.task, len(schema.columns), predictor.name)
    return app


def _add_routes(app: FastAPI, served: Served, max_body_bytes: int) -> None:
    @app.post("/predict", response_model=None, responses={200: {"model": PredictResponse}, **_ERRORS})
    async def predict(request: Request) -> JSONResponse:
        """Predict for one record (a JSON object column -> value) or a list of records."""
        try:
            body = await _read_body(request, max_body_bytes)
            return JSONResponse(await run_in_threadpool(served.predict, body))
        except InputError as exc:
            return JSONResponse(exc.content(), status_code=exc.status)
        except ClientDisconnect:
            return JSONResponse({"detail": "the client disconnected"}, status_code=400)
        except Exception as exc:
            logger.exception("prediction failed")
            return JSONResponse({"detail": f"prediction failed: {type(exc).__name__}: {exc}"}, status_code=500)

    @app.get("/health", response_model=HealthResponse)
    async def health() -> dict[str, Any]:
        """The server is up: its model's task."""
        return {"status": "ok", "task": served.task}

    @app.get("/metadata")
    async def metadata() -> dict[str, Any]:
        """The model: its input schema, task, metric, classes, score, final model, versions and creation time."""
        return served.metadata


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes, whatever the headers say."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise InputError(400, f"invalid Content-Length header {declared[:40]!r}") from None
        if size > limit:
            raise InputError(413, f"the body is {size} bytes; at most {limit} are accepted: send fewer rows at once")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(413, f"the body is over {limit} bytes, the most accepted: send fewer rows at once")
        chunks.append(chunk)
    return b"".join(chunks)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.error("unexpected error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
    return JSONResponse({"detail": f"internal error: {type(exc).__name__}"}, status_code=500)


def _openapi(app: FastAPI, schema: RequestSchema) -> Callable[[], dict[str, Any]]:
    """The app's OpenAPI document, with the request body of ``/predict`` described by the training schema."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            doc.setdefault("components", {}).setdefault("schemas", {})["Record"] = schema.record_json_schema()
            doc["paths"]["/predict"]["post"]["requestBody"] = {
                "required": True,
                "description": "One record, or a list of records (at most max_rows).",
                "content": {"application/json": {"schema": schema.body_json_schema("#/components/schemas/Record")}},
            }
            app.openapi_schema = doc
        return app.openapi_schema

    return openapi


# -- running a server -------------------------------------------------------------------------------------
def app_from_env() -> FastAPI:
    """The app of the model file named by ``AUTOML_SERVE_MODEL`` (the factory worker processes call).

    ``AUTOML_SERVE_LOG``, ``AUTOML_SERVE_MAX_BODY_BYTES``, ``AUTOML_SERVE_MAX_ROWS`` and
    ``AUTOML_SERVE_RUNTIME`` set the request log, the limits and the runtime; :func:`serve` sets them all.
    """
    path = os.environ.get(ENV_MODEL)
    if not path:
        raise RuntimeError(f"{ENV_MODEL} is not set: start the server with automl.deploy.serve.serve(model_path)")
    return create_app(
        path,
        log_path=os.environ.get(ENV_LOG) or None,
        max_body_bytes=int(os.environ.get(ENV_MAX_BODY_BYTES, MAX_BODY_BYTES)),
        max_rows=int(os.environ.get(ENV_MAX_ROWS, MAX_ROWS)),
        runtime=os.environ.get(ENV_RUNTIME) or "sklearn",
    )


def serve(
    model_path: str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    log_path: str | os.PathLike[str] | None = None,
    log_level: str = "info",
    max_body_bytes: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS,
    runtime: str = "sklearn",
) -> None:
    """Serve a model file over HTTP with uvicorn until interrupted.

    Parameters
    ----------
    model_path : str or path-like
        The model file (written by :meth:`automl.AutoML.save`).
    host, port : str, int
        Where to listen.
    workers : int
        Worker processes; each loads the model (through :func:`app_from_env`).
    log_path : str or path-like, optional
        The request log, shared by the workers.
    log_level : str
        uvicorn's log level: ``"critical"``, ``"error"``, ``"warning"``, ``"info"``, ``"debug"``.
    max_body_bytes, max_rows : int
        The request limits, as in :func:`create_app`.
    runtime : {"sklearn", "onnx"}
        What predicts, as in :func:`create_app`.

    Raises
    ------
    ValueError
        Before the server starts, when the model file cannot be served (missing, corrupt,
        untrusted, no schema) or the request log cannot be written.
    """
    import uvicorn

    if workers < 1:
        raise ValueError(f"workers={workers} must be at least 1")
    path = str(Path(model_path).resolve())
    log = str(Path(log_path).resolve()) if log_path else None
    limits = {"max_body_bytes": max_body_bytes, "max_rows": max_rows}
    app = create_app(path, log_path=log, runtime=runtime, **limits)  # fails here, not in uvicorn
    options = {"host": host, "port": port, "log_level": log_level}
    if workers == 1:
        uvicorn.run(app, **options)
        return
    del app
    env = {
        ENV_MODEL: path,
        ENV_LOG: log or "",
        ENV_MAX_BODY_BYTES: str(max_body_bytes),
        ENV_MAX_ROWS: str(max_rows),
        ENV_RUNTIME: runtime,
    }
    before = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        uvicorn.run("automl.deploy.serve:app_from_env", factory=True, workers=workers, **options)
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


__all__ = ["RequestLog", "app_from_env", "create_app", "serve"]
