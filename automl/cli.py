"""The ``automl`` command: fit a model on a table, predict, read its leaderboard, serve it, check drift, list plugins.

Every subcommand reads and writes files; errors (a missing file, an unknown
column, a bad option) end with a one-line message on stderr and exit code 2,
never a traceback. ``automl drift`` exits with 1 when it finds drift, so a
scheduler can start a retrain.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any

import pandas as pd

from automl.exceptions import DataError, PluginError, SearchFailedError

logger = logging.getLogger("automl")

#: the exit code of a failed command (argparse's own for a bad option); drift found is 1
EXIT_ERROR = 2
EXIT_DRIFT = 1
LEADERBOARD_COLUMNS = ["rank", "model", "preprocessing", "score_mean", "score_std", "fit_s", "status"]


class CommandError(Exception):
    """A command cannot run; the message is printed as is."""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _positive(kind: type, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a number, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{what} must be positive, got {text!r}")
        return value

    return parse


def _read(path: str) -> pd.DataFrame:
    from automl.deploy.io import read_table

    frame = read_table(path)
    if frame.empty:
        raise CommandError(f"{path}: the table has no rows")
    return frame


def _load(path: str, allow_pickle: bool = False) -> Any:
    from automl.deploy.persist import load

    return load(path, allow_pickle=allow_pickle)


def _leaderboard_text(board: pd.DataFrame, top: int | None) -> str:
    shown = board[[c for c in LEADERBOARD_COLUMNS if c in board.columns]]
    if top is not None:
        shown = shown.head(top)
    return shown.to_string(index=False, float_format=lambda v: f"{v:.5g}")


# -- the subcommands -------------------------------------------------------------
def cmd_fit(args: argparse.Namespace) -> int:
    """``automl fit``: fit on a table, save the model file, print the leaderboard's top."""
    from automl.estimator import AutoML

    if args.format == "skops" and importlib.util.find_spec("skops") is None:
        # before the search, not after it: a model that cannot be saved would be lost
        raise CommandError("--format skops needs skops: pip install 'automl[deploy]', or pass --format joblib")
    frame = _read(args.data)
    for option, name in (("the target", args.target), ("--weight", args.weight), ("--groups", args.groups)):
        if name is not None and name not in frame.columns:
            columns = ", ".join(map(str, frame.columns[:20])) + (", ..." if len(frame.columns) > 20 else "")
            raise CommandError(f"{args.data}: no column {name!r} ({option}); its columns: {columns}")
    y = frame.pop(args.target)
    per_row = {
        "sample_weight": None if args.weight is None else frame.pop(args.weight),
        "groups": None if args.groups is None else frame.pop(args.groups),
        "time": args.time,  # a column name: it stays a feature
    }
    model = AutoML(
        task=args.task,
        metric=args.metric,
        time_budget=args.time_budget,
        random_state=args.seed,
        n_jobs=args.n_jobs,
        verbose=args.verbose,
        storage=args.storage,
        study_name=args.study,
        shared_dir=args.shared_dir,
    )
    model.fit(frame, y, **per_row)
    model.save(args.output, format=args.format)
    _out(_leaderboard_text(model.leaderboard_, 10))
    _out()
    from automl.deploy.metadata import describe_final

    _out(f"task: {model.task_}; metric: {model.metric_}; cross-validated score: {model.best_score_:.5g}")
    _out(f"final model: {describe_final(model.best_pipeline_)}")
    _out(f"saved to {args.output}")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """``automl worker``: join a search that a fit coordinates through a stored study, run trials until its end."""
    from automl.search.worker import run_worker

    if args.n_jobs < 1:
        raise CommandError(f"--n-jobs {args.n_jobs} must be at least 1")
    ran = run_worker(args.storage, args.study, n_jobs=args.n_jobs, wait=args.wait)
    _out(f"{ran} trials run for study {args.study!r}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """``automl predict``: predictions (or class probabilities) for a table, written to a file or stdout."""
    model = _load(args.model, args.allow_pickle)
    frame = _read(args.data)
    if args.proba:
        if model.task_ == "regression":
            raise CommandError("--proba needs a classifier; this model is a regression")
        out = pd.DataFrame(model.predict_proba(frame), columns=[str(c) for c in model.classes_])
    else:
        out = pd.DataFrame({"prediction": model.predict(frame)})
    if args.output is None:
        out.to_csv(sys.stdout, index=False)
    else:
        from automl.deploy.io import write_table

        write_table(out, args.output)
        logger.info("wrote %d predictions to %s", len(out), args.output)
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    """``automl leaderboard``: the saved leaderboard and what the model file says about itself."""
    from automl.deploy.metadata import leaderboard_of
    from automl.deploy.persist import read_metadata

    meta = read_metadata(args.model)  # the leaderboard is in the metadata: the model itself is not loaded
    if args.json:
        _out(json.dumps({k: meta[k] for k in ("task", "metric", "best_score", "final_model", "leaderboard")}))
        return 0
    _out(f"task: {meta['task']}; metric: {meta['metric']}; cross-validated score: {meta['best_score']}")
    _out(f"final model: {meta['final_model']}; saved {meta['created']} with automl {meta['versions']['automl']}")
    _out()
    _out(_leaderboard_text(leaderboard_of(meta), args.top))
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    """``automl export-onnx``: the model as one ONNX file, checked against the model with ONNX Runtime."""
    model = _load(args.model, args.allow_pickle)
    sample = _read(args.sample) if args.sample else None
    try:
        report = model.to_onnx(args.output, sample, atol=args.atol)
    except ImportError as exc:
        raise CommandError(f"ONNX export needs skl2onnx and onnxruntime: pip install 'automl[onnx]' ({exc})") from None
    _out(str(report))
    _out(f"saved to {args.output}")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """``automl serve``: a REST endpoint for the model (FastAPI under uvicorn)."""
    try:
        from automl.deploy.serve import serve
    except ImportError as exc:
        raise CommandError(f"serving needs FastAPI and uvicorn: pip install 'automl[deploy]' ({exc})") from None
    serve(args.model, host=args.host, port=args.port, workers=args.workers, log_path=args.log, runtime=args.runtime)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    """``automl plugins``: the installed plugins, their distributions and versions, their components, and failures."""
    from automl.registry.inventory import inventory, inventory_text

    data = inventory()
    _out(json.dumps(data) if args.json else inventory_text(data))
    return 0


def cmd_drift(args: argparse.Namespace) -> int:
    """``automl drift``: compare new data (a table or a request log) with the model's training profile."""
    from automl.deploy.drift import drift
    from automl.deploy.io import read_log_predictions

    model = _load(args.model, args.allow_pickle)
    frame = _read(args.data)
    logged = read_log_predictions(args.data)
    report = drift(model, frame, threshold=args.threshold, predictions=logged or None)
    _out(json.dumps(report.to_dict()) if args.json else str(report))
    return EXIT_DRIFT if report.drifted else 0


# -- the parser --------------------------------------------------------------------
def _model_arg(p: argparse.ArgumentParser, loads: bool = True) -> None:
    p.add_argument("model", metavar="MODEL_FILE", help="a model file written by 'automl fit' or AutoML.save")
    if not loads:
        return
    p.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load a model saved with --format joblib (a pickle: only for files you made)",
    )


