"""Column kinds: free text found by its values, the user's overrides, and text without a plugin that prepares it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer

from automl import AutoML, DataError, DataWarning, PreprocessorSpec, hookimpl
from automl.pipeline.schema import infer_schema, looks_like_text
from automl.registry import reload_entry_points

RNG = np.random.default_rng(0)
WORDS = np.array("the a small red dog cat runs sleeps near far house garden happily slowly".split())


def sentences(n: int) -> list[str]:
    return [" ".join(RNG.choice(WORDS, size=RNG.integers(4, 10))) for _ in range(n)]


def table(n: int = 200) -> tuple[pd.DataFrame, np.ndarray]:
    notes = sentences(n)
    y = np.array([int("dog" in s) for s in notes])
    X = pd.DataFrame(
        {
            "notes": notes,
            "city": RNG.choice(["New York", "Los Angeles", "Oslo"], size=n),
            "code": RNG.integers(0, 5, n),
            "row_id": [f"r{i}" for i in range(n)],
            "x": RNG.normal(size=n),
        }
    )
    return X, y


def test_sentences_are_text_labels_are_categories_identifiers_are_dropped():
    X, _ = table()
    kinds = {c.name: c.kind for c in infer_schema(X).columns}
    assert kinds == {"notes": "text", "city": "categorical", "code": "numeric", "row_id": "drop", "x": "numeric"}
    assert not looks_like_text(pd.Series(["red wine", "white wine"] * 50))  # two words, repeated
    assert not looks_like_text(pd.Series(sentences(10)))  # too few rows to tell


def test_column_kinds_override_the_automatic_reading():
    X, _ = table()
    schema = infer_schema(X, {"notes": "categorical", "code": "categorical", "x": "drop", "city": "text"})
    kinds = {c.name: c.kind for c in schema.columns}
    assert (kinds["notes"], kinds["code"], kinds["x"], kinds["city"]) == ("categorical", "categorical", "drop", "text")


@pytest.mark.parametrize(
    ("kinds", "message"),
    [
        ({"nope": "text"}, "column_kinds names \\['nope'\\]"),
        ({"notes": "numeric"}, "column 'notes' holds values that are not numbers"),
        ({"x": "image"}, "column_kinds\\['x'\\] = 'image': use one of numeric, categorical, text, drop"),
    ],
)
def test_impossible_kinds_are_errors_naming_the_column(kinds, message):
    X, _ = table()
    with pytest.raises(DataError, match=message):
        infer_schema(X, kinds)


def test_column_kinds_must_be_a_mapping():
    X, y = table()
    with pytest.raises(ValueError, match="column_kinds must be a dict"):
        AutoML(column_kinds=["notes"], time_budget=2, verbose=0).fit(X, y)


@pytest.fixture
def no_installed_plugins(monkeypatch):
    monkeypatch.setattr("importlib.metadata.entry_points", lambda **kw: [])
    reload_entry_points()
    yield
    monkeypatch.undo()
    reload_entry_points()


def test_text_without_a_text_plugin_is_dropped_with_a_warning(no_installed_plugins):
    X, y = table()
    with pytest.warns(DataWarning, match=r"\['notes'\] hold free text.*automl-text"):
        model = AutoML(time_budget=4, n_jobs=1, random_state=0, verbose=0).fit(X, y)
    assert "text" not in " ".join(model.leaderboard_["preprocessing"])
    assert len(model.predict(X.head(3))) == 3


class Words(TransformerMixin, BaseEstimator):
    """Word counts of each text column (a text preprocessor as small as it gets)."""

    def fit(self, X, y=None):
        self.vectorizers_ = [CountVectorizer(binary=True).fit(X.iloc[:, i].fillna("")) for i in range(X.shape[1])]
        return self

    def transform(self, X):
        blocks = [v.transform(X.iloc[:, i].fillna("")).toarray() for i, v in enumerate(self.vectorizers_)]
        return np.hstack(blocks).astype(float)

    def get_feature_names_out(self, input_features=None):
        return np.array([f"w{i}" for i in range(sum(len(v.vocabulary_) for v in self.vectorizers_))], dtype=object)


class WordsPlugin:
    @hookimpl
    def automl_register_preprocessors(self, register):
        register(PreprocessorSpec(name="words", kind="text", build=lambda params, ctx: Words()))


def test_a_text_plugin_prepares_text_columns_and_only_them(no_installed_plugins):
    X, y = table()
    model = AutoML(plugins=[WordsPlugin()], include=["linear"], time_budget=4, n_jobs=1, random_state=0, verbose=0)
    model.fit(X, y)
    ok = model.leaderboard_.query("status == 'ok'")
    assert ok["preprocessing"].str.contains("text=words").all() and model.best_score_ > 0.95
    prepare = model.best_pipeline_.named_steps["prepare"]
    columns = {name: list(cols) for name, _, cols in prepare.transformers_ if name != "remainder"}
    assert columns["text"] == ["notes"] and "notes" not in columns["categorical"] and "city" in columns["categorical"]
