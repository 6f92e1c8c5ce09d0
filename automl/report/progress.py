"""The progress bar of a fit: elapsed time against the budget, trials by status, the best so far.

``tqdm.auto`` draws it: a widget in Jupyter (with ``ipywidgets``), text in a
terminal. The search only records what happened (:meth:`ProgressBar.trial`
returns at once); a thread redraws the bar a few times a second, so a long
trial still shows the clock moving and the search pays nothing for drawing.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

#: seconds between two redraws
REFRESH_SECONDS = 0.5
_STATUS_ORDER = ("ok", "pruned", "timeout", "failed")


class ProgressBar:
    """A progress bar that follows one fit; see :func:`progress_bar`.

    Parameters
    ----------
    time_budget : float or None
        The fit's budget in seconds; the bar counts seconds against it. None:
        the bar counts trials against ``max_trials``.
    max_trials : int or None
        The fit's trial limit.
    metric : str
        The metric's name, shown beside the best score.
    file : file-like or None
        Where a text bar is written (default: stderr).
    """

    def __init__(self, time_budget: float | None, max_trials: int | None, metric: str = "score", file: Any = None):
        from tqdm.auto import tqdm

        self.by_time = time_budget is not None
        self.metric = metric
        self.counts: Counter[str] = Counter()
        self.best: tuple[float, str] | None = None
        self.phase_name = "search"
        self.outcome: str | None = None
        self._start = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        total = float(time_budget) if time_budget is not None else max_trials
        unit = " s" if self.by_time else " trials"
        fmt = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f}" + unit + "{postfix}"  # tqdm adds ", "
        self.bar = tqdm(total=total, desc="automl", bar_format=fmt, file=file, dynamic_ncols=True, leave=True)
        self._thread = threading.Thread(target=self._run, name="automl-progress", daemon=True)
        self._thread.start()

    # -- what the search tells it (ProgressListener) ---------------------------------
    def trial(self, status: str, model: str, best: float | None) -> None:
        """Record a finished trial; ``best`` is its score when it is the best so far."""
        with self._lock:
            self.counts[status] += 1
            if best is not None:
                self.best = (best, model)

    def phase(self, name: str) -> None:
        """Record that the fit moved on to ``name`` (e.g. ``"final refit"``)."""
        with self._lock:
            self.phase_name = name

    def finished(self, model: str, score: float) -> None:
        """Record the final model and its cross-validated score, which the closed bar shows."""
        with self._lock:
            self.outcome = f"final {model} {self.metric} {score:.5g}"

    # -- drawing ------------------------------------------------------------------------
    def postfix(self) -> str:
        """The text after the bar: trials by status, the best score with its model, the phase."""
        with self._lock:
            counts, best, phase, outcome = dict(self.counts), self.best, self.phase_name, self.outcome
        done = sum(counts.values())
        by_status = ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s))
        if self.by_time:
            text = f"{done} trials" + (f" ({by_status})" if by_status else "")
        else:  # the bar itself counts the trials
            text = by_status or "no trial finished yet"
        if outcome is not None:
            text += f", {outcome}"
        elif best is not None:
            text += f", best {self.metric} {best[0]:.5g} ({best[1]})"
        if phase != "search":
            text += f", {phase}"
        return text

    def _position(self) -> float:
        if self.by_time:
            return min(time.monotonic() - self._start, self.bar.total)
        return float(sum(self.counts.values()))

    def _draw(self) -> None:
        self.bar.n = self._position()
        self.bar.set_postfix_str(self.postfix(), refresh=False)
        self.bar.refresh()

    def _run(self) -> None:
        while not self._stop.wait(REFRESH_SECONDS):
            with contextlib.suppress(Exception):  # a drawing error must never reach the fit
                self._draw()

    def close(self, ok: bool = True) -> None:
        """Stop redrawing and close the bar: full when the fit succeeded, where it stood when it did not."""
        self._stop.set()
        self._thread.join()
        self.phase_name = "done" if ok else "stopped"
        if ok:
            self.bar.total = self._position() or 1
        self._draw()
        self.bar.close()


@contextlib.contextmanager
def progress_bar(
    verbose: int, time_budget: float | None, max_trials: int | None, metric: str = "score"
) -> Iterator[ProgressBar | None]:
    """A :class:`ProgressBar` for one fit, closed however the fit ends; None when ``verbose`` is 0.

    While the bar shows in a terminal, the library's log lines are written
    above it (``tqdm.contrib.logging``) rather than through it.
    """
    if verbose <= 0:
        yield None
        return
    from tqdm.contrib.logging import logging_redirect_tqdm

    bar = ProgressBar(time_budget, max_trials, metric)
    ok = False
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger("automl")]):
            yield bar
        ok = True
    finally:
        bar.close(ok)


__all__ = ["REFRESH_SECONDS", "ProgressBar", "progress_bar"]
