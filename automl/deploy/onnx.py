"""Export a fitted ``AutoML``'s final model to one ONNX file, checked against the model before it is written.

The graph holds the whole ``best_pipeline_``: the cleaning, the preprocessing,
the model or every member of an ensemble, and the decision threshold.

- **Inputs**: one per column the model reads, named by the original column
  name, of shape ``[None, 1]``: ``float`` for numeric, boolean and duration
  (seconds) columns, NaN where missing; ``string`` for categorical columns,
  ``""`` where missing (so an empty string is a missing value, which it is
  not for ``predict``). The columns the model ignores (constant, empty,
  identifiers) are not inputs; datetime columns are not supported (the
  export names them). :func:`onnx_inputs` turns the table you would give
  ``predict`` into that feed, converting each column as the model's cleaning
  step does.
- **Outputs**: for a classifier ``label`` (``[N]``: the class labels as
  strings, or int64 for integer and boolean classes) and ``probabilities``
  (float ``[N, n_classes]``, columns in ``classes_`` order); for a regressor
  ``variable`` (float ``[N, 1]``).
- **Metadata** (``metadata_props``): ``automl.task``, ``automl.classes`` and
  ``automl.inputs`` (JSON), read back by :class:`OnnxModel`.

**Parity.** :func:`export` runs the graph with ONNX Runtime on up to
:data:`PARITY_ROWS` rows of ``X_sample`` and compares it with
``predict_proba`` and ``predict`` (or ``predict``): probabilities within
``atol``, labels identical; a regressor's predictions within ``atol`` times
the standard deviation of its predictions on those rows (the graph computes
in float32, whose error grows with the values' magnitude, so an absolute
bound would not fit every target's units). A label may differ only on a row
whose probabilities are a tie to float32 precision (within
:data:`TIE_TOLERANCE` of each other or of the threshold); those are counted in
:attr:`ParityReport.near_ties`. The file is written only when parity holds;
otherwise :class:`OnnxParityError` says by how much it does not.

Converters: skl2onnx for scikit-learn's classes (with
:mod:`automl.deploy.onnx_sklearn` where skl2onnx 1.20 falls short),
:mod:`automl.deploy.onnx_converters` for the library's own, and the
``onnx_converters`` field of the plugins' specs for theirs (the built-in
LightGBM registers onnxmltools' converter that way). A component without
one stops the export with :class:`OnnxConversionError` naming its class and
pipeline step.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from automl.exceptions import DataError
from automl.pipeline.cleaning import numeric_values
from automl.pipeline.schema import ColumnInfo, as_frame

logger = logging.getLogger(__name__)

#: rows of ``X_sample`` the parity check runs on
PARITY_ROWS = 1000
#: probabilities this close are a tie the float32 graph may break either way
TIE_TOLERANCE = 1e-5
#: the names of the graph's outputs
OUTPUTS = ("label", "probabilities", "variable")
_META = "automl."


class OnnxExportError(ValueError):
    """The ONNX export of a model failed."""


class OnnxConversionError(OnnxExportError):
    """A fitted model, or one of its components, cannot be converted to ONNX."""


class OnnxParityError(OnnxExportError):
    """The ONNX graph's predictions differ from the model's; ``report`` says by how much."""

    def __init__(self, message: str, report: ParityReport) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class ParityReport:
    """How ONNX Runtime's predictions compare with the model's on ``X_sample``.

    Attributes
    ----------
    rows : int
        Rows compared.
    max_abs_diff : float
        Largest absolute difference of a probability (classification) or a
        prediction (regression).
    tolerance : float
        The bound ``max_abs_diff`` had to keep: ``atol``, or for regression
        ``atol`` times the standard deviation of the predictions.
    label_mismatches : int
        Rows whose predicted label differs (0 for regression), near ties excluded.
    near_ties : int
        Rows whose label differs on a tie of probabilities (see the module docstring).
    passed : bool
        Whether the differences are within ``tolerance`` and no label differs.
    """

    rows: int
    max_abs_diff: float
    tolerance: float
    label_mismatches: int
    near_ties: int
    passed: bool

    def __str__(self) -> str:
        ties = f" ({self.near_ties} on float32 ties)" if self.near_ties else ""
        return (
            f"ONNX parity on {self.rows} rows: largest difference {self.max_abs_diff:.3g} "
            f"(allowed {self.tolerance:.3g}), {self.label_mismatches} labels differ{ties}: "
            f"{'passed' if self.passed else 'FAILED'}"
        )


# -- class labels and the graph's inputs ---------------------------------------------------


def graph_labels(classes: Any) -> list[Any]:
    """The class labels as the graph outputs them: int64 for integers and booleans, strings for strings.

    This is skl2onnx's rule for its classifiers, so that a single pipeline and
    an ensemble label alike.

    Raises
    ------
    OnnxConversionError
        For labels that are neither all strings nor all integral numbers.
    """
    values = list(np.asarray(classes).tolist())
    if all(isinstance(v, str) for v in values):
        return values
    if all(isinstance(v, (int, float)) for v in values):
        ints = [int(v) for v in values]
        if len(set(ints)) == len(ints) and all(i == v for i, v in zip(ints, values, strict=True)):
            return ints
    raise OnnxConversionError(f"class labels {values[:10]!r} are neither all strings nor all integers")


def _input_spec(source: Any) -> list[dict[str, str]]:
    """The graph's inputs (name, kind, source) of a fitted AutoML, an :class:`OnnxModel` or its metadata."""
    if isinstance(source, OnnxModel):
        return source.inputs
    if isinstance(source, Mapping):
        raw = source.get(_META + "inputs")
        if raw is None:
            raise ValueError("the metadata has no 'automl.inputs': it is not from automl.deploy.onnx.export")
        return json.loads(raw) if isinstance(raw, str) else list(raw)
    pipeline = getattr(source, "best_pipeline_", None)
    if pipeline is None:
        raise ValueError(f"{type(source).__name__} is neither a fitted AutoML nor ONNX model metadata")
    from automl.deploy.onnx_converters import input_columns

    return [{"name": c.name, "kind": c.kind, "source": c.source} for c in input_columns(pipeline)]


