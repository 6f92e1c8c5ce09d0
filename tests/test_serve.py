"""REST serving: real uvicorn server processes on loopback, spoken to over HTTP, and a property-based API check."""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.deploy.io import read_log_predictions, read_table
from automl.deploy.serve import create_app, serve

FIT = {"time_budget": 4, "random_state": 0, "verbose": 0}
#: seconds a server process may take to answer /health
STARTUP = 60


# -- data and models ------------------------------------------------------------------------------------------
def binary_table(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers with NaN, a string column with missing values, booleans, dates, an odd name, an identifier."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "num": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "city": pd.Series(
                np.where(rng.random(n) < 0.1, None, rng.choice(["paris", "rome", "oslo"], size=n)), dtype=object
            ),
            "flag": rng.random(n) < 0.5,
            "petal width (cm)": rng.normal(size=n),
            "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1000, n), unit="D"),
            "id": [f"row{i}" for i in range(n)],
        }
    )
    logit = X["num"].fillna(0) + (X["city"] == "rome") - 0.8 * X["flag"] + 0.5 * X["petal width (cm)"]
    y = np.where(logit + rng.normal(scale=0.5, size=n) > 0.2, "yes", "no")
    return X, y


def multiclass_table(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Integer labels 0, 1, 2; a pandas categorical column."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c-d": pd.Categorical(rng.choice(["x", "y", "z"], size=n)),
            "count": rng.integers(0, 10, n),
        }
    )
    y = np.digitize(X["a"] + 0.5 * (X["c-d"] == "x").to_numpy() + rng.normal(scale=0.3, size=n), [-0.5, 0.5])
    return X, y


def regression_table(n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Numbers, a categorical and a duration column."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame(
        {
            "x1": rng.normal(size=n),
            "x2": np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
            "size": pd.Categorical(rng.choice(["S", "M", "L"], size=n)),
            "wait": pd.to_timedelta(rng.integers(0, 3600, n), unit="s"),
        }
    )
    y = 3 * X["x1"] + (X["size"] == "L").to_numpy() * 2 + X["wait"].dt.total_seconds() / 1000 + rng.normal(size=n)
    return X, y.to_numpy()


def json_value(value: Any) -> Any:
    """A cell as a client would send it: null for missing, ISO strings for dates, seconds for durations."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    return value.item() if isinstance(value, np.generic) else value


def records(X: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of X as JSON records."""
    return [{c: json_value(v) for c, v in zip(X.columns, row, strict=True)} for row in X.itertuples(index=False)]


@dataclass
class Fitted:
    model: AutoML
    X: pd.DataFrame
    y: np.ndarray
    path: Path


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Fitted]:
    out = {}
    for task, table in (("regression", regression_table), ("binary", binary_table), ("multiclass", multiclass_table)):
        X, y = table()
        model = AutoML(**FIT).fit(X, y)
        assert model.task_ == task
        path = tmp_path_factory.mktemp(task) / "m.automl"
        model.save(path)
        out[task] = Fitted(model, X, y, path)
    return out


