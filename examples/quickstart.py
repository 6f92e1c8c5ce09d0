"""Quickstart: search pipelines for 30 seconds on a table bundled with scikit-learn.

Run from the repository root:

    python examples/quickstart.py
"""

# ruff: noqa: T201  (an example prints its results)

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

from automl import AutoML


def main() -> None:
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target
    )

    # a progress bar shows the search; the fitted estimator prints its own summary
    automl = AutoML(time_budget=30, random_state=0).fit(X_train, y_train)
    print(f"\n{automl}")

    steps = " -> ".join(type(step).__name__ for _, step in automl.best_pipeline_.steps)
    print(f"\nbest_pipeline_: {steps}")
    print(f"Test {automl.metric_}: {automl.score(X_test, y_test):.4f} (cross-validated {automl.best_score_:.4f})")
    print(
        "\nNext: automl.save('model.automl'); plots, explanations and an HTML report "
        "(pip install -e '.[report,explain]'):\n"
        "  automl.plot.roc(), automl.explain(), automl.report('report.html')\n"
        "Notebooks: examples/classification.ipynb, regression.ipynb, custom_plugin.ipynb, explain.ipynb"
    )


if __name__ == "__main__":
    main()