def onnx_inputs(model_or_metadata: Any, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """The feed of the exported graph for table ``X``: one ``[N, 1]`` array per input.

    Columns are read by name (extra ones are ignored) and converted as the
    model's cleaning step converts them: numbers, booleans and durations to
    float32 (NaN where missing), categories to strings (``""`` where missing).

    Parameters
    ----------
    model_or_metadata : AutoML, OnnxModel or mapping
        The fitted model, the loaded ONNX model, or its ``metadata_props``.
    X : DataFrame
        The rows, as given to ``predict``.

    Raises
    ------
    DataError
        When ``X`` lacks a column the model reads, or holds a value that does not convert.
    """
    spec = _input_spec(model_or_metadata)
    if not isinstance(X, pd.DataFrame):
        raise DataError("X must be a DataFrame with the training column names for the ONNX model")
    df = as_frame(X)
    missing = [c["name"] for c in spec if c["name"] not in df.columns]
    if missing:
        raise DataError(f"X lacks {len(missing)} column(s) the model reads: {missing[:20]}")
    numeric = [ColumnInfo(c["name"], "numeric", c["name"], source=c["source"]) for c in spec if c["kind"] == "numeric"]
    values, _ = numeric_values(df, numeric)
    floats = {c.name: values[:, [i]].astype(np.float32) for i, c in enumerate(numeric)}
    feed = {}
    for c in spec:
        name = c["name"]
        if c["kind"] == "numeric":
            feed[name] = floats[name]
            continue
        v = df[name].astype(object).to_numpy()
        absent = pd.isna(v)
        out = np.full(len(v), "", dtype=object)
        out[~absent] = [str(x) for x in v[~absent]]
        feed[name] = out.reshape(-1, 1)
    return feed


# -- running an exported model ------------------------------------------------------------------


class OnnxModel:
    """An exported model run by ONNX Runtime, predicting from a DataFrame like the fitted ``AutoML``.

    Parameters
    ----------
    path : str, path-like or bytes
        The ONNX file, or its bytes.
    threads : int
        Threads ONNX Runtime may use within one call (1 is fastest on few rows).

    Attributes
    ----------
    session : onnxruntime.InferenceSession
        The session, to call ``run`` on a feed of your own.
    metadata : dict
        The model's ``metadata_props``.
    inputs : list of dict
        The graph's inputs: ``name``, ``kind`` (numeric or categorical) and ``source`` of each.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    classes_ : ndarray
        The class labels (classification).
    """

    def __init__(self, path: str | os.PathLike[str] | bytes, *, threads: int = 1) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        source = path if isinstance(path, bytes) else str(path)
        self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        self.metadata = dict(self.session.get_modelmeta().custom_metadata_map)
        if _META + "task" not in self.metadata:
            raise ValueError(f"{path if not isinstance(path, bytes) else 'the model'}: not exported by automl")
        self.task = self.metadata[_META + "task"]
        self.inputs: list[dict[str, str]] = json.loads(self.metadata[_META + "inputs"])
        if self.task != "regression":
            stored = json.loads(self.metadata[_META + "classes"])
            self.classes_ = np.asarray(stored["values"], dtype=stored["dtype"])
            keys = np.asarray(graph_labels(self.classes_))
            self._order = np.argsort(keys, kind="stable")
            self._keys = keys[self._order]

    def run(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """Every output of the graph for the rows of ``X``, by name."""
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, onnx_inputs(self, X)), strict=True))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Class labels (in ``classes_``) or predicted values."""
        if self.task == "regression":
            return self.run(X)["variable"].reshape(-1).astype(float)
        return self.decode(self.session.run(["label"], onnx_inputs(self, X))[0])

    def decode(self, labels: np.ndarray) -> np.ndarray:
        """The ``classes_`` of the graph's ``label`` output (whose integers or strings stand for them)."""
        return self.classes_[self._order[np.searchsorted(self._keys, labels)]]

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        if self.task == "regression":
            raise AttributeError("a regressor has no predict_proba")
        return self.session.run(["probabilities"], onnx_inputs(self, X))[0].astype(float)


