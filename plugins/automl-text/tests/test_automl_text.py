"""automl-text: the conformance kit, text columns found and prepared in a fit, save and load, and without the plugin."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from automl_text import TextVectorizer, plugin

import automl
from automl import AutoML, DataWarning
from automl.testing import parametrize_plugin_checks

WORDS = {
    "good": "great lovely excellent superb wonderful fine pleasant".split(),
    "bad": "awful poor terrible broken dreadful nasty weak".split(),
    "filler": "the item arrived today and it was quite as described by seller".split(),
}


def reviews(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Short reviews whose words carry the label, beside a weak numeric column."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    text = []
    for label in y:
        mood = WORDS["good" if label else "bad"]
        words = list(rng.choice(WORDS["filler"], 6)) + list(rng.choice(mood, 2))
        rng.shuffle(words)
        text.append(" ".join(words))
    X = pd.DataFrame({"review": text, "price": rng.normal(size=n) + 0.2 * y})
    X.loc[rng.random(n) < 0.05, "review"] = None
    return X, y


@parametrize_plugin_checks(plugin)
def test_conformance(check):
    check()


def test_the_vectorizer_keeps_rows_names_features_and_ignores_unseen_words():
    X, _ = reviews(60)
    vec = TextVectorizer(max_features=50, min_df=1).fit(X[["review"]])
    out = vec.transform(pd.DataFrame({"review": ["zebra quantum", None]}))
    assert out.shape == (2, vec.n_features_out_) and np.isfinite(out).all()
    assert vec.get_feature_names_out()[0] == "review__text0"
    reduced = TextVectorizer(method="hashing", analyzer="char_wb", max_features=256, svd_components=10).fit(
        X[["review"]]
    )
    assert reduced.transform(X[["review"]]).shape == (60, 10)


def test_a_fit_uses_the_text_column_and_beats_ignoring_it():
    X, y = reviews()
    fit = {"time_budget": 6, "n_jobs": 1, "random_state": 0, "verbose": 0}
    with_text = AutoML(plugins=[plugin], **fit).fit(X, y)
    assert any("text=" in p for p in with_text.leaderboard_["preprocessing"])
    without = AutoML(column_kinds={"review": "drop"}, **fit).fit(X, y)
    assert with_text.best_score_ > without.best_score_ + 0.2  # roc_auc: the words carry the label


def test_save_and_load_in_the_safe_format(tmp_path):
    X, y = reviews(150)
    model = AutoML(plugins=[plugin], include=["linear"], time_budget=5, n_jobs=1, random_state=0, verbose=0)
    model.fit(X, y)
    model.save(tmp_path / "m.automl")
    loaded = automl.load(tmp_path / "m.automl", plugins=[plugin])
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_without_a_text_plugin_the_column_is_dropped_with_a_warning(monkeypatch):
    from automl.registry import reload_entry_points

    monkeypatch.setattr("importlib.metadata.entry_points", lambda **kw: [])  # as if no plugin were installed
    reload_entry_points()
    try:
        X, y = reviews(120)
        with pytest.warns(DataWarning, match=r"\['review'\] hold free text.*pip install automl-text"):
            model = AutoML(time_budget=4, n_jobs=1, random_state=0, verbose=0).fit(X, y)
        assert not any("text=" in p for p in model.leaderboard_["preprocessing"])
    finally:
        monkeypatch.undo()
        reload_entry_points()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        AutoML(plugins=[plugin], time_budget=4, n_jobs=1, random_state=0, verbose=0).fit(X, y)