# -- real server processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``serve(...)`` in a subprocess on a free loopback port."""

    def __init__(self, model_path: Path, folder: Path, **options: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output = folder / f"server-{self.port}.txt"
        kwargs = {"port": self.port, "log_level": "warning", **options}
        code = f"from automl.deploy.serve import serve; serve(*{(str(model_path),)!r}, **{kwargs!r})"
        with self.output.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
            )

    def wait(self) -> Server:
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}):\n{self.output.read_text()}")
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer within {STARTUP}s:\n{self.output.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: the server and its workers
                self.process.wait(10)


@dataclass
class Servers:
    binary: Server
    multiclass: Server
    regression: Server
    two_workers: Server
    log: Path
    two_workers_log: Path


@pytest.fixture(scope="module")
def servers(fitted: dict[str, Fitted], tmp_path_factory: pytest.TempPathFactory) -> Servers:
    folder = tmp_path_factory.mktemp("servers")
    log, log2 = folder / "requests.jsonl", folder / "requests-2.jsonl"
    started = Servers(
        Server(fitted["binary"].path, folder, log_path=str(log)),
        Server(fitted["multiclass"].path, folder),
        Server(fitted["regression"].path, folder),
        Server(fitted["binary"].path, folder, workers=2, log_path=str(log2)),
        log,
        log2,
    )
    every = [started.binary, started.multiclass, started.regression, started.two_workers]
    try:
        for server in every:  # started together, waited for one by one
            server.wait()
        yield started
    finally:
        for server in every:
            server.stop()


def post(server: Server, body: Any = None, **kwargs: Any) -> httpx.Response:
    if body is not None:
        kwargs["json"] = body
    return httpx.post(server.url + "/predict", timeout=30, **kwargs)


# -- predictions ----------------------------------------------------------------------------------------------
def test_one_record_gives_one_prediction_and_probabilities(servers: Servers, fitted: dict[str, Fitted]) -> None:
    f = fitted["binary"]
    response = post(servers.binary, records(f.X.iloc[:1])[0])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == list(f.model.predict(f.X.iloc[:1]))
    assert body["n_rows"] == 1
    (probabilities,) = body["probabilities"]
    assert list(probabilities) == ["no", "yes"]
    assert sum(probabilities.values()) == pytest.approx(1)


@pytest.mark.parametrize("task", ["binary", "multiclass"])
def test_list_matches_the_model_in_process(servers: Servers, fitted: dict[str, Fitted], task: str) -> None:
    f = fitted[task]
    rows = f.X.iloc[:60]
    response = post(getattr(servers, task), records(rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["predictions"] == f.model.predict(rows).tolist()
    labels = [str(c) for c in f.model.classes_]  # JSON keys: strings, also for integer classes
    assert all(list(p) == labels for p in body["probabilities"])
    proba = np.array([[p[label] for label in labels] for p in body["probabilities"]])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-9)
    np.testing.assert_allclose(proba, f.model.predict_proba(rows), rtol=1e-9, atol=1e-12)


def test_regression_predicts_numbers_without_probabilities(servers: Servers, fitted: dict[str, Fitted]) -> None:
    f = fitted["regression"]
    rows = f.X.iloc[:40]
    response = post(servers.regression, records(rows))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "probabilities" not in body
    assert all(isinstance(p, float) for p in body["predictions"])
    np.testing.assert_allclose(body["predictions"], f.model.predict(rows), rtol=1e-9)


def test_extra_columns_are_ignored_and_order_is_free(servers: Servers, fitted: dict[str, Fitted]) -> None:
    record = records(fitted["binary"].X.iloc[:1])[0]
    shuffled = {"unknown": [1, {"x": 2}], **dict(reversed(record.items())), "another": "x"}
    plain, extra = post(servers.binary, record), post(servers.binary, shuffled)
    assert extra.status_code == 200, extra.text
    assert extra.json()["probabilities"] == plain.json()["probabilities"]


def test_nulls_and_numbers_for_text_are_accepted(servers: Servers, fitted: dict[str, Fitted]) -> None:
    record = records(fitted["binary"].X.iloc[:1])[0] | {"num": None, "city": None, "flag": None, "when": None}
    del record["id"]  # an ignored column is optional
    response = post(servers.binary, [record, record | {"city": 12, "when": "2021-06-01T10:00:00+02:00"}])
    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 2


def test_durations_are_seconds_or_duration_strings(servers: Servers, fitted: dict[str, Fitted]) -> None:
    record = records(fitted["regression"].X.iloc[:1])[0]
    forms = [3600, 3600.0, "PT1H", "PT60M", "0 days 01:00:00", "1h"]
    response = post(servers.regression, [record | {"wait": form} for form in forms])
    assert response.status_code == 200, response.text
    assert len(set(response.json()["predictions"])) == 1
    expected = fitted["regression"].model.predict(fitted["regression"].X.iloc[:1].assign(wait=pd.Timedelta("1h")))
    assert response.json()["predictions"][0] == pytest.approx(expected[0])
    for bad, message in (
        ("P1Y", "without years or months"),
        (1e300, "at most"),
        (True, "expected a number of seconds"),
    ):
        response = post(servers.regression, record | {"wait": bad})
        assert response.status_code == 422 and "'wait'" in response.json()["detail"]
        assert message in response.json()["detail"]


# -- bad input ------------------------------------------------------------------------------------------------
def test_missing_column_is_422_naming_it_and_the_record(servers: Servers, fitted: dict[str, Fitted]) -> None:
    good = records(fitted["binary"].X.iloc[:3])
    one = {k: v for k, v in good[0].items() if k != "petal width (cm)"}
    response = post(servers.binary, one)
    assert response.status_code == 422
    assert "'petal width (cm)' is missing" in response.json()["detail"]
    batch = [good[0], good[1], {k: v for k, v in good[2].items() if k != "city"}]
    response = post(servers.binary, batch)
    assert response.status_code == 422
    body = response.json()
    assert "record 2" in body["detail"] and "'city'" in body["detail"]
    assert body["errors"] == [{"record": 2, "column": "city", "message": body["errors"][0]["message"]}]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("num", "abc", "expected a number"),
        ("num", True, "expected a number"),
        ("flag", 1, "expected a boolean"),
        ("city", [1, 2], "expected a string"),
        ("when", "not a date", "ISO 8601"),
        ("when", "0001-01-01T00:00:00+01:00", "out of the range of dates"),
    ],
)
def test_wrong_type_is_422_naming_the_column(
    servers: Servers, fitted: dict[str, Fitted], column: str, value: Any, expected: str
) -> None:
    record = records(fitted["binary"].X.iloc[:1])[0] | {column: value}
    response = post(servers.binary, [record, record])
    assert response.status_code == 422
    body = response.json()
    assert [(e["record"], e["column"]) for e in body["errors"]] == [(0, column), (1, column)]
    assert f"record 0: column {column!r}" in body["detail"] and expected in body["detail"]


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"[]", 422, "empty list"),
        (b"", 422, "body is empty"),
        (b'{"num": 1,', 400, "not valid JSON"),
        (b'{"num": NaN}', 400, "NaN is not valid JSON"),
        (b"\xff\xfe\x00garbage", 400, "not valid JSON"),
        (b"[" * 100_000, 400, "JSON"),
        (b'"a string"', 422, "got a string"),
        (b"[1, 2]", 422, "record 0: expected a JSON object"),
        (b'{"num": 1e400}', 422, "column 'num': expected a number or null, got Infinity"),
        ('{"num": 1}'.encode("utf-16"), 400, "send UTF-8 JSON"),
    ],
)
def test_unusable_bodies_are_4xx_with_a_message(servers: Servers, content: bytes, status: int, message: str) -> None:
    response = post(servers.binary, content=content, headers={"content-type": "application/json"})
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_oversized_bodies_are_413(servers: Servers, fitted: dict[str, Fitted]) -> None:
    big = json.dumps([records(fitted["binary"].X.iloc[:1])[0] | {"padding": "x" * 1000}] * 2100).encode()
    assert len(big) > 2_000_000
    response = post(servers.binary, content=big)
    assert response.status_code == 413
    assert "at most 2000000" in response.json()["detail"]

    def chunks():  # no Content-Length: the server counts what arrives
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    response = post(servers.binary, content=chunks())
    assert response.status_code == 413
    assert "over 2000000 bytes" in response.json()["detail"]
    response = post(servers.binary, [{}] * 10_001)
    assert response.status_code == 413
    assert "10001 records" in response.json()["detail"]
    assert httpx.get(servers.binary.url + "/health").json()["status"] == "ok"  # and the server is still fine