def load_onnx(path: str | os.PathLike[str], *, threads: int = 1) -> OnnxModel:
    """Load a file written by :func:`export` into an :class:`OnnxModel`."""
    return OnnxModel(path, threads=threads)


# -- export -----------------------------------------------------------------------------------


def _register_plugin_converters(plugins: Sequence[Any] | None) -> list[str]:
    """Call every registered component's ``onnx_converters``; describe those that failed."""
    from automl.registry import collect_components, get_plugin_manager

    comps = collect_components(get_plugin_manager(plugins or ()))
    failed = []
    for kind, specs in (("model", comps.models), ("preprocessor", comps.preprocessors)):
        for spec in specs.values():
            if spec.onnx_converters is None:
                continue
            try:
                spec.onnx_converters()
            except Exception as exc:  # a broken registration costs only that component's export
                failed.append(f"{kind} {spec.name!r}: {type(exc).__name__}: {exc}")
                logger.warning("the ONNX converters of %s could not be registered", failed[-1])
    return failed


def _metadata(task: str, classes: Any, inputs: list[dict[str, str]]) -> dict[str, str]:
    from automl import __version__

    meta = {"task": task, "inputs": json.dumps(inputs), "version": __version__}
    if classes is not None:
        arr = np.asarray(classes)
        meta["classes"] = json.dumps({"values": arr.tolist(), "dtype": arr.dtype.str if arr.dtype != object else "O"})
    return {_META + k: v for k, v in meta.items()}


def _name_inputs(graph: Any, names: list[str]) -> None:
    """Give the graph's inputs the original column names (skl2onnx makes them identifiers)."""
    if len(graph.input) != len(names):
        raise OnnxConversionError(
            f"the graph has {len(graph.input)} inputs for the {len(names)} columns the model reads"
        )
    mapping = {i.name: n for i, n in zip(graph.input, names, strict=True) if i.name != n}
    if not mapping:
        return
    others = {o for node in graph.node for o in node.output} | {t.name for t in graph.initializer}
    clash = set(mapping.values()) & others
    if clash:
        raise OnnxConversionError(f"column name(s) {sorted(clash)} clash with names inside the ONNX graph; rename them")
    for i in graph.input:
        i.name = mapping.get(i.name, i.name)
    for node in graph.node:
        for k, name in enumerate(node.input):
            node.input[k] = mapping.get(name, name)


