"""The rows a REST client sends to a served model: parsing, validation against the training schema, DataFrame.

The training schema (``model.data_profile_["table"]["columns"]``: each column's
``kind`` and ``source``) decides what a record may hold:

============================== ==============================================
column                         accepted JSON values
============================== ==============================================
numbers (source ``number``)    a number, or null
booleans (source ``bool``)     true / false, or null
durations (``timedelta``)      a number of seconds or a string such as
                               ``"1 days 02:00:00"`` or ``"P1DT2H"``, or null
dates (kind ``datetime``)      an ISO 8601 string, or null
text, categories, mixed        a string (a number is read as its text), or null
ignored (kind ``drop``)        anything, or nothing: the column is optional
============================== ==============================================

Every other column must be present in every record (null for a missing value);
columns the model was not trained on are ignored. :class:`RequestSchema`
checks the records with a pydantic model built from that table, and turns the
valid ones into a DataFrame of the training columns, in training order.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pandas as pd
import pydantic
import pydantic_core
from pydantic import AfterValidator, AllowInfNan, ConfigDict, Field, Strict, TypeAdapter, WithJsonSchema

from automl.deploy.metadata import unwrapped

#: problems listed at most in one error response
MAX_ERRORS = 20
#: characters of an offending value quoted at most in an error message
MAX_QUOTE = 60
#: the longest duration accepted, in seconds (pandas holds up to about 292 years)
MAX_SECONDS = 9e9


class InputError(Exception):
    """A request the server rejects: an HTTP status, a message for the client, and the problems found.

    Parameters
    ----------
    status : int
        The HTTP status code (400, 413 or 422).
    message : str
        What is wrong and what to send instead.
    errors : list of dict, optional
        One entry per problem: ``{"record": int or None, "column": str or None, "message": str}``.
    """

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []

    def content(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        out: dict[str, Any] = {"detail": self.message}
        if self.errors:
            out["errors"] = self.errors
        return out


# -- the value types of each kind of column ---------------------------------------------------------------
def _check_datetime(value: str) -> datetime.datetime:
    """An ISO 8601 date or date-time as a naive UTC datetime (aware times are converted to UTC)."""
    try:
        parsed = datetime.datetime.fromisoformat(value.strip().upper())
    except ValueError:
        raise ValueError(
            f"expected an ISO 8601 date or date-time such as '2024-05-31T12:00:00Z', got {value!r}"
        ) from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(datetime.UTC).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
            raise ValueError(f"{value!r} is out of the range of dates (years 1 to 9999 in UTC)") from None
    return parsed


_NUMBER = r"\d+(?:[.,]\d+)?"
#: an ISO 8601 duration in weeks, days, hours, minutes and seconds (years and months have no fixed length);
#: as in the OpenAPI pattern, a bare ``P`` or ``PT`` is accepted as zero
_ISO_DURATION = re.compile(
    rf"(?P<sign>[-+])?P(?:(?P<W>{_NUMBER})W)?(?:(?P<D>{_NUMBER})D)?"
    rf"(?:T(?:(?P<H>{_NUMBER})H)?(?:(?P<M>{_NUMBER})M)?(?:(?P<S>{_NUMBER})S)?)?"
)
_UNIT_SECONDS = {"W": 604800.0, "D": 86400.0, "H": 3600.0, "M": 60.0, "S": 1.0}


def _duration_seconds(text: str) -> float:
    """Seconds of an ISO 8601 duration (``"PT392H"``, ``"P1DT2H"``) or of a pandas one (``"1 days 02:00:00"``)."""
    match = _ISO_DURATION.fullmatch(text.upper())
    if match:
        seconds = sum(float(match[unit].replace(",", ".")) * n for unit, n in _UNIT_SECONDS.items() if match[unit])
        return -seconds if match["sign"] == "-" else seconds
    seconds = pd.Timedelta(text).total_seconds()
    if np.isnan(seconds):  # "NaT"
        raise ValueError(text)
    return seconds


def _check_duration(value: str | float) -> float:
    """A duration as seconds: a number is seconds already, a string is an ISO 8601 or a pandas duration."""
    if isinstance(value, str):
        try:
            seconds = _duration_seconds(value.strip())
        except (ValueError, TypeError, OverflowError):
            raise ValueError(
                f"expected a duration such as 'P1DT2H' (ISO 8601, without years or months), '1 days 02:00:00' "
                f"or a number of seconds, got {value!r}"
            ) from None
    else:
        seconds = float(value)
    if not abs(seconds) <= MAX_SECONDS:
        raise ValueError(f"expected a duration of at most {MAX_SECONDS:.0f} seconds (285 years), got {value!r}")
    return seconds


_Str = Annotated[str, Strict()]
_Int = Annotated[int, Strict()]
_Bool = Annotated[bool, Strict()]
_Number = Annotated[float, Strict(), AllowInfNan(False)]
_Text = Annotated[_Str | _Int | _Number, AfterValidator(str)]
_MixedText = Annotated[_Str | _Bool | _Int | _Number, AfterValidator(str)]
_Date = Annotated[_Str, AfterValidator(_check_datetime), WithJsonSchema({"type": "string", "format": "date-time"})]
_Duration = Annotated[
    _Str | _Number,
    AfterValidator(_check_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -MAX_SECONDS, "maximum": MAX_SECONDS},
                {
                    "type": "string",
                    "pattern": r"^[-+]?P(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?$",
                    "description": "an ISO 8601 duration without years or months, such as P1DT2H",
                },
            ]
        }
    ),
]


@dataclass(frozen=True)
class ValueType:
    """What one kind of column accepts: its pydantic type, its JSON type in words, and how it becomes a column."""

    annotation: Any
    json_type: str
    to_column: Callable[[list[Any]], Any]


def _floats(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _dates(values: list[Any]) -> pd.Series:
    return pd.Series(pd.to_datetime(_objects(values)))


def _durations(values: list[Any]) -> pd.Series:
    return pd.Series(pd.to_timedelta(_floats(values), unit="s"))


def _nones(values: list[Any]) -> np.ndarray:
    return _objects([None] * len(values))


VALUE_TYPES = {
    "number": ValueType(_Number, "number", _floats),
    "bool": ValueType(_Bool, "boolean", _floats),
    "timedelta": ValueType(_Duration, "number of seconds or duration string", _durations),
    "datetime": ValueType(_Date, "string (ISO 8601 date or date-time)", _dates),
    "text": ValueType(_Text, "string", _objects),
    "mixed": ValueType(_MixedText, "string", _objects),
    "drop": ValueType(Any, "any (ignored)", _nones),
}


def value_type(kind: str, source: str) -> str:
    """The key in :data:`VALUE_TYPES` of a column of this ``kind`` and ``source`` (as in the training profile)."""
    if kind == "drop":
        return "drop"
    if kind == "datetime":
        return "datetime"
    if kind == "numeric" and source in ("number", "bool", "timedelta"):
        return source
    return "mixed" if source == "object" else "text"


# -- the schema --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One training column as the server sees it."""

    name: str
    field: str
    kind: str
    source: str
    dtype: str

    @property
    def type(self) -> ValueType:
        """What the column accepts."""
        return VALUE_TYPES[value_type(self.kind, self.source)]

    @property
    def required(self) -> bool:
        """Whether every record must hold the column (every column the model uses)."""
        return self.kind != "drop"

    def describe(self) -> dict[str, Any]:
        """The column for ``GET /metadata``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "type": self.type.json_type,
            "source": self.source,
            "dtype": self.dtype,
            "required": self.required,
            "nullable": True,
        }


def training_columns(model: Any) -> list[Column]:
    """The training columns of a fitted ``AutoML``, in training order, from its data profile (or its pipeline).

    Raises
    ------
    ValueError
        When the model records no training schema.
    """
    profile = getattr(model, "data_profile_", None) or {}
    described = (profile.get("table") or {}).get("columns")
    if described:
        pairs = [
            (str(name), c["kind"], c.get("source", "object"), str(c.get("dtype", ""))) for name, c in described.items()
        ]
    else:  # models saved before data profiles: the schema of the pipeline's first step
        schema = _pipeline_schema(getattr(model, "best_pipeline_", None))
        if schema is None:
            raise ValueError(
                f"{type(model).__name__} records no training schema (no data_profile_): refit it with this version"
            )
        pairs = [(str(c.name), c.kind, c.source, "") for c in schema.columns]
    return [Column(name, f"f{i}", kind, source, dtype) for i, (name, kind, source, dtype) in enumerate(pairs)]


def _pipeline_schema(pipeline: Any) -> Any:
    steps = getattr(unwrapped(pipeline), "steps", None)
    return getattr(steps[0][1], "schema_", None) if steps else None


class RequestSchema:
    """Parse and validate request bodies for one model, and turn them into its input DataFrame.

    Parameters
    ----------
    columns : list of Column
        The training columns, in training order.
    max_rows : int
        Records accepted at most in one request (more: 413).
    """

    def __init__(self, columns: list[Column], max_rows: int) -> None:
        self.columns = columns
        self.max_rows = max_rows
        self.names = [c.name for c in columns]
        fields: dict[str, Any] = {}
        for c in columns:
            default = ... if c.required else None
            fields[c.field] = (c.type.annotation | None, Field(default, alias=c.name, title=c.name))
        self.record_model: type[pydantic.BaseModel] = pydantic.create_model(
            "Record", __config__=ConfigDict(extra="ignore"), **fields
        )
        self._records = TypeAdapter(list[self.record_model])

    @classmethod
    def from_model(cls, model: Any, max_rows: int) -> RequestSchema:
        """The request schema of a fitted ``AutoML``."""
        return cls(training_columns(model), max_rows)

    # -- parsing ----------------------------------------------------------------------------------------------
    def parse(self, body: bytes) -> tuple[list[Any], bool]:
        """The records of a request body, and whether it held one record (a JSON object) rather than a list.

        Raises
        ------
        InputError
            400 for a body that is not JSON; 422 for JSON that is neither an object nor a
            non-empty list; 413 for more than ``max_rows`` records.
        """
        if not body.strip():
            raise InputError(
                422, "the request body is empty: send one record (a JSON object column -> value) or a list of records"
            )
        try:  # pydantic's parser is fast and strict (UTF-8, depth); when it refuses a body, Python's says why
            data = pydantic_core.from_json(body, allow_inf_nan=False)
        except ValueError as exc:
            raise _json_error(body, exc) from None
        if isinstance(data, dict):
            return [data], True
        if not isinstance(data, list):
            raise InputError(
                422, f"expected one record (a JSON object column -> value) or a list of records, got {_json_kind(data)}"
            )
        if not data:
            raise InputError(422, "the body is an empty list: send at least one record (a JSON object)")
        if len(data) > self.max_rows:
            raise InputError(
                413,
                f"the body holds {len(data)} records; at most {self.max_rows} are accepted "
                "in one request: split it into smaller batches",
            )
        return data, False

    def validate(self, records: list[Any], single: bool) -> list[pydantic.BaseModel]:
        """The records, validated against the training schema.

        Raises
        ------
        InputError
            422 naming each column (and record, for a list) that is missing or holds a wrong value.
        """
        try:
            return self._records.validate_python(records)
        except pydantic.ValidationError as exc:
            problems = self._problems(exc.errors(include_url=False), records, single)
        shown = "; ".join(p["message"] for p in problems[:5])
        more = f" (and {len(problems) - 5} more problems)" if len(problems) > 5 else ""
        raise InputError(422, f"invalid input: {shown}{more}", problems[:MAX_ERRORS])

    def _problems(self, errors: list[Any], records: list[Any], single: bool) -> list[dict[str, Any]]:
        """One problem per record and column: pydantic reports one error per branch of a union."""
        by_name = {c.name: c for c in self.columns}
        problems: dict[tuple[Any, Any], dict[str, Any]] = {}
        for error in errors:
            loc = error["loc"]
            index = loc[0] if loc and isinstance(loc[0], int) else None
            name = loc[1] if len(loc) > 1 and isinstance(loc[1], str) else None
            if (index, name) in problems:
                continue
            where = "" if single or index is None else f"record {index}: "
            if name is None:
                message = f"{where}expected a JSON object (column -> value), got {_json_kind(records[index])}"
            elif error["type"] == "missing":
                message = f"{where}column {name!r} is missing (send null for a missing value)"
            elif error["type"] == "value_error":
                message = f"{where}column {name!r}: {error['ctx']['error']}"
            else:
                expected = by_name[name].type.json_type
                message = f"{where}column {name!r}: expected a {expected} or null, got {_quote(error.get('input'))}"
            problems[(index, name)] = {"record": None if single else index, "column": name, "message": message}
        return list(problems.values())

    # -- to a table -------------------------------------------------------------------------------------------
    def frame(self, records: list[pydantic.BaseModel]) -> pd.DataFrame:
        """The validated records as the model's input: training columns in training order, dtypes close to training.

        Numbers and booleans become float64 (NaN for missing), text becomes ``object`` strings (None for
        missing), dates ``datetime64`` (naive UTC), durations ``timedelta64``; ignored columns are None.
        """
        data = {}
        for c in self.columns:
            values = [getattr(r, c.field) for r in records]
            data[c.name] = c.type.to_column(values)
        return pd.DataFrame(data, index=pd.RangeIndex(len(records)))

    def logged_rows(self, records: list[Any]) -> list[dict[str, Any]]:
        """The records as received, with the training columns only (for the request log).

        Values of the ignored columns were not validated: an infinite number among them is logged as null.
        """
        names = self.names
        rows = [{n: r[n] for n in names if n in r} for r in records]
        ignored = [c.name for c in self.columns if not c.required]
        for row in rows if ignored else ():
            for n in ignored:
                if n in row:
                    row[n] = _finite(row[n])
        return rows

    # -- documentation ----------------------------------------------------------------------------------------
    def record_json_schema(self) -> dict[str, Any]:
        """The JSON schema of one record (for OpenAPI)."""
        schema = self.record_model.model_json_schema()
        schema["description"] = (
            "One row: every training column by name (null for a missing value); other keys are ignored."
        )
        return schema

    def body_json_schema(self, record_ref: str) -> dict[str, Any]:
        """The JSON schema of a request body: one record, or a list of 1 to ``max_rows`` records."""
        return {
            "anyOf": [
                {"$ref": record_ref},
                {"type": "array", "items": {"$ref": record_ref}, "minItems": 1, "maxItems": self.max_rows},
            ]
        }


def _json_error(body: bytes, exc: ValueError) -> InputError:
    """The 400 error for a body that pydantic's parser refused, in Python's parser's words when it has some."""
    try:
        json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        return InputError(400, "the body is not usable JSON: it is nested too deeply")
    except json.JSONDecodeError as python:
        return InputError(
            400, f"the body is not valid JSON: {python.msg} (line {python.lineno}, column {python.colno})"
        )
    except ValueError as python:  # not UTF-8, NaN / Infinity, an integer with thousands of digits
        return InputError(400, f"the body is not valid JSON: {python}")
    # valid for Python only: UTF-16 or UTF-32, lone surrogates, nesting deeper than pydantic's limit
    return InputError(400, f"the body is not usable JSON (send UTF-8 JSON, nested at most 200 deep): {exc}")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON; send null for a missing value")


def _finite(value: Any) -> Any:
    """A parsed JSON value with infinite numbers (``1e999``) as None, so that it can be written as JSON again."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _quote(value: Any) -> str:
    if isinstance(value, dict | list):
        return _json_kind(value)
    text = json.dumps(value)
    return text if len(text) <= MAX_QUOTE else text[: MAX_QUOTE - 3] + "..."
