"""One transformer for every free-text column of a table: TF-IDF or hashed word and character n-grams."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

#: the n-gram ranges of each analyzer
NGRAMS = {"word": (1, 2), "char_wb": (2, 4)}


def _texts(column: Any) -> list[str]:
    """A column as strings, the empty string where missing."""
    values = pd.Series(column, dtype=object)
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


class TextVectorizer(TransformerMixin, BaseEstimator):
    """Turn each text column into n-gram weights: TF-IDF over a learned vocabulary, or hashed counts.

    Parameters
    ----------
    method : {"tfidf", "hashing"}
        ``"tfidf"`` learns a vocabulary of the ``max_features`` most frequent n-grams
        per column; ``"hashing"`` hashes n-grams into ``max_features`` buckets (no
        vocabulary to learn or store), then reweights them by TF-IDF.
    analyzer : {"word", "char_wb"}
        Word n-grams (1 and 2 words) or character n-grams (2 to 4) within words.
    max_features : int
        Columns per text column before reduction.
    min_df : int
        For ``"tfidf"``: n-grams in fewer rows than this are ignored.
    sublinear_tf : bool
        Use ``1 + log(tf)`` instead of raw counts.
    svd_components : int
        When positive, reduce each column's weights to this many components
        (latent semantic analysis), which suits tree models; 0 keeps the weights.
    random_state : int or None
        Seed of the SVD.
    """

    def __init__(
        self,
        method: str = "tfidf",
        analyzer: str = "word",
        max_features: int = 2000,
        min_df: int = 2,
        sublinear_tf: bool = True,
        svd_components: int = 0,
        random_state: int | None = None,
    ) -> None:
        self.method = method
        self.analyzer = analyzer
        self.max_features = max_features
        self.min_df = min_df
        self.sublinear_tf = sublinear_tf
        self.svd_components = svd_components
        self.random_state = random_state

    def _vectorizer(self, n_rows: int) -> Any:
        ngrams = NGRAMS[self.analyzer]
        if self.method == "hashing":
            return HashingVectorizer(
                analyzer=self.analyzer,
                ngram_range=ngrams,
                n_features=self.max_features,
                alternate_sign=False,
                norm=None,
            )
        return TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=ngrams,
            max_features=self.max_features,
            min_df=min(self.min_df, max(1, n_rows // 2)),
            sublinear_tf=self.sublinear_tf,
            dtype=np.float32,
        )

    def fit(self, X: Any, y: Any = None) -> TextVectorizer:
        """Learn each text column's vocabulary (and weights, and reduction)."""
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """Fit on the text columns of ``X`` and return their features as one dense float array."""
        if self.method not in ("tfidf", "hashing"):
            raise ValueError(f"method={self.method!r} must be 'tfidf' or 'hashing'")
        if self.analyzer not in NGRAMS:
            raise ValueError(f"analyzer={self.analyzer!r} must be one of {list(NGRAMS)}")
        frame = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = frame.shape[1]
        self.steps_: list[tuple[Any, Any, Any]] = []
        blocks = []
        for i in range(frame.shape[1]):
            texts = _texts(frame.iloc[:, i])
            vectorizer = self._vectorizer(len(texts))
            try:
                weights = vectorizer.fit_transform(texts)
            except ValueError:  # no n-gram at all (every value empty): one zero column
                vectorizer, weights = None, sparse.csr_matrix((len(texts), 1))
            reweight = None
            if self.method == "hashing" and vectorizer is not None:
                reweight = TfidfTransformer(sublinear_tf=self.sublinear_tf)
                weights = reweight.fit_transform(weights)
            svd = None
            k = min(self.svd_components, weights.shape[1] - 1, len(texts) - 1)
            if self.svd_components > 0 and k >= 1:
                svd = TruncatedSVD(n_components=k, random_state=self.random_state)
                weights = svd.fit_transform(weights)
            self.steps_.append((vectorizer, reweight, svd))
            blocks.append(weights)
        out = self._stack(blocks)
        self.n_features_out_ = out.shape[1]
        self.widths_ = [b.shape[1] for b in blocks]
        return out

    def transform(self, X: Any) -> np.ndarray:
        """The features of the text columns of ``X`` (unseen words are ignored)."""
        check_is_fitted(self, "steps_")
        frame = pd.DataFrame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} text columns; {self.n_features_in_} were seen in fit")
        blocks = []
        for i, (vectorizer, reweight, svd) in enumerate(self.steps_):
            texts = _texts(frame.iloc[:, i])
            if vectorizer is None:
                blocks.append(sparse.csr_matrix((len(texts), 1)))
                continue
            weights = vectorizer.transform(texts)
            weights = reweight.transform(weights) if reweight is not None else weights
            blocks.append(svd.transform(weights) if svd is not None else weights)
        return self._stack(blocks)

    @staticmethod
    def _stack(blocks: list[Any]) -> np.ndarray:
        dense = [b.toarray() if sparse.issparse(b) else np.asarray(b) for b in blocks]
        return np.hstack(dense).astype(np.float64) if dense else np.zeros((0, 0))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``<column>__text<i>``: unique beside every other column's features."""
        check_is_fitted(self, "steps_")
        return np.asarray(
            [
                f"{name}__text{j}"
                for name, w in zip(self.feature_names_in_, self.widths_, strict=True)
                for j in range(w)
            ],
            dtype=object,
        )
