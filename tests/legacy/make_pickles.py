"""Make the pickles that ``tests/test_legacy_pickles.py`` loads: models saved by an earlier layout.

They were made at commit 0c29d27, the last one before ``automl/`` became
subpackages, with ``python tests/legacy/make_pickles.py`` from the project root.
Each case stores the fitted ``AutoML`` and its ``best_pipeline_`` (pickle
protocol 5, as joblib writes), the predictions they made then, and
``globals.json``: every ``automl`` class or function the pickles name, which
must stay importable under that name for as long as such files are loaded.
Do not regenerate them with today's code: that would test nothing.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path

import numpy as np
import sklearn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import mixed_table  # noqa: E402
from sklearn.datasets import load_diabetes  # noqa: E402

import automl  # noqa: E402
from automl import AutoML  # noqa: E402


class _Recorder(pickle.Unpickler):
    def __init__(self, data: bytes, seen: set) -> None:
        super().__init__(io.BytesIO(data))
        self.seen = seen

    def find_class(self, module: str, name: str):
        if module.split(".")[0] == "automl":
            self.seen.add((module, name))
        return super().find_class(module, name)


def cases():
    X, y = mixed_table(240, seed=0)
    both = {"include": ["lightgbm", "linear"], "time_budget": None}
    yield "binary_ensemble", X, y, {**both, "max_trials": 24, "metric": "log_loss"}
    yield "binary_threshold", X, y, {**both, "max_trials": 8, "metric": "f1"}
    Xd, yd = load_diabetes(return_X_y=True, as_frame=True)
    yield "regression", Xd.iloc[:200], yd.iloc[:200], {"time_budget": None, "max_trials": 12}


def main() -> None:
    print("automl from", automl.__file__)  # noqa: T201
    seen: set = set()
    expected = {}
    for name, X, y, kwargs in cases():
        model = AutoML(n_jobs=2, random_state=0, verbose=0, **kwargs).fit(X, y)
        rows = X.iloc[:25]
        out = {"predict": model.predict(rows).tolist()}
        if model.task_ != "regression":
            out["predict_proba"] = model.predict_proba(rows).tolist()
        out["final_steps"] = [type(s).__name__ for _, s in model.best_pipeline_.steps]
        expected[name] = out
        for what, obj in (("automl", model), ("pipeline", model.best_pipeline_)):
            data = pickle.dumps(obj, protocol=5)
            (HERE / f"{name}.{what}.pkl").write_bytes(data)
            _Recorder(data, seen).load()
        print(name, out["final_steps"], model.leaderboard_.head(3).to_string())  # noqa: T201
    meta = {
        "commit": "0c29d27",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "globals": sorted([m, n] for m, n in seen),
        "expected": expected,
    }
    (HERE / "expected.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
