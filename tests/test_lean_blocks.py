"""A big LightGBM model's batches, block of trees by block, give exactly ``Booster.predict``'s values."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from automl import lean_blocks
from automl.lean import lightgbm_op
from automl.lean_blocks import LeafBlocks, _blocks


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few trees, from models of any size and batches of any length."""
    monkeypatch.setattr(lean_blocks, "BLOCK_LEAVES", 40)
    monkeypatch.setattr(lean_blocks, "MIN_LEAVES", 0)


def _table(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[:, 4] = rng.integers(0, 6, size=n)  # a categorical column, as codes
    X[rng.random((n, 5)) < 0.1] = np.nan
    y = np.nan_to_num(X[:, 0]) * 2.0 + np.sin(np.nan_to_num(X[:, 1]) * 3.0) + (np.nan_to_num(X[:, 4]) == 2)
    return X, y


def _fit(task: str, **params) -> lgb.LGBMModel:
    X, y = _table()
    if task == "binary":
        y = (y > np.median(y)).astype(int)
    elif params.get("objective") == "poisson":
        y = np.abs(y)
    elif task == "multiclass":
        y = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    model = (lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier)(
        n_estimators=60, num_leaves=15, learning_rate=0.1, verbose=-1, **params
    )
    return model.fit(X, y, categorical_feature=[4])


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_blocks_give_what_the_booster_gives(task, small_blocks):
    booster = _fit(task).booster_
    blocks = LeafBlocks.of(booster)
    assert blocks is not None and len(blocks.blocks) > 10
    X, _ = _table(700, seed=1)
    X[0, 4], X[1, 4], X[2, 0] = 99.0, -1.0, np.inf  # an unseen and a negative code, an infinite number
    got, expected = blocks.predict(X), booster.predict(X)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()


def test_blocks_stop_at_the_best_iteration(small_blocks):
    X, y = _table()
    y = y + np.random.default_rng(0).normal(scale=1.0, size=len(y))  # noise: the validation score turns soon
    params = {"num_leaves": 31, "learning_rate": 0.3, "min_data_in_leaf": 3, "verbose": -1}
    train, valid = lgb.Dataset(X[:400], y[:400]), lgb.Dataset(X[400:], y[400:])
    booster = lgb.train(
        params,
        train,
        300,
        valid_sets=[valid],
        callbacks=[lgb.early_stopping(5, verbose=False)],
        keep_training_booster=True,  # the trees after the best iteration stay in the model
    )
    assert 0 < booster.best_iteration < booster.current_iteration()
    blocks = LeafBlocks.of(booster)
    assert sum(count for _, count in blocks.blocks) == booster.best_iteration
    assert blocks.predict(X).tobytes() == booster.predict(X).tobytes()


@pytest.mark.parametrize(
    "params",
    [
        {"objective": "poisson"},
        {"reg_sqrt": True},
        {"linear_tree": True},
        {"boosting_type": "rf", "subsample": 0.8, "subsample_freq": 1},
    ],
)
def test_outputs_not_written_here_stay_with_the_booster(params, small_blocks):
    assert LeafBlocks.of(_fit("regression", **params).booster_) is None


def test_a_small_model_is_predicted_whole():
    assert LeafBlocks.of(_fit("regression").booster_) is None  # 60 trees of 15 leaves: under MIN_LEAVES


def test_blocks_hold_whole_iterations_of_at_most_block_leaves(monkeypatch):
    monkeypatch.setattr(lean_blocks, "BLOCK_LEAVES", 10)
    assert _blocks(np.array([5, 5, 5])) == [(0, 2), (2, 1)]
    assert _blocks(np.array([12, 3, 3, 30])) == [(0, 1), (1, 2), (3, 1)]


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_a_batch_through_the_lean_form_uses_the_blocks(task, small_blocks, monkeypatch):
    fitted = _fit(task)
    made = []
    real_of = LeafBlocks.of

    def spy(b):
        made.append(real_of(b))
        return made[-1]

    monkeypatch.setattr(LeafBlocks, "of", staticmethod(spy))
    X, _ = _table(500, seed=2)
    method = "predict" if task == "regression" else "predict_proba"
    op = lightgbm_op(fitted, method)
    for batch in (X, X[::-1].copy(), X[:300]):
        assert op(batch).tobytes() == getattr(fitted, method)(batch).tobytes()
    assert len(made) == 1 and made[0] is not None and made[0].checked


def test_blocks_that_differ_on_the_first_batch_are_never_used(small_blocks, monkeypatch):
    fitted = _fit("regression")
    booster = fitted.booster_
    monkeypatch.setattr(LeafBlocks, "predict", lambda self, X: np.zeros(len(X)))
    op = lightgbm_op(fitted, "predict")
    X, _ = _table(400, seed=3)
    for _ in range(2):
        assert op(X).tobytes() == booster.predict(X).tobytes()


@pytest.mark.parametrize("task", ["regression", "binary", "multiclass"])
def test_the_model_answers_one_row_as_before_after_a_batch_by_blocks(task, small_blocks):
    # LightGBM keeps the iterations of its last prediction in the booster: blocks
    # asked of the model's own booster left its single-row predictor walking the
    # last block's trees alone
    fitted = _fit(task)
    method = "predict" if task == "regression" else "predict_proba"
    op = lightgbm_op(fitted, method)
    X, _ = _table(400, seed=4)
    rows = [X[i : i + 1] for i in range(20)]
    before = [op(row).tobytes() for row in rows]
    batch = op(X)
    assert [op(row).tobytes() for row in rows] == before
    assert op(X).tobytes() == batch.tobytes() == getattr(fitted, method)(X).tobytes()


def test_batches_by_blocks_in_several_threads_at_once(small_blocks):
    from concurrent.futures import ThreadPoolExecutor

    fitted = _fit("regression")
    op = lightgbm_op(fitted, "predict")
    batches = [_table(300 + 50 * k, seed=10 + k)[0] for k in range(4)]
    expected = [fitted.predict(X).tobytes() for X in batches]
    op(batches[0])  # the first batch finds and checks the blocks

    def run(k: int) -> bool:
        return all(op(batches[k]).tobytes() == expected[k] for _ in range(15))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, range(4)))
