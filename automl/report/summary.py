"""What a fitted ``AutoML`` says about itself: a text summary for terminals, an HTML one for notebooks."""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

#: leaderboard columns the summaries show
BOARD_COLUMNS = ["rank", "model", "preprocessing", "score_mean", "score_std", "fit_s", "status"]
#: leaderboard rows the summaries show
TOP = 5
_STATUS_ORDER = ("ok", "pruned", "timeout", "failed")


def facts(automl: Any) -> list[tuple[str, str]]:
    """The summary as (label, value) pairs: task, metric, best score, final model, time, trials."""
    best = automl.best_score_
    board = automl.leaderboard_
    best_rows = board[board["rank"] == 1] if "rank" in board else board.iloc[:0]
    first = best_rows.iloc[0] if len(best_rows) else None
    score = "no pipeline finished (fallback baseline)"
    if first is not None and np.isfinite(best):
        score = f"{best:.5g} ± {first['score_std']:.2g} over {first['n_folds']} folds (out of fold)"
    budget = automl.time_budget
    used = getattr(automl, "fit_seconds_", float("nan"))
    time_text = f"{used:.1f} s" + (f" of a {budget:g} s budget" if budget is not None else "")
    rows = [
        ("task", str(automl.task_)),
        ("metric", f"{automl.metric_} ({direction(automl)})"),
        ("best score", score),
        ("final model", final_model(automl)),
        ("time", time_text),
        ("trials", trial_counts(automl)),
    ]
    baselines = references(automl)
    if baselines:
        rows.append(("baselines", baselines))
    if getattr(automl, "threshold_", None) is not None:
        rows.append(("decision threshold", f"{automl.threshold_:.3g} on the positive class's probability"))
    return rows


def references(automl: Any) -> str:
    """The leaderboard's reference rows in words: ``"constant predictor (class prior) 0.5, untuned default ..."``."""
    board = automl.leaderboard_
    if "baseline" not in board:  # a model saved before the leaderboard had references
        return ""
    refs = board[board["status"] == "baseline"]
    return ", ".join(f"{row.baseline}: {row.model} {row.score_mean:.5g}" for row in refs.itertuples())


def direction(automl: Any) -> str:
    """``"greater is better"`` or ``"lower is better"``, by the fit's metric."""
    metric = getattr(automl, "_metric", None)
    if metric is None:
        return "metric not available here"
    return "greater is better" if metric.greater_is_better else "lower is better"


def final_model(automl: Any) -> str:
    """The final model in words: one pipeline and its trial, or an ensemble's members with their weights."""
    trials = {r.number: r for r in getattr(automl, "trials_", [])}
    last = automl.trials_[-1] if getattr(automl, "trials_", None) else None
    if last is not None and last.members:
        parts = [
            f"{trials[int(n)].model if int(n) in trials else '?'} (trial {n}) {w:.2f}"
            for n, w in sorted(last.members.items(), key=lambda item: -item[1])
        ]
        return f"ensemble of {len(parts)}: " + ", ".join(parts)
    config = getattr(automl, "best_config_", None)
    if config is None:
        return "linear baseline (no trial finished in time)"
    number = next((r.number for r in getattr(automl, "trials_", []) if r.config is config), None)
    trial = f", trial {number}" if number is not None else ""
    return f"{config.model} with {config.describe_preprocessing()}{trial}"


def trial_counts(automl: Any) -> str:
    """``"23: 18 ok, 3 pruned, 2 failed"`` (ensembles are not trials)."""
    board = automl.leaderboard_  # a loaded model has its leaderboard, not its trials_
    counts = Counter(board.loc[board["trial"].notna(), "status"])
    parts = [f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s)]
    return f"{sum(counts.values())}" + (": " + ", ".join(parts) if parts else "")


def top_of_board(automl: Any, n: int = TOP) -> pd.DataFrame:
    """The first ``n`` rows of the leaderboard, in the summary's columns."""
    return automl.leaderboard_.head(n)[BOARD_COLUMNS]


def summary_text(automl: Any) -> str:
    """The fitted estimator in plain text, for ``repr`` in a terminal."""
    name = type(automl).__name__
    width = max(len(label) for label, _ in facts(automl))
    lines = [f"{name} (fitted)"]
    lines += [f"  {label:<{width}}  {value}" for label, value in facts(automl)]
    board = top_of_board(automl).to_string(index=False, float_format=lambda v: f"{v:.5g}")
    lines.append(f"  top of the leaderboard ({len(automl.leaderboard_)} rows in leaderboard_):")
    lines += ["    " + line for line in board.splitlines()]
    return "\n".join(lines)


def summary_html(automl: Any) -> str:
    """The fitted estimator as an HTML fragment, for notebooks and the report."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(label)}</th>"
        f"<td style='text-align:left'>{html.escape(value)}</td></tr>"
        for label, value in facts(automl)
    )
    board = top_of_board(automl).to_html(index=False, float_format=lambda v: f"{v:.5g}", border=0, na_rep="")
    return (
        f"<div class='automl-summary'><strong>{html.escape(type(automl).__name__)}</strong> (fitted)"
        f"<table>{rows}</table>"
        f"<p>Top of the leaderboard ({len(automl.leaderboard_)} rows in <code>leaderboard_</code>):</p>"
        f"{board}</div>"
    )


__all__ = ["direction", "facts", "final_model", "summary_html", "summary_text", "top_of_board", "trial_counts"]
