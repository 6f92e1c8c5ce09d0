"""The plugin: two preprocessors of free-text columns, ``tfidf`` and ``hashing``, each with its search space."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from automl import Context, PreprocessorSpec, hookimpl
from automl_text.vectorizer import TextVectorizer

TRUSTED = ("automl_text.vectorizer.TextVectorizer",)


def tfidf_space(trial: Any, ctx: Context) -> dict[str, Any]:
    """TF-IDF: words or characters, vocabulary size, rare n-grams, sublinear counts, optional LSA."""
    reduce = trial.suggest_categorical("reduce", [False, True])
    return {
        "analyzer": trial.suggest_categorical("analyzer", ["word", "char_wb"]),
        "max_features": trial.suggest_int("max_features", 200, 4000, log=True),
        "min_df": trial.suggest_int("min_df", 1, 5),
        "sublinear_tf": trial.suggest_categorical("sublinear_tf", [True, False]),
        "svd_components": trial.suggest_int("svd_components", 20, 200, log=True) if reduce else 0,
    }


def hashing_space(trial: Any, ctx: Context) -> dict[str, Any]:
    """Hashing: words or characters into a number of buckets, sublinear counts."""
    return {
        "analyzer": trial.suggest_categorical("analyzer", ["word", "char_wb"]),
        "max_features": trial.suggest_categorical("max_features", [256, 512, 1024, 2048, 4096]),
        "sublinear_tf": trial.suggest_categorical("sublinear_tf", [True, False]),
    }


def _builder(method: str) -> Callable[[Mapping[str, Any], Context], TextVectorizer]:
    def build(params: Mapping[str, Any], ctx: Context) -> TextVectorizer:
        params = {k: v for k, v in params.items() if k != "reduce"}
        return TextVectorizer(method=method, random_state=ctx.random_state, **params)

    return build


SPECS = (
    PreprocessorSpec(
        name="tfidf",
        kind="text",
        build=_builder("tfidf"),
        space=tfidf_space,
        defaults={"reduce": False, "analyzer": "word", "max_features": 2000, "min_df": 2, "sublinear_tf": True},
        priority=1,
        trusted_types=TRUSTED,
    ),
    PreprocessorSpec(
        name="hashing",
        kind="text",
        build=_builder("hashing"),
        space=hashing_space,
        defaults={"analyzer": "word", "max_features": 1024, "sublinear_tf": True},
        trusted_types=TRUSTED,
    ),
)


@hookimpl
def automl_register_preprocessors(register: Callable[[PreprocessorSpec], None]) -> None:
    """Register the text preprocessors."""
    for spec in SPECS:
        register(spec)