def _fit_parser(sub: Any) -> None:
    p = sub.add_parser(
        "fit",
        help="fit a model on a table and save it",
        description="Search models for a table under a time budget; save the final model to one file.",
    )
    p.add_argument("data", metavar="DATA", help="the training table: CSV (.csv) or Parquet (.parquet)")
    p.add_argument("--target", "-y", required=True, metavar="COLUMN", help="the column to predict")
    p.add_argument("--output", "-o", required=True, metavar="MODEL_FILE", help="the model file to write")
    p.add_argument(
        "--time-budget", "-t", type=_positive(float, "--time-budget"), default=60.0, metavar="S",
        help="seconds for the whole fit, final refit included (default: 60)",
    )  # fmt: skip
    p.add_argument(
        "--metric", "-m", default="auto", help="metric to optimise, e.g. roc_auc, log_loss, rmse (default: auto)"
    )
    p.add_argument(
        "--task", default="auto", choices=["auto", "binary", "multiclass", "regression", "classification"],
        help="the task (default: inferred from the target)",
    )  # fmt: skip
    p.add_argument("--weight", metavar="COLUMN", help="a column of row weights (sample_weight; not a feature)")
    p.add_argument(
        "--groups", metavar="COLUMN",
        help="a column of group labels: no fold splits a group (not a feature)",
    )  # fmt: skip
    p.add_argument(
        "--time", metavar="COLUMN",
        help="a column of times: folds train on the past and validate on the future (stays a feature)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--n-jobs", type=int, default=-1, help="CPU cores to use (default: all)")
    p.add_argument(
        "--storage", metavar="URL_OR_FILE",
        help="keep the search's study there (sqlite:///search.db, postgresql://..., or a journal file): "
        "run the command again to continue it after a stop",
    )  # fmt: skip
    p.add_argument("--study", metavar="NAME", help="the study's name in --storage (default: automl)")
    p.add_argument(
        "--shared-dir", metavar="DIR",
        help="with --storage: a folder every 'automl worker' can read; the rows are written there as Parquet",
    )  # fmt: skip
    p.add_argument(
        "--format", choices=["skops", "joblib"], default="skops",
        help="skops (safe to share, the default) or joblib (a pickle: only for yourself)",
    )  # fmt: skip
    p.add_argument("--verbose", "-v", type=int, default=1, help="0 silent, 1 improvements (default), 2 every trial")
    p.set_defaults(func=cmd_fit)


