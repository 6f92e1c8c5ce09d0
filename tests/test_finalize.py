"""The final refit: which pipelines it can afford when the whole ensemble cannot be refit in time; reading them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from automl import AutoML
from automl.search import finalize
from automl.search.finalize import _affordable, _refit_need
from automl.workers import pool
from automl.workers.protocol import FittedFile
from automl.workers.zygote import forked


def trial(number: int) -> SimpleNamespace:
    return SimpleNamespace(number=number)


def search_with(costs: dict[int, float], prefit: set[int]) -> SimpleNamespace:
    return SimpleNamespace(prefit=dict.fromkeys(prefit), refit_estimate=lambda r: costs[r.number])


def test_members_the_ensemble_weighs_most_come_before_the_quickest_others():
    ranked = [trial(i) for i in range(6)]
    costs = {0: 5.0, 1: 1.0, 2: 6.0, 3: 4.0, 4: 0.5, 5: 0.5}
    search = search_with(costs, prefit={1})
    wanted = [ranked[2], ranked[3]]  # heaviest weight first; 2 alone needs 6 s, too long
    chosen = _affordable(search, ranked, ranked[0], n_workers=2, seconds=5.0, wanted=wanted)
    # the best and the prefit ones always; member 3 (4 s) fits, member 2 does not;
    # then the quickest others while two workers finish within 5 s
    assert chosen == {0, 1, 3, 4, 5}


def test_what_is_chosen_needs_no_more_time_than_given():
    ranked = [trial(i) for i in range(5)]
    costs = {0: 1.0, 1: 3.0, 2: 3.0, 3: 3.0, 4: 3.0}
    search = search_with(costs, prefit=set())
    chosen = _affordable(search, ranked, ranked[0], n_workers=2, seconds=3.0, wanted=ranked[1:])
    ens = SimpleNamespace(members=[r for r in ranked if r.number in chosen])
    # one refit alone takes all its time, not half of it on two workers
    assert _refit_need(search, ens, ranked[0], n_workers=2) <= 3.0
    assert chosen == {0, 1, 2}


@pytest.mark.parametrize("big", [True, False])
def test_a_big_final_model_is_read_after_the_idle_workers_are_let_go(monkeypatch, breast_cancer, big):
    if big:
        monkeypatch.setattr(finalize, "BIG_MODEL_BYTES", 0)  # every final model counts as big
    events, pools = [], []
    read, free_idle = FittedFile.load, pool.WorkerPool.free_idle

    def load(self):
        workers = [w for p in pools for w in p.workers]  # the fit's pool (other tests' pools may hold idle ones)
        events.append(("read", sum(not w.busy and forked(w.proc) for w in workers)))
        return read(self)

    def let_go(self):
        pools.append(self)
        events.append(("let go", free_idle(self)))
        return events[-1][1]

    monkeypatch.setattr(FittedFile, "load", load)
    monkeypatch.setattr(pool.WorkerPool, "free_idle", let_go)
    X, y = breast_cancer
    model = AutoML(time_budget=6, max_trials=4, n_jobs=2, random_state=0, verbose=0).fit(X, y)

    reads = [idle for kind, idle in events if kind == "read"]
    assert reads, "the final model was never read from its files"
    if big:  # the workers left idle go before the final model's last file is read (earlier reads may
        # overlap refits still queued for them)
        assert events[-2][0] == "let go" and events[-1] == ("read", 0)
    else:  # a small model: the workers stay warm for the next fit
        assert not [e for e in events if e[0] == "let go"]
    assert model.score(X, y) > 0.9