# -- health, metadata, docs -----------------------------------------------------------------------------------
def test_health_and_metadata(servers: Servers, fitted: dict[str, Fitted]) -> None:
    assert httpx.get(servers.regression.url + "/health").json() == {"status": "ok", "task": "regression"}
    f = fitted["binary"]
    meta = httpx.get(servers.binary.url + "/metadata").json()
    assert (meta["task"], meta["metric"], meta["classes"]) == ("binary", f.model.metric_, ["no", "yes"])
    best = f.model.best_score_  # NaN (null in JSON) when only the unevaluated fallback finished in time
    assert meta["best_score"] == (None if np.isnan(best) else pytest.approx(best))
    assert meta["final_model"] and datetime.datetime.fromisoformat(meta["created"]).tzinfo is not None
    assert meta["versions"]["automl"] and meta["versions"]["scikit-learn"]
    schema = {c["name"]: (c["kind"], c["type"], c["required"]) for c in meta["schema"]}
    assert list(schema) == list(f.X.columns)
    assert schema["num"] == ("numeric", "number", True)
    assert schema["flag"] == ("numeric", "boolean", True)
    assert schema["city"] == ("categorical", "string", True)
    assert schema["when"][0] == "datetime" and "ISO 8601" in schema["when"][1]
    assert schema["id"] == ("drop", "any (ignored)", False)
    assert httpx.get(servers.multiclass.url + "/metadata").json()["classes"] == [0, 1, 2]


