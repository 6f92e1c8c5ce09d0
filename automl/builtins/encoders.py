"""Transformers used inside the pipelines the library builds."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.impute import SimpleImputer
from sklearn.utils.validation import check_is_fitted

from automl.lean import CodeLookup, category_codes
from automl.specs import MISSING


class CategoryEncoder(TransformerMixin, BaseEstimator):
    """Turn string columns into pandas ``category`` columns with fixed categories.

    For models that handle categoricals natively (LightGBM,
    ``HistGradientBoosting*(categorical_features="from_dtype")``). The most
    frequent ``max_categories`` values seen in ``fit`` become the categories;
    rarer and unseen values, and missing values, become NaN.

    Parameters
    ----------
    max_categories : int
        Most categories kept per column (HistGradientBoosting allows 255).
    min_frequency : int
        Values seen fewer times than this in ``fit`` are treated as missing.
    """

    def __init__(self, max_categories: int = 250, min_frequency: int = 1) -> None:
        self.max_categories = max_categories
        self.min_frequency = min_frequency

    def fit(self, X: Any, y: Any = None) -> CategoryEncoder:
        """Learn the categories of every column."""
        df = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray([str(c) for c in df.columns], dtype=object)
        self.n_features_in_ = df.shape[1]
        self.categories_: list[list[str]] = []
        for c in df.columns:
            counts = df[c].astype(object).dropna().astype(str).value_counts()
            counts = counts[counts >= self.min_frequency]
            self.categories_.append(sorted(counts.index[: self.max_categories]))
        return self

    def transform(self, X: Any) -> pd.DataFrame:
        """Return a DataFrame of ``category`` columns."""
        check_is_fitted(self, "categories_")
        df = pd.DataFrame(X)
        out = {}
        for name, col, (lookup, dtype) in zip(self.feature_names_in_, df.columns, self._lookups(), strict=True):
            values = df[col].to_numpy(dtype=object, copy=True)
            known = ~pd.isna(values)
            values[known] = [str(v) for v in values[known]]
            # a value outside the categories (rare, unseen or missing) gets code -1: NaN
            out[name] = pd.Categorical.from_codes(lookup.codes(values), dtype=dtype)
        return pd.DataFrame(out, index=df.index)

    def _lookups(self) -> list[tuple[CodeLookup, pd.CategoricalDtype]]:
        """Per column, the lookup that finds a value's code and the dtype of the output (built once, not pickled)."""
        lookups = self.__dict__.get("_lookups_cache")
        if lookups is None:
            lookups = [(CodeLookup(c), pd.CategoricalDtype(categories=c)) for c in self.categories_]
            self.__dict__["_lookups_cache"] = lookups
        return lookups

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_lookups_cache", None)
        return state

    def lean_op(self) -> Any:
        """The lean form (:mod:`automl.pipeline.lean`): each column's category codes, NaN outside the categories."""
        check_is_fitted(self, "categories_")
        return category_codes(self.categories_)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the output columns (the input names)."""
        check_is_fitted(self, "categories_")
        return self.feature_names_in_.copy()

    def set_output(self, *, transform: str | None = None) -> CategoryEncoder:
        """Accept ``set_output``; the output is always a DataFrame."""
        return self


def missing_as_category() -> SimpleImputer:
    """An imputer that makes a missing categorical value a category of its own, ``"__missing__"``.

    It keeps columns that are all missing in ``fit`` (a small fold can be like
    that), so the columns an encoder sees do not depend on the rows.
    """
    return SimpleImputer(strategy="constant", fill_value=MISSING, keep_empty_features=True)


__all__ = ["CategoryEncoder", "missing_as_category"]