def to_onnx_model(model: Any, *, plugins: Sequence[Any] | None = None) -> Any:
    """The ONNX ModelProto of ``model.best_pipeline_`` (what :func:`export` writes), without the parity check.

    Raises
    ------
    OnnxConversionError
        When a component has no converter (the message names its class and
        pipeline step) or the conversion fails.
    """
    import onnx

    from automl.deploy import onnx_converters as conv

    pipeline = getattr(model, "best_pipeline_", None)
    if pipeline is None:
        raise ValueError(f"{type(model).__name__} is not fitted yet: call fit before exporting it")
    task = model.task_
    classes = None if task == "regression" else np.asarray(model.classes_)
    failed = _register_plugin_converters(plugins if plugins is not None else getattr(model, "plugins", None))
    columns = conv.input_columns(pipeline)
    clash = [c.name for c in columns if c.name in OUTPUTS]
    if clash:
        raise OnnxConversionError(f"column(s) {clash} have the name of an output of the ONNX graph; rename them")
    try:
        conv.check_convertible(pipeline)
        proto = conv.convert(pipeline, columns, classes)
    except OnnxConversionError as exc:
        note = f" (these converters failed to register: {'; '.join(failed)})" if failed else ""
        raise OnnxConversionError(f"{exc}{note}") from None
    except Exception as exc:
        logger.debug("skl2onnx failed", exc_info=True)
        where = conv.culprit(exc, pipeline) or "the model"
        raise OnnxConversionError(f"the ONNX conversion of {where} failed: {type(exc).__name__}: {exc}") from None
    _name_inputs(proto.graph, [c.name for c in columns])
    onnx.helper.set_model_props(proto, _metadata(task, classes, [asdict(c) for c in columns]))
    return proto


def _sample(X_sample: Any) -> pd.DataFrame:
    if not isinstance(X_sample, pd.DataFrame):
        raise DataError("X_sample must be a DataFrame with the training column names")
    if len(X_sample) == 0:
        raise DataError("X_sample has no row: the parity check needs rows like those the model will see")
    return X_sample.iloc[:PARITY_ROWS]


def _tie(reference: np.ndarray, threshold: float | None) -> np.ndarray:
    """Rows whose decision is a float32 tie: the top two probabilities, or the positive one and the threshold."""
    if threshold is not None:
        return np.abs(reference[:, 1] - threshold) <= TIE_TOLERANCE
    if reference.shape[1] < 2:
        return np.zeros(len(reference), dtype=bool)
    top = np.sort(reference, axis=1)[:, -2:]
    return top[:, 1] - top[:, 0] <= TIE_TOLERANCE


def check_parity(onnx_model: OnnxModel, model: Any, X_sample: pd.DataFrame, *, atol: float = 1e-3) -> ParityReport:
    """Compare ``onnx_model`` with the fitted ``model`` on up to :data:`PARITY_ROWS` rows of ``X_sample``.

    See the module docstring for the rule; nothing is raised here.
    """
    X = _sample(X_sample)
    out = onnx_model.run(X)
    if onnx_model.task == "regression":
        reference = np.asarray(model.predict(X), dtype=float).reshape(-1)
        diff = float(np.max(np.abs(out["variable"].reshape(-1) - reference)))
        scale = float(np.std(reference)) or float(np.max(np.abs(reference))) or 1.0
        tolerance = atol * scale
        return ParityReport(len(X), diff, tolerance, 0, 0, bool(diff <= tolerance))
    proba = np.asarray(model.predict_proba(X), dtype=float)
    diff = float(np.max(np.abs(out["probabilities"] - proba)))
    differ = onnx_model.decode(out["label"]) != np.asarray(model.predict(X))
    ties = differ & _tie(proba, getattr(model, "threshold_", None))
    mismatches = int((differ & ~ties).sum())
    return ParityReport(len(X), diff, atol, mismatches, int(ties.sum()), bool(diff <= atol and mismatches == 0))


