"""``AutoML.report(path)``: one self-contained HTML file a person can send.

Every image is a PNG embedded as a data URI, the style sheet is inline and
there is no script, so the file renders offline and fetches nothing.
"""

from __future__ import annotations

import base64
import datetime
import html
import importlib.util
import io
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from automl.report.explain import EXTRA as SHAP_EXTRA
from automl.report.fairness import gap_table, last_group_report
from automl.report.plots import PLOTS, Plots
from automl.report.summary import facts

logger = logging.getLogger("automl")
#: a leaderboard error longer than this is cut in the report (the leaderboard keeps it whole)
ERROR_CHARS = 140

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 72em;
       color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; font-size: .9em; margin: .5em 0; }
th, td { padding: .25em .6em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.board td:last-child { min-width: 24em; }
.plots { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figure img { width: 30em; max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; }
.note { color: #555; font-size: .9em; } .warning { color: #8a5300; }
tr.few th, tr.few td { background: #fff4e0; } td.flag { color: #8a5300; font-weight: 600; }
"""


def write_report(automl: Any, path: Any) -> Path:
    """Write the HTML report of a fitted ``automl`` to ``path`` (replaced atomically) and return the path.

    Raises
    ------
    OSError
        When ``path`` cannot be written; the message names it.
    """
    path = Path(path)
    _check_writable(path)
    groups = last_group_report(automl)
    sections = [
        _section("Summary", _facts_table(automl)),
        _section("Leaderboard", _leaderboard(automl)),
        _section("Plots", _plots(automl)),
        _section("Explanation", _explanation(automl)),
        _section("Groups", _groups(groups)) if groups is not None else "",
        _section("Data", _data(automl)),
        _section("Warnings", _warnings(automl)),
    ]
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"automl report: {automl.task_}, {automl.metric_}"
    page = (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='note'>Written {when} by automl. Scores are cross-validated "
        "(out of fold): every plot of the final model shows predictions on rows it was not trained on.</p>"
        + "".join(sections)
        + "</body></html>\n"
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    logger.info("report written to %s", path)
    return path


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise IsADirectoryError(f"cannot write the report to {str(path)!r}: it is a directory; name an .html file")
    parent = path.parent
    if not parent.is_dir():
        raise FileNotFoundError(f"cannot write the report to {str(path)!r}: the folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(f"cannot write the report to {str(path)!r}: permission denied")


def _section(title: str, body: str) -> str:
    return f"<section><h2>{html.escape(title)}</h2>{body}</section>"


def _facts_table(automl: Any) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts(automl))
    return f"<table>{rows}</table>"


def _frame(frame: pd.DataFrame, **kwargs: Any) -> str:
    return frame.to_html(border=0, na_rep="", float_format=lambda v: f"{v:.5g}", **kwargs)


def _leaderboard(automl: Any, top: int = 30) -> str:
    board = automl.leaderboard_.drop(columns=["params"]).head(top)
    board["error"] = board["error"].map(lambda e: e if len(e) <= ERROR_CHARS else e[: ERROR_CHARS - 1] + "…")
    board = board.astype(object).where(board.notna(), "")
    note = (
        f"<p class='note'>The first {top} of {len(automl.leaderboard_)} rows.</p>"
        if len(automl.leaderboard_) > top
        else ""
    )
    return note + _frame(board, index=False, classes="board")


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(name: str, draw: Any) -> str:
    """One plot as an embedded PNG, or a note saying why it could not be drawn."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8))
    try:
        draw(figure.add_subplot())
    except Exception as exc:  # a plot that cannot be drawn costs a note, never the report
        logger.warning("report: the %s plot was not drawn: %s", name, exc)
        return f"<p class='note warning'>{html.escape(name)}: not drawn ({html.escape(str(exc))})</p>"
    caption = name.replace("_", " ")
    return (
        f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{_png(figure)}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _plots(automl: Any) -> str:
    plots = Plots(automl)
    names = [n for n in PLOTS[automl.task_] if n != "importance"]  # importance goes with the explanation
    note = ""
    if importlib.util.find_spec("shap") is None:
        names.remove("shap")
        note = f"<p class='note'>No SHAP summary: {html.escape(SHAP_EXTRA)} adds it.</p>"
    figures = "".join(_figure(n, lambda ax, n=n: plots(n, ax=ax)) for n in names)
    return f"<div class='plots'>{figures}</div>{note}"


def _explanation(automl: Any) -> str:
    try:
        table = automl.explain()
    except Exception as exc:  # e.g. a loaded model without its training table
        return f"<p class='note warning'>No explanation: {html.escape(str(exc))}</p>"
    plots = Plots(automl)  # draws the cached explanation

    text = (
        "<p class='note'>Permutation importance: how much the metric drops on held-out rows when a column's "
        "values are shuffled (mean and spread over repeats), for the columns as you gave them.</p>"
    )
    return text + _figure("importance", lambda ax: plots.importance(ax=ax)) + _frame(table)


def _groups(frame: pd.DataFrame) -> str:
    """The last group report: what it shows, the metric by group, the table with small groups marked, the gaps."""
    attrs = frame.attrs
    metric, min_rows = attrs["metric"], attrs["min_rows"]
    direction = "greater is better" if attrs["greater_is_better"] else "lower is better"
    text = (
        f"<p class='note'>{html.escape(attrs['description'])} Grouped by {html.escape(', '.join(attrs['sensitive']))}; "
        f"the fit's metric is {html.escape(metric)} ({direction}). Groups with fewer than {min_rows} rows are "
        "marked: their numbers are noisy, and the gaps include them.</p>"
    )
    column = metric if metric in frame.columns else next(c for c in frame.columns if c != "rows")
    figure = _figure(f"{column}_by_group", lambda ax: _group_bars(ax, frame, column))
    notes = "".join(f"<li class='warning'>{html.escape(n)}</li>" for n in attrs.get("notes", []))
    gaps = "<h3>Gaps between groups</h3>" + _frame(gap_table(frame))
    return text + figure + _group_table(frame) + gaps + (f"<ul>{notes}</ul>" if notes else "")


def _group_table(frame: pd.DataFrame) -> str:
    """The groups as an HTML table; a group with few rows is shaded and says so."""
    flag = f"fewer than {frame.attrs['min_rows']} rows"
    levels = [str(n) for n in frame.index.names]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [*levels, *map(str, frame.columns)])
    body = []
    for key, row in frame.iterrows():
        keys = key if isinstance(key, tuple) else (key,)
        cells = "".join(f"<th>{html.escape(str(k))}</th>" for k in keys)
        for name, value in row.items():
            if name == "few_rows":
                cells += f"<td class='flag'>{flag}</td>" if value else "<td></td>"
            else:
                cells += f"<td class='num'>{'' if pd.isna(value) else f'{value:.5g}'}</td>"
        body.append(f"<tr class='few'>{cells}</tr>" if row["few_rows"] else f"<tr>{cells}</tr>")
    return f"<table class='groups'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _group_bars(ax: Any, frame: pd.DataFrame, column: str) -> None:
    """The metric of each group as a bar (pale for a group with few rows), the value on all rows as a line."""
    labels = [" / ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in frame.index]
    colors = ["#f0c27b" if few else "#4c72b0" for few in frame["few_rows"]]
    ax.bar(range(len(frame)), frame[column].to_numpy(dtype=float), color=colors)
    ax.axhline(frame.attrs["overall"][column], color="#333", linestyle="--", linewidth=1, label="all rows")
    ax.set_xticks(
        range(len(frame)), labels, rotation=45 if len(frame) > 4 else 0, ha="right" if len(frame) > 4 else "center"
    )
    ax.set_ylabel(column)
    ax.set_title(f"{column} by group ({', '.join(frame.attrs['sensitive'])})")
    ax.legend(loc="lower right")


def _data(automl: Any) -> str:
    table = automl.data_profile_["table"]
    rows = []
    for name, column in table["columns"].items():
        shown = {"column": name, "kind": column.get("kind"), "dtype": column.get("dtype")}
        shown["missing"] = f"{100 * float(column.get('missing', 0.0)):.1f}%"
        shares = column.get("shares")
        shown["values"] = f"{len(shares)} most frequent kept" if isinstance(shares, dict) else ""
        rows.append(shown)
    intro = f"<p class='note'>{table['n_rows']} training rows with a target, {len(rows)} columns.</p>"
    return intro + _frame(pd.DataFrame(rows), index=False)


def _warnings(automl: Any) -> str:
    lines = getattr(automl, "fit_warnings_", [])
    if not lines:
        return "<p class='note'>The fit raised no warning.</p>"
    return "<ul>" + "".join(f"<li class='warning'>{html.escape(line)}</li>" for line in lines) + "</ul>"


__all__ = ["write_report"]
