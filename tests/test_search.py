"""automl.search.Search: how much time a trial gets, and what the final refit is planned around."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_budget import FakeClock

from automl.budget import Budget
from automl.evaluation.cross_validation import Problem
from automl.evaluation.metrics import resolve_metric
from automl.registry import collect_components, get_plugin_manager
from automl.search.loop import Search, SearchSettings
from automl.search.pacing import RunningTrial
from automl.search.plan import Prefit
from automl.search.trial import TrialConfig, TrialResult


@pytest.fixture(scope="module")
def rmse():
    return resolve_metric("rmse", "regression", collect_components(get_plugin_manager(entry_points=False)).metrics)


def make_search(rmse, budget_seconds=60.0, ensemble=True, n_folds=2, repeats=1):
    rng = np.random.default_rng(0)
    y = rng.normal(size=100)
    splits = []
    for _ in range(repeats):
        parts = np.array_split(rng.permutation(100) if splits else np.arange(100), n_folds)
        splits += [(np.setdiff1d(np.arange(100), part), part) for part in parts]
    problem = Problem(
        X=pd.DataFrame({"a": y}), y=y, y_codes=y, classes=None, splits=splits, metric=rmse, task="regression"
    )
    clock = FakeClock(0.0)
    search = Search(
        space=None,
        builder=None,
        problem=problem,
        budget=Budget(budget_seconds, clock=clock),
        pool=None,
        settings=SearchSettings(n_workers=2, seed=0, ensemble=ensemble),
    )
    return search, clock, y


def result(number, model, status="ok", duration=1.0, scores=(1.0, 1.0), oof=None):
    config = TrialConfig(model=model, model_params={}, preprocessing={})
    return TrialResult(
        number=number,
        config=config,
        status=status,
        fold_scores=list(scores) if status == "ok" else [],
        fit_seconds=duration,
        oof=oof,
        duration=duration,
    )


def test_before_any_success_a_trial_may_use_all_the_time_left(rmse):
    search, _, _ = make_search(rmse)
    search.results[:] = [result(0, "slow", status="timeout", duration=20.0)]
    assert search.pacing.cap("slow", 40.0) == np.inf


def test_a_model_not_tried_yet_gets_a_few_times_what_the_others_needed(rmse):
    search, _, _ = make_search(rmse, budget_seconds=60.0)
    search.results[:] = [result(0, "fast", duration=2.0), result(1, "fast", duration=2.0)]
    assert search.pacing.cap("forest", 50.0) == pytest.approx(10.0)  # 5 x the typical 2 s
    assert search.pacing.cap("fast", 50.0) == pytest.approx(30.0)  # half the budget once it has succeeded


def test_an_unproven_model_runs_one_trial_at_a_time(rmse):
    search, _, _ = make_search(rmse, budget_seconds=60.0)
    search.results[:] = [result(0, "fast", duration=1.0)]
    assert search.pacing.cap("forest", 50.0, running=1) is None
    assert search.pacing.cap("fast", 50.0, running=1) == pytest.approx(30.0)


def test_a_model_that_only_timed_out_gets_twice_its_longest_attempt_while_time_is_plenty(rmse):
    search, _, _ = make_search(rmse, budget_seconds=60.0)
    search.results[:] = [result(0, "fast", duration=1.0), result(1, "forest", status="timeout", duration=6.0)]
    assert search.pacing.cap("forest", 50.0) == pytest.approx(12.0)
    # 12 s would be more than a quarter of the 40 s left: not started
    assert search.pacing.cap("forest", 40.0) is None


def test_a_model_that_needs_more_than_the_time_left_is_not_started(rmse):
    search, _, _ = make_search(rmse, budget_seconds=60.0)
    search.results[:] = [result(0, "slow", duration=10.0)]
    assert search.pacing.cap("slow", 9.0) is None  # 10 s needed, 9 s left
    assert search.pacing.cap("slow", 11.0) == pytest.approx(30.0)  # tight, but it may finish


def running(job, started, kill_at, folds):
    config = TrialConfig(model="forest", model_params={}, preprocessing={})
    return RunningTrial(job, None, config, started, kill_at, list(folds))


def test_a_trial_near_its_last_fold_may_finish_past_its_limit(rmse):
    search, clock, _ = make_search(rmse, budget_seconds=60.0, n_folds=5)
    clock.t = 12.0
    r = running(0, started=0.0, kill_at=13.0, folds=[1.0] * 4)  # 3 s a fold, one fold left
    search.pacing.let_finish(r)
    assert r.kill_at == pytest.approx(12.0 + 1.2 * 3.0)


def test_a_trial_with_many_folds_left_keeps_its_limit(rmse):
    search, clock, _ = make_search(rmse, budget_seconds=60.0, n_folds=5)
    clock.t = 3.0
    r = running(0, started=0.0, kill_at=6.0, folds=[1.0])  # 4 folds of 3 s left: more than 10% of 60 s
    search.pacing.let_finish(r)
    assert r.kill_at == 6.0
    # a trial already within its limit is left alone
    clock.t = 4.0
    r = running(1, started=0.0, kill_at=30.0, folds=[1.0] * 4)
    search.pacing.let_finish(r)
    assert r.kill_at == 30.0


def test_the_plan_holds_the_best_and_the_likely_ensemble_members(rmse):
    search, clock, y = make_search(rmse)
    low, high = y - 0.5, y + 0.5  # each 0.5 off; their average is exact
    search.results[:] = [
        result(0, "a", scores=(0.5, 0.5), oof=low),
        result(1, "b", scores=(0.5001, 0.5001), oof=high),
        result(2, "c", scores=(2.0, 2.0), oof=y + 2.0),
    ]
    search.plan.update()
    assert [r.number for r in search.plan.trials] == [0, 1]


def test_without_an_ensemble_the_plan_is_the_best_alone(rmse):
    search, _, y = make_search(rmse, ensemble=False)
    search.results[:] = [
        result(0, "a", scores=(0.5, 0.5), oof=y - 0.5),
        result(1, "b", scores=(0.5001, 0.5001), oof=y + 0.5),
    ]
    search.plan.update()
    assert [r.number for r in search.plan.trials] == [0]


def test_the_search_stops_early_enough_to_refit_the_planned_members(rmse):
    search, clock, y = make_search(rmse, budget_seconds=60.0)
    search.results[:] = [
        result(0, "a", scores=(0.5, 0.5), oof=y - 0.5, duration=4.0),
        result(1, "b", scores=(0.5001, 0.5001), oof=y + 0.5, duration=4.0),
    ]
    search.results[0].fit_seconds = search.results[1].fit_seconds = 4.0  # 2 s per fold on half the rows
    best_alone = search.plan.refit_estimate(search.results[0], threads=2)  # the best is refit on both cores
    member = search.plan.refit_estimate(search.results[1])  # the others on one core each
    assert best_alone < member
    search.plan.update()
    # two members refit in parallel on two workers: as long as one of them, with
    # the margin the final refit asks for
    assert search.plan.search_end() == pytest.approx(60.0 - member / 0.9 - 1.2)
    search.plan.running = Prefit(None, 1, search.budget.now() - 2.0)  # refitting on the spare worker for 2 s
    assert search.plan.search_end() == pytest.approx(60.0 - (member + member - 2.0) / 2 / 0.9 - 1.2)
    search.plan.running = None
    search.plan.prefit[0] = object()  # refitted already on the spare worker
    # the other member alone would need 6.3 s, but an ensemble may cost the search
    # only 10% of the budget more than the best pipeline (0 s now): what does not
    # fit is cut from the ensemble at the end
    assert member > 6.0
    assert search.plan.search_end() == pytest.approx(60.0 - 6.0 - 1.2)
    search.plan.prefit[1] = object()
    assert search.plan.search_end() == pytest.approx(60.0 - 0.3 - 1.2)


def test_refit_estimates_learn_from_the_refits_done_during_the_search(rmse):
    search, _, _ = make_search(rmse)
    r = result(0, "a", duration=4.0)
    r.fit_seconds = 4.0  # 2 s per fold on half the rows: 4 s nominal on all of them
    assert search.plan.refit_estimate(r) == pytest.approx(0.3 + 1.5 * 4.0)  # the safety factor, untested
    assert search.plan.refit_estimate(r, threads=2) == pytest.approx(0.3 + 1.5 * 4.0 / 1.3)  # on two cores
    search.plan.ratios = [0.5]  # refits took half their nominal time
    assert search.plan.refit_estimate(r) == pytest.approx(0.3 + 1.0 * 4.0)  # never below nominal
    search.plan.ratios = [0.5, 2.0]
    assert search.plan.refit_estimate(r) == pytest.approx(0.3 + 1.8 * 4.0)  # near the slowest seen
    search.plan.ratios = [1.2, 1.3, 1.4, 1.5]
    assert search.plan.refit_estimate(r) == pytest.approx(0.3 + 1.15 * 1.35 * 4.0)  # above the typical one


def test_a_trial_that_cannot_finish_within_its_limit_stops_after_a_fold(rmse):
    search, clock, _ = make_search(rmse, budget_seconds=60.0, n_folds=5)
    clock.t = 4.0
    r = running(0, started=0.0, kill_at=10.0, folds=[1.0])  # 4 folds of 4 s left, 6 s allowed
    assert not search.pacing.can_finish(r, search.plan.search_end())
    assert r.needed == pytest.approx(20.0)
    assert "1 of 5 folds" in r.stopped and "per-trial time limit" in r.stopped
    # the next attempt of this model gets twice what this one needed, not twice the 4 s it ran
    search.results[:] = [result(0, "fast", duration=1.0)]
    search.results.append(TrialResult(number=1, config=r.config, status="timeout", duration=4.0, needed=r.needed))
    assert search.pacing.cap("forest", 50.0) is None  # 40 s would be most of the 50 s left
    assert search.pacing.cap("forest", 200.0) == pytest.approx(30.0)  # capped at half the budget


def test_a_trial_that_cannot_finish_its_repeated_folds_is_kept_after_a_whole_pass(rmse):
    search, clock, _ = make_search(rmse, budget_seconds=60.0, n_folds=5, repeats=2)
    clock.t = 42.0
    # 2 s a fold: 8 folds left need 16 s, past the search's end, but the pass (3 more folds) fits
    r = running(0, started=38.0, kill_at=70.0, folds=[1.0, 1.0])
    end = search.plan.search_end()
    assert 42.0 + 16.0 > end > 42.0 + 1.2 * 6.0
    assert search.pacing.can_finish(r, end) and not r.stopped
    clock.t = 48.0
    r.folds += [1.0] * 3  # the pass is done: stopped, and its folds are kept
    assert not search.pacing.can_finish(r, end)
    assert r.keep and "5 of 10 folds" in r.stopped
    # one that cannot finish even the pass is stopped with nothing kept
    r = running(1, started=30.0, kill_at=70.0, folds=[1.0])
    assert not search.pacing.can_finish(r, end) and not r.keep


def test_a_trial_that_would_end_after_the_search_stops_after_a_fold(rmse):
    search, clock, _ = make_search(rmse, budget_seconds=60.0, n_folds=5)
    clock.t = 50.0
    r = running(0, started=40.0, kill_at=70.0, folds=[1.0, 1.0])  # 3 folds of 5 s left at 50 s of 60
    assert not search.pacing.can_finish(r, search.plan.search_end())
    assert "end of the search" in r.stopped
    # one short fold left: it goes on
    r = running(1, started=46.0, kill_at=70.0, folds=[1.0] * 4)
    assert search.pacing.can_finish(r, search.plan.search_end())
