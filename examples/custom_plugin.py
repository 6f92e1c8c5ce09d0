"""A model plugin of your own: Gaussian naive Bayes, passed to one fit with ``plugins=[...]``.

Run from the repository root:

    python examples/custom_plugin.py

To offer the plugin to every fit, publish it through an entry point instead
(see docs/plugins.md).
"""

# ruff: noqa: T201  (an example prints its results)

from sklearn.datasets import load_iris
from sklearn.naive_bayes import GaussianNB

from automl import AutoML, ModelSpec, hookimpl


def space(trial, ctx):
    # plain names: the engine stores this one as "gaussian_nb.var_smoothing"
    return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1e-3, log=True)}


def build(params, ctx):
    return GaussianNB(var_smoothing=params.get("var_smoothing", 1e-9))


class GaussianNBPlugin:
    """Registers one model; the hook is found by its name and the @hookimpl marker."""

    @hookimpl
    def automl_register_models(self, register):
        register(
            ModelSpec(
                name="gaussian_nb",
                tasks="classification",  # binary and multiclass
                build=build,
                space=space,
                defaults=({"var_smoothing": 1e-9},),  # tried before the sampler takes over
                cost=0.5,  # cheaper than the linear baseline: its default is tried first
            )
        )


def main() -> None:
    X, y = load_iris(return_X_y=True, as_frame=True)
    automl = AutoML(time_budget=15, random_state=0, plugins=[GaussianNBPlugin()]).fit(X, y)

    board = automl.leaderboard_
    columns = ["rank", "model", "preprocessing", "score_mean", "status"]
    print(board[columns].head(10).to_string(index=False))
    ours = board[board["model"] == "gaussian_nb"].copy()
    ours["var_smoothing"] = [params["var_smoothing"] for params in ours["params"]]
    print("\nThe plugin's trials:")
    print(ours[["trial", "var_smoothing", "score_mean", "status"]].to_string(index=False))


if __name__ == "__main__":
    main()