def _parity_message(report: ParityReport) -> str:
    parts = []
    if report.max_abs_diff > report.tolerance:
        parts.append(f"predictions differ by up to {report.max_abs_diff:.3g} (allowed: {report.tolerance:.3g})")
    if report.label_mismatches:
        parts.append(f"{report.label_mismatches} predicted label(s) differ")
    return (
        f"the ONNX model does not reproduce the model on {report.rows} rows of X_sample: {'; '.join(parts)}. "
        "The file was not written."
    )


def checked_model(
    model: Any,
    X_sample: pd.DataFrame | None = None,
    *,
    atol: float = 1e-3,
    plugins: Sequence[Any] | None = None,
) -> tuple[OnnxModel, ParityReport, bytes]:
    """Convert ``model.best_pipeline_`` to ONNX and check it with ONNX Runtime, in memory.

    Parameters are those of :func:`export`; ``X_sample=None`` draws
    :data:`PARITY_ROWS` rows from the model's training profile
    (:func:`automl.data.profile.sample_rows`).

    Returns
    -------
    (OnnxModel, ParityReport, bytes)
        An ONNX Runtime session of the graph, the comparison (which passed), and the serialized graph.

    Raises
    ------
    OnnxConversionError, OnnxParityError
        As :func:`export`.
    """
    if not (atol > 0):
        raise ValueError(f"atol must be positive, got {atol!r}")
    if X_sample is None:
        from automl.data.profile import sample_rows

        profile = getattr(model, "data_profile_", None)
        if not profile:
            raise ValueError(f"{type(model).__name__} has no training profile to draw parity rows from: pass X_sample")
        X_sample = sample_rows(profile, PARITY_ROWS, seed=0)
    X = _sample(X_sample)
    payload = to_onnx_model(model, plugins=plugins).SerializeToString()
    session = OnnxModel(payload)
    report = check_parity(session, model, X, atol=atol)
    if not report.passed:
        raise OnnxParityError(_parity_message(report), report)
    return session, report, payload


def export(
    model: Any,
    path: str | os.PathLike[str],
    X_sample: pd.DataFrame | None = None,
    *,
    atol: float = 1e-3,
    plugins: Sequence[Any] | None = None,
) -> ParityReport:
    """Write ``model.best_pipeline_`` to one ONNX file, after checking that ONNX Runtime reproduces it.

    Parameters
    ----------
    model : AutoML
        A fitted estimator.
    path : str or path-like
        The ``.onnx`` file to write.
    X_sample : DataFrame, optional
        Rows like those the model will predict on (up to :data:`PARITY_ROWS`
        are used), e.g. a sample of the training table. Default: rows drawn
        from the model's training profile.
    atol : float
        The largest difference allowed between a probability of the ONNX model
        and of the model; for a regressor, as a share of the standard deviation
        of its predictions on ``X_sample``.
    plugins : sequence, optional
        Plugin objects whose components the model holds; by default the
        model's own ``plugins`` (installed plugins are always found).

    Returns
    -------
    ParityReport
        The comparison, which passed.

    Raises
    ------
    OnnxConversionError
        When a component has no ONNX converter (its class and pipeline step are
        named) or the conversion fails.
    OnnxParityError
        When ONNX Runtime's predictions differ from the model's; nothing is written.
    """
    _, report, payload = checked_model(model, X_sample, atol=atol, plugins=plugins)
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info(
        "exported %s (%.1f MB); parity on %d rows: max difference %.3g",
        path,
        len(payload) / 1e6,
        report.rows,
        report.max_abs_diff,
    )
    return report


__all__ = [
    "OUTPUTS",
    "PARITY_ROWS",
    "TIE_TOLERANCE",
    "OnnxConversionError",
    "OnnxExportError",
    "OnnxModel",
    "OnnxParityError",
    "ParityReport",
    "check_parity",
    "checked_model",
    "export",
    "graph_labels",
    "load_onnx",
    "onnx_inputs",
    "to_onnx_model",
]
