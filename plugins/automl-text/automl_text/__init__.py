"""Free-text columns for automl: TF-IDF and hashing preprocessors (registered through the entry point)."""

from __future__ import annotations

from automl_text.vectorizer import TextVectorizer

__version__ = "0.1.0"
__all__ = ["TextVectorizer"]