def test_openapi_documents_the_record(servers: Servers) -> None:
    doc = httpx.get(servers.binary.url + "/openapi.json").json()
    record = doc["components"]["schemas"]["Record"]
    assert set(record["required"]) == {"num", "city", "flag", "petal width (cm)", "when"}
    body = doc["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["anyOf"][1]["maxItems"] == 10_000
    assert httpx.get(servers.binary.url + "/docs").status_code == 200


# -- the request log ------------------------------------------------------------------------------------------
def test_request_log_is_readable(servers: Servers, fitted: dict[str, Fitted]) -> None:
    f = fitted["binary"]
    before = len(read_log_predictions(servers.log)) if servers.log.stat().st_size else 0
    sent = records(f.X.iloc[10:14])
    answers = [post(servers.binary, sent[0] | {"extra": 1}).json(), post(servers.binary, sent[1:]).json()]
    assert post(servers.binary, []).status_code == 422  # failures are not logged
    predictions = read_log_predictions(servers.log)
    assert predictions[before:] == answers[0]["predictions"] + answers[1]["predictions"]
    rows = read_table(servers.log).iloc[before:].reset_index(drop=True)
    assert list(rows.columns) == list(f.X.columns)  # training columns only: "extra" is not logged
    expected = pd.DataFrame(sent)
    pd.testing.assert_frame_equal(rows, expected, check_dtype=False)
    last = [json.loads(line) for line in servers.log.read_text().splitlines()[-2:]]
    assert datetime.datetime.fromisoformat(last[0]["time"]).utcoffset() == datetime.timedelta(0)
    assert last[1]["probabilities"] == [[p["no"], p["yes"]] for p in answers[1]["probabilities"]]


def test_two_workers_answer_and_share_the_log(servers: Servers, fitted: dict[str, Fitted]) -> None:
    sent = records(fitted["binary"].X.iloc[:5])
    with httpx.Client(base_url=servers.two_workers.url, timeout=30) as client:

        def call(i: int) -> httpx.Response:
            return client.post("/predict", json=sent[: 1 + i % 5])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(call, range(40)))
    assert all(r.status_code == 200 for r in responses)
    assert [len(r.json()["predictions"]) for r in responses] == [1 + i % 5 for i in range(40)]
    lines = servers.two_workers_log.read_text().splitlines()
    assert len(lines) == 40 and all(
        len(json.loads(line)["rows"]) == len(json.loads(line)["predictions"]) for line in lines
    )
    assert len(read_table(servers.two_workers_log)) == sum(1 + i % 5 for i in range(40))


# -- start-up errors, and property-based checks in process ----------------------------------------------------
def test_serve_refuses_a_bad_model_file_before_starting(tmp_path: Path, fitted: dict[str, Fitted]) -> None:
    with pytest.raises(ValueError, match="no such model file"):
        serve(tmp_path / "missing.automl")
    (tmp_path / "junk.automl").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an automl model file"):
        serve(tmp_path / "junk.automl")
    with pytest.raises(ValueError, match="request log cannot be written"):
        serve(fitted["binary"].path, log_path=tmp_path / "no" / "such" / "folder.jsonl")


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_no_server_error_for_any_request_the_schema_allows_or_forbids(fitted: dict[str, Fitted], task: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(fitted[task].model))
    strategy = schema.as_strategy(schemathesis.GenerationMode.POSITIVE) | schema.as_strategy(
        schemathesis.GenerationMode.NEGATIVE
    )

    @settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    check()