def _other_parsers(sub: Any) -> None:
    p = sub.add_parser("predict", help="predict a table with a model file", description=cmd_predict.__doc__)
    _model_arg(p)
    p.add_argument("data", metavar="DATA", help="rows to predict: CSV or Parquet, with the training columns")
    p.add_argument("--output", "-o", metavar="OUT", help="CSV or Parquet file to write (default: CSV on stdout)")
    p.add_argument("--proba", action="store_true", help="write class probabilities, one column per class")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("leaderboard", help="show a model file's leaderboard", description=cmd_leaderboard.__doc__)
    _model_arg(p, loads=False)
    p.add_argument("--top", type=_positive(int, "--top"), default=None, help="show only the best N rows")
    p.add_argument("--json", action="store_true", help="print the metadata and leaderboard as JSON")
    p.set_defaults(func=cmd_leaderboard)

    p = sub.add_parser("export-onnx", help="export a model file to ONNX", description=cmd_export_onnx.__doc__)
    _model_arg(p)
    p.add_argument("--output", "-o", required=True, metavar="OUT.onnx", help="the ONNX file to write")
    p.add_argument(
        "--sample", metavar="DATA",
        help="rows (CSV or Parquet) to check parity on (default: 1,000 rows drawn from the training profile)",
    )  # fmt: skip
    p.add_argument(
        "--atol", type=_positive(float, "--atol"), default=1e-3,
        help="largest difference allowed between the model's and ONNX Runtime's outputs (default: 0.001)",
    )  # fmt: skip
    p.set_defaults(func=cmd_export_onnx)

    p = sub.add_parser("serve", help="serve a model file over REST", description=cmd_serve.__doc__)
    p.add_argument("model", metavar="MODEL_FILE", help="a model file in the safe (skops) format")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--workers", type=_positive(int, "--workers"), default=1, help="server processes (default: 1)")
    p.add_argument("--log", metavar="FILE", help="append every request's rows and predictions to this JSON-lines file")
    p.add_argument(
        "--runtime", choices=("sklearn", "onnx"), default="sklearn",
        help="what predicts: the model itself, exactly (sklearn, the default), or ONNX Runtime on the model "
        "converted and parity-checked at start-up, about ten times faster (onnx; needs automl[onnx])",
    )  # fmt: skip
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser(
        "plugins", help="list the installed plugins and their components", description=cmd_plugins.__doc__
    )
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser(
        "worker", help="run trials of a search shared through a database", description=cmd_worker.__doc__
    )
    p.add_argument(
        "--storage", required=True, metavar="URL", help="the study's database, e.g. postgresql://u:p@host/db"
    )
    p.add_argument("--study", required=True, metavar="NAME", help="the study's name, as the fit gave it")
    p.add_argument("--n-jobs", type=int, default=1, help="trials run at once on this machine (default: 1)")
    p.add_argument(
        "--wait", type=_positive(float, "--wait"), default=60.0,
        help="seconds to retry the database and to wait for the fit to record its data (default: 60)",
    )  # fmt: skip
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("drift", help="check new data for drift", description=cmd_drift.__doc__)
    _model_arg(p)
    p.add_argument("data", metavar="NEW_DATA", help="new rows: CSV, Parquet, or a request log of 'automl serve --log'")
    p.add_argument(
        "--threshold", type=_positive(float, "--threshold"), default=0.25,
        help="population stability index at which a column drifts (default: 0.25)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_drift)


def build_parser() -> argparse.ArgumentParser:
    """The ``automl`` command's argument parser."""
    parser = argparse.ArgumentParser(
        prog="automl",
        description="Fit a model on a table, predict with it, serve it over REST, and check new data for drift.",
        epilog="Example: automl fit train.csv --target price -o model.automl && automl serve model.automl",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _fit_parser(sub)
    _other_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``automl`` command; returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not logging.getLogger().hasHandlers():  # the library's own messages on stderr, others' warnings
        logging.basicConfig(level=logging.WARNING, format="[automl] %(message)s", stream=sys.stderr)
        logger.setLevel(logging.INFO)
    try:
        return args.func(args)
    except BrokenPipeError:  # the reader of stdout went away (automl predict ... | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CommandError, DataError, PluginError, SearchFailedError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        sys.stderr.write(f"automl {args.command}: error: {message}\n")
        return EXIT_ERROR
    except KeyboardInterrupt:
        sys.stderr.write(f"automl {args.command}: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
