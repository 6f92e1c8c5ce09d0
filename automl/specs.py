"""Component specifications that plugins register: models, preprocessors, metrics."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from automl.context import TASKS

if TYPE_CHECKING:
    import optuna

    from automl.context import Context

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
COLUMN_KINDS = ("numeric", "categorical", "text")
#: the value a categorical column holds where it is missing, when it had no value
#: at all in the rows a pipeline was fitted on; imputers of categories fill with it too
MISSING = "__missing__"


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{kind} name {name!r} is not valid: use letters, digits, '_' or '-', starting with a letter")


def _tasks(kind: str, name: str, tasks: Sequence[str] | str) -> frozenset[str]:
    if isinstance(tasks, str):
        tasks = [tasks]
    out: set[str] = set()
    for t in tasks:
        if t == "classification":
            out |= {"binary", "multiclass"}
        elif t in TASKS:
            out.add(t)
        else:
            raise ValueError(
                f"{kind} {name!r}: unknown task {t!r}; use 'binary', 'multiclass', 'regression' or 'classification'"
            )
    if not out:
        raise ValueError(f"{kind} {name!r} declares no task")
    return frozenset(out)


def _type_names(kind: str, name: str, names: Sequence[str] | str) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    for n in names:
        if not isinstance(n, str) or "." not in n:
            raise ValueError(
                f"{kind} {name!r}: trusted_types entries are dotted names like 'pkg.module.Class', got {n!r}"
            )
    return names


def _onnx_converters(kind: str, name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise TypeError(
            f"{kind} {name!r}: onnx_converters must be None or a callable that registers skl2onnx converters, "
            f"got {type(value).__name__}"
        )


def _no_space(trial: optuna.Trial, ctx: Context) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class ModelSpec:
    """A model that the search may choose.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``"lightgbm"``. Shown on the leaderboard.
    tasks : sequence of str
        Tasks served: any of ``"binary"``, ``"multiclass"``, ``"regression"``;
        ``"classification"`` means both classification tasks.
    build : callable
        ``build(params, ctx) -> estimator``: an unfitted scikit-learn estimator
        from a parameter dict (the dict ``space`` returned) and a
        :class:`~automl.context.Context`. Use ``ctx.n_threads`` and
        ``ctx.random_state``. Classifiers should offer ``predict_proba``.
    space : callable, optional
        ``space(trial, ctx) -> dict``: an Optuna define-by-run search space.
        Suggest parameters under plain names (``trial.suggest_int("num_leaves", ...)``);
        the engine prefixes them with the model's name, so names never clash.
        Without it the model is only tried with its defaults.
    defaults : sequence of dict
        Known-good starting configurations, tried before the sampler takes over,
        each mapping suggested names to values. ``({},)`` means "build with
        ``params={}``", which suits a model without a space.
    handles_missing : bool
        The estimator accepts NaN in numeric inputs.
    native_categorical : bool
        The estimator handles pandas ``category`` columns itself.
    needs_scaling : bool
        Numeric inputs should be standardised (linear models, neighbours, SVMs).
    cost : float
        Relative fit cost (1 = a linear model, 3 = gradient boosting, 5 = a forest);
        cheap models' defaults are tried first.
    trusted_types : sequence of str
        Dotted names (``"mypackage.models.MyModel"``) of the plugin's own
        classes and functions that a fitted model holds, which the safe model
        format (:meth:`automl.AutoML.save`) may then load. scikit-learn and
        NumPy types need no entry.
    onnx_converters : callable, optional
        ``onnx_converters() -> None``: registers with skl2onnx the ONNX
        converters of the plugin's own classes that a fitted model holds
        (``skl2onnx.update_registered_converter(cls, alias, shape_calculator,
        converter, options=...)``; a classifier's converter should accept the
        ``zipmap`` option). :func:`automl.deploy.onnx.export` calls it before
        converting. Import skl2onnx inside it, so the plugin loads without it.
        None when the fitted estimator is a class skl2onnx already converts.
    """

    name: str
    tasks: Sequence[str] | str
    build: Callable[[Mapping[str, Any], Context], Any]
    space: Callable[[Any, Context], dict[str, Any]] = _no_space
    defaults: Sequence[Mapping[str, Any]] = ({},)
    handles_missing: bool = False
    native_categorical: bool = False
    needs_scaling: bool = False
    cost: float = 1.0
    trusted_types: Sequence[str] = ()
    onnx_converters: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        _check_name("model", self.name)
        object.__setattr__(self, "tasks", _tasks("model", self.name, self.tasks))
        if not callable(self.build):
            raise TypeError(f"model {self.name!r}: build must be callable build(params, ctx)")
        if self.space is None:
            object.__setattr__(self, "space", _no_space)
        if not callable(self.space):
            raise TypeError(f"model {self.name!r}: space must be callable space(trial, ctx)")
        object.__setattr__(self, "trusted_types", _type_names("model", self.name, self.trusted_types))
        defaults = tuple(dict(d) for d in (self.defaults or ({},)))
        object.__setattr__(self, "defaults", defaults)
        if not (self.cost > 0):
            raise ValueError(f"model {self.name!r}: cost must be positive, got {self.cost!r}")
        _onnx_converters("model", self.name, self.onnx_converters)

    @property
    def tags(self) -> frozenset[str]:
        """The model's capabilities as strings, matched against preprocessors' needs."""
        return frozenset(
            t
            for t, on in (
                ("handles_missing", self.handles_missing),
                ("native_categorical", self.native_categorical),
                ("needs_scaling", self.needs_scaling),
            )
            if on
        )


@dataclass(frozen=True)
class PreprocessorSpec:
    """A way to prepare one kind of column for a model.

    Parameters
    ----------
    name : str
        Unique name, e.g. ``"onehot"``.
    kind : {"numeric", "categorical", "text"}
        The kind of column it prepares. Numeric columns arrive as float64 with
        NaN for missing values; categorical columns as ``object`` strings with NaN
        (or :data:`MISSING` in a column that had no value in the rows of ``fit``);
        free-text columns as ``object`` strings with NaN. Text columns are kept
        only when a preprocessor of kind ``"text"`` is registered.
    build : callable
        ``build(params, ctx) -> transformer``: an unfitted scikit-learn transformer.
    space : callable, optional
        ``space(trial, ctx) -> dict``, as for :class:`ModelSpec`.
    defaults : mapping
        Suggested values used with a model's default configuration.
    requires : sequence of str
        Model tags the model must have (``"handles_missing"``,
        ``"native_categorical"``, ``"needs_scaling"``).
    excludes : sequence of str
        Model tags that rule this preprocessor out.
    priority : int
        Among compatible preprocessors, the highest priority is used with a
        model's default configuration.
    pandas_output : bool
        The transformer outputs a DataFrame whose dtypes matter downstream
        (e.g. ``category`` columns for native handling).
    trusted_types : sequence of str
        Dotted names of the plugin's own classes and functions that a fitted
        transformer holds, which the safe model format may then load (as for
        :class:`ModelSpec`).
    onnx_converters : callable, optional
        ``onnx_converters() -> None``: registers with skl2onnx the ONNX
        converters of the plugin's own classes that a fitted transformer
        holds, as for :class:`ModelSpec`.
    """

    name: str
    kind: str
    build: Callable[[Mapping[str, Any], Context], Any]
    space: Callable[[Any, Context], dict[str, Any]] = _no_space
    defaults: Mapping[str, Any] = field(default_factory=dict)
    requires: Sequence[str] = ()
    excludes: Sequence[str] = ()
    priority: int = 0
    pandas_output: bool = False
    trusted_types: Sequence[str] = ()
    onnx_converters: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        _check_name("preprocessor", self.name)
        if self.kind not in COLUMN_KINDS:
            raise ValueError(f"preprocessor {self.name!r}: kind must be one of {COLUMN_KINDS}, got {self.kind!r}")
        if not callable(self.build):
            raise TypeError(f"preprocessor {self.name!r}: build must be callable build(params, ctx)")
        if self.space is None:
            object.__setattr__(self, "space", _no_space)
        object.__setattr__(self, "requires", frozenset(self.requires))
        object.__setattr__(self, "excludes", frozenset(self.excludes))
        object.__setattr__(self, "defaults", dict(self.defaults))
        object.__setattr__(self, "trusted_types", _type_names("preprocessor", self.name, self.trusted_types))
        _onnx_converters("preprocessor", self.name, self.onnx_converters)

    def accepts(self, model: ModelSpec) -> bool:
        """Whether this preprocessor may feed ``model``."""
        return self.requires <= model.tags and not (self.excludes & model.tags)


@dataclass(frozen=True)
class MetricSpec:
    """A metric computed from predictions.

    Parameters
    ----------
    name : str
        Short name users pass as ``AutoML(metric=name)``.
    func : callable
        ``func(y_true, y_pred) -> float`` in the metric's natural units.
        ``y_pred`` is class probabilities (n_samples, n_classes) when
        ``needs == "proba"``, class labels when ``"label"``, values for regression.
    greater_is_better : bool
        Direction of the metric.
    needs : {"proba", "label", "value"}
        What ``func`` receives.
    tasks : sequence of str
        Tasks it applies to.
    """

    name: str
    func: Callable[[Any, Any], float]
    greater_is_better: bool
    needs: str
    tasks: Sequence[str] | str

    def __post_init__(self) -> None:
        _check_name("metric", self.name)
        if self.needs not in ("proba", "label", "value"):
            raise ValueError(f"metric {self.name!r}: needs must be 'proba', 'label' or 'value'")
        object.__setattr__(self, "tasks", _tasks("metric", self.name, self.tasks))


__all__ = ["COLUMN_KINDS", "MISSING", "MetricSpec", "ModelSpec", "PreprocessorSpec"]
