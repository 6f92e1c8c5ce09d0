"""The writer process: reads the tracker's messages from stdin, writes them to MLflow, answers on stdout.

Run as ``python -m automl_mlflow.store`` by :class:`automl_mlflow.writer.Writer`.
Messages are pickled ``(number, kind, pickled payload)`` tuples; each is answered with
``(number, error or None, info)``. The kinds:

- ``start``: create the parent run (``fit``, ``tracking_uri``, ``experiment_name``,
  ``tags``, ``params``, ``start_ms``);
- ``trial``: one nested run (``fit``, ``record``);
- ``end``: the summary, ``leaderboard.csv``, ``pipeline.txt`` and the model, then the
  parent run is FINISHED (``fit``, ``summary``, ``leaderboard``, ``pipeline_repr``, ``model``);
- ``abort``: end an unfinished parent run with ``status``.

After a message of a fit fails, the fit's later messages are skipped. When stdin
closes, the parent runs still open are ended as FAILED and the process exits.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import sys
import threading
import time
import traceback
import warnings
from typing import Any

from automl_mlflow.records import RunRecord

logger = logging.getLogger("automl_mlflow.store")


class Store:
    """The writes of every fit a tracker sends, by fit number."""

    def __init__(self) -> None:
        self.runs: dict[int, tuple[Any, str, str]] = {}  # fit -> (client, run id, experiment id)
        self.failed: set[int] = set()
        self.open: set[int] = set()

    def handle(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Write one message; return what the tracker should learn (run id, model URI)."""
        fit = payload["fit"]
        if fit in self.failed:
            return {}
        try:
            return getattr(self, f"_{kind}")(payload)
        except Exception:
            self.failed.add(fit)
            self.open.discard(fit)
            raise

    def _start(self, p: dict[str, Any]) -> dict[str, Any]:
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=p["tracking_uri"])
        experiment_id = experiment_id_of(client, p["experiment_name"], p.get("artifact_location"))
        run = client.create_run(experiment_id, start_time=p["start_ms"], tags=p["tags"])
        self.runs[p["fit"]] = (client, run.info.run_id, experiment_id)
        self.open.add(p["fit"])
        log_batch(client, run.info.run_id, params=p["params"])
        warm_up()
        return {"run_id": run.info.run_id}

    def _trial(self, p: dict[str, Any]) -> dict[str, Any]:
        client, parent, experiment_id = self.runs[p["fit"]]
        record: RunRecord = p["record"]
        now = int(time.time() * 1000)
        tags = {"mlflow.parentRunId": parent, "mlflow.runName": record.name, **record.tags}
        run = client.create_run(experiment_id, start_time=now - int(record.duration * 1000), tags=tags)
        log_batch(client, run.info.run_id, params=record.params, metrics=record.metrics, tags={}, timestamp=now)
        client.set_terminated(run.info.run_id, status=record.status, end_time=now)
        return {}

    def _end(self, p: dict[str, Any]) -> dict[str, Any]:
        from automl_mlflow.model import log_pipeline

        client, run_id, _ = self.runs[p["fit"]]
        summary: RunRecord = p["summary"]
        log_batch(client, run_id, params=summary.params, metrics=summary.metrics, tags=summary.tags)
        client.log_text(run_id, p["leaderboard"], "leaderboard.csv")
        client.log_text(run_id, p["pipeline_repr"], "pipeline.txt")
        info: dict[str, Any] = {}
        if p.get("model") is not None:
            info["model_uri"] = log_pipeline(client, run_id, p["model"])
            client.set_tag(run_id, "automl.model_uri", info["model_uri"])
        client.set_terminated(run_id, status="FINISHED")
        self.open.discard(p["fit"])
        return info

    def _abort(self, p: dict[str, Any]) -> dict[str, Any]:
        if p["fit"] in self.open:
            client, run_id, _ = self.runs[p["fit"]]
            client.set_terminated(run_id, status=p.get("status", "FAILED"))
            self.open.discard(p["fit"])
        return {}

    def close(self) -> None:
        """End the parent runs still open as FAILED (their fit never finished)."""
        for fit in list(self.open):
            try:
                self._abort({"fit": fit, "status": "FAILED"})
            except Exception:
                logger.debug("could not end the run of fit %s", fit, exc_info=True)


def warm_up() -> None:
    """Import what saving the final model needs while the search runs, so that the end of the fit waits less."""
    import mlflow.sklearn  # noqa: F401
    import skops.io  # noqa: F401

    from automl_mlflow.model import distributions

    distributions()


def experiment_id_of(client: Any, name: str, artifact_location: str | None = None) -> str:
    """The id of the experiment ``name``, created when missing (or by another process meanwhile).

    A new experiment keeps its artifacts at ``artifact_location`` (None: the store's default).
    """
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_location)
    except Exception:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise
        return experiment.experiment_id


def log_batch(
    client: Any,
    run_id: str,
    *,
    params: dict[str, str] | None = None,
    metrics: list[tuple[str, float, int]] | None = None,
    tags: dict[str, str] | None = None,
    timestamp: int | None = None,
) -> None:
    """Write params, metrics and tags of a run in one request."""
    from mlflow.entities import Metric, Param, RunTag

    stamp = timestamp or int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(key, value, stamp, step) for key, value, step in metrics or ()],
        params=[Param(key, value) for key, value in (params or {}).items()],
        tags=[RunTag(key, value) for key, value in (tags or {}).items()],
    )


def describe(exc: BaseException) -> str:
    """``Type: first line of the message``, short enough for a warning."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0][:300] if lines else ''}"


def _read_messages(stream: Any, inbox: queue.Queue) -> None:
    """Read every message as soon as it comes, so that the tracker never waits on a full pipe."""
    while True:
        try:
            inbox.put(pickle.load(stream))
        except (EOFError, OSError, pickle.UnpicklingError):
            inbox.put(None)
            return


def main() -> None:
    """Serve messages until stdin closes."""
    warnings.simplefilter("ignore")  # MLflow's and SQLAlchemy's deprecations are not the user's business
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)  # failures are answered, not printed
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the replies
    inbox: queue.Queue = queue.Queue()
    threading.Thread(target=_read_messages, args=(sys.stdin.buffer, inbox), daemon=True).start()
    store = Store()
    while (message := inbox.get()) is not None:
        number, kind, data = message
        error, info = None, {}
        try:
            info = store.handle(kind, pickle.loads(data))
        except Exception as exc:  # noqa: BLE001 - whatever the store raises is answered, never fatal
            error = describe(exc)
            logger.debug("%s failed:\n%s", kind, traceback.format_exc())
        replies = _reply(replies, (number, error, info))
    store.close()


def _reply(replies: Any, answer: tuple) -> Any:
    """Answer the tracker; once its process is gone, go on writing without answering."""
    if replies is None:
        return None
    try:
        pickle.dump(answer, replies)
        replies.flush()
    except (BrokenPipeError, OSError):
        return None
    return replies


if __name__ == "__main__":
    main()
