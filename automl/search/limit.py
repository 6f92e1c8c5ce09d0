"""The latency limit, ``AutoML(infer_limit=...)``: which pipelines and ensembles may be the final model.

Trials measure the single-row latency of their first fold's model when a limit
is set. Only pipelines measured within the limit may be the final model or an
ensemble's members, and an ensemble's members together must fit it: the
member that costs the most time per unit of weight gives way until they do.
The final model, refit on all rows, is measured again (by the worker that
refit it) before it is kept (:func:`automl.search.finalize.finalize`).
"""

from __future__ import annotations

import logging
import math
import warnings
from typing import Any

from automl.evaluation.cross_validation import Problem
from automl.search.selection import Blend, ensemble_result
from automl.search.trial import TrialResult

logger = logging.getLogger(__name__)


def within_limit(ranked: list[TrialResult], limit: float) -> list[TrialResult]:
    """The trials measured within ``limit`` seconds per row, best first; if none, the fastest one, with a warning."""
    ok = [r for r in ranked if r.row_seconds is not None and r.row_seconds <= limit]
    if ok or not ranked:
        logger.info("infer_limit %s: %d of %d pipelines predict a row within it", ms(limit), len(ok), len(ranked))
        return ok
    measured = [r for r in ranked if r.row_seconds is not None]
    fastest = min(measured, key=lambda r: r.row_seconds) if measured else ranked[0]
    warnings.warn(
        f"no pipeline predicts a row within infer_limit={limit!r}s; using the fastest measured, "
        f"trial {fastest.number} ({fastest.model}, {ms(fastest.row_seconds)} per row)",
        RuntimeWarning,
        stacklevel=2,
    )
    return [fastest]


def light_blend(
    ranked: list[TrialResult],
    problem: Problem,
    limit: float,
    allowed: set[int] | None = None,
    **kwargs: Any,
) -> Blend | None:
    """The best ensemble of ``ranked`` (trials within the limit) whose members' latencies add up to at most ``limit``.

    The sum over members is what an ensemble costs when its members share
    nothing; members refit on the same rows share their cleaning, so the
    ensemble measured after its refit is usually faster.
    """
    allowed = {r.number for r in ranked} if allowed is None else set(allowed)
    while True:
        blend = ensemble_result(ranked, problem, allowed=allowed, **kwargs)
        if blend is None:
            return None
        total = blend_seconds(blend)
        if total <= limit:
            return blend
        heaviest = max(zip(blend.weights, blend.members, strict=True), key=lambda wm: wm[1].row_seconds / wm[0])[1]
        allowed.discard(heaviest.number)


def blend_seconds(blend: Blend) -> float:
    """Seconds per row of an ensemble whose members share nothing: the sum of theirs."""
    return float(sum(m.row_seconds if m.row_seconds is not None else math.inf for m in blend.members))


def report_cost(problem: Problem, final: TrialResult | None, unconstrained: TrialResult | None, limit: float) -> None:
    """Log what the limit costs out of fold: the final model's score beside the best without the limit."""
    if final is None or unconstrained is None:
        return
    metric = problem.metric
    cost = metric.objective(unconstrained.mean) - metric.objective(final.mean)
    logger.info(
        "infer_limit %s: the final model (%s, %s per row) scores %s %.5g out of fold; without the limit, "
        "%s scores %.5g: the limit costs %.4g",
        *(ms(limit), describe(final), ms(final.row_seconds), metric.name, final.mean),
        *(describe(unconstrained), unconstrained.mean, max(cost, 0.0)),
    )


def describe(r: TrialResult) -> str:
    """``"trial 12 (lightgbm)"`` or ``"an ensemble of 4"``."""
    return f"an ensemble of {len(r.members)}" if r.members else f"trial {r.number} ({r.model})"


def ms(seconds: float | None) -> str:
    """Seconds as milliseconds, for the log."""
    return "?" if seconds is None else f"{1e3 * seconds:.3g} ms"


__all__ = ["blend_seconds", "describe", "light_blend", "ms", "report_cost", "within_limit"]