# -- the ONNX runtime -----------------------------------------------------------------------------------------
def test_onnx_runtime_answers_like_the_model_over_http(fitted: dict[str, Fitted], tmp_path: Path) -> None:
    f = fitted["multiclass"]
    server = Server(f.path, tmp_path, runtime="onnx")
    try:
        server.wait()
        sent = f.X.iloc[:40]
        answer = post(server, records(sent)).json()
        meta = httpx.get(server.url + "/metadata").json()
        assert post(server, [{"a": 1.0}]).status_code == 422  # the same validation as the exact runtime
    finally:
        server.stop()
    assert answer["predictions"] == f.model.predict(sent).tolist()
    proba = np.array([[p[str(c)] for c in f.model.classes_] for p in answer["probabilities"]])
    np.testing.assert_allclose(proba, f.model.predict_proba(sent), atol=1e-3)
    runtime = meta["runtime"]
    assert runtime["name"] == "onnx" and runtime["parity"]["passed"] and runtime["parity"]["rows"] > 0


def test_onnx_runtime_regression_in_process(fitted: dict[str, Fitted]) -> None:
    f = fitted["regression"]
    served = create_app(f.path, runtime="onnx").state.served
    answer = served.predict(json.dumps(records(f.X.iloc[:30])).encode())
    assert served.metadata["runtime"]["name"] == "onnx"
    expected = f.model.predict(f.X.iloc[:30])
    np.testing.assert_allclose(answer["predictions"], expected, atol=1e-3 * np.std(expected) + 1e-6)
    assert "probabilities" not in answer


def test_onnx_runtime_refuses_what_it_cannot_convert_before_starting(fitted: dict[str, Fitted]) -> None:
    with pytest.raises(ValueError, match="when"):  # the binary table's datetime column
        create_app(fitted["binary"].model, runtime="onnx")
    with pytest.raises(ValueError, match="runtime='tensorflow' is not one of sklearn, onnx"):
        serve(fitted["binary"].path, runtime="tensorflow")
    assert create_app(fitted["binary"].model).state.served.metadata["runtime"] == {"name": "sklearn"}


def test_onnx_runtime_without_the_extra_says_what_to_install(
    fitted: dict[str, Fitted], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx extra were not installed
    with pytest.raises(ValueError, match=r"pip install 'automl\[onnx\]'"):
        create_app(fitted["multiclass"].model, runtime="onnx")


def test_the_sklearn_runtime_makes_the_models_first_call_before_the_first_request(fitted: dict[str, Fitted]) -> None:
    from automl.estimator import _LEAN

    for task in ("binary", "regression"):
        served = create_app(fitted[task].path).state.served  # loaded from its file: never called yet
        forms = _LEAN[served.model]._forms
        assert set(forms) == ({"predict", "predict_proba"} if task == "binary" else {"predict"})
        answer = served.predict(json.dumps(records(fitted[task].X.iloc[:3])).encode())
        assert answer["predictions"] == fitted[task].model.predict(fitted[task].X.iloc[:3]).tolist()


def test_a_failed_warm_up_is_logged_and_leaves_the_first_call_to_the_first_request(
    fitted: dict[str, Fitted], caplog: pytest.LogCaptureFixture
) -> None:
    from automl.deploy.runtimes import SklearnRuntime

    class Failing:
        task_ = "regression"
        data_profile_ = fitted["regression"].model.data_profile_

        def predict(self, X: pd.DataFrame) -> np.ndarray:
            raise RuntimeError("no")

    with caplog.at_level("WARNING", logger="automl.deploy.runtimes"):
        assert SklearnRuntime(Failing()).warm_up() is None
    assert "warm-up" in caplog.text
    Failing.data_profile_ = None
    assert SklearnRuntime(Failing()).warm_up() is None
