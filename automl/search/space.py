"""The search space: model choice, then the model's parameters and its preprocessing."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from automl.context import Context
from automl.pipeline.build import TrialConfig
from automl.specs import ModelSpec, PreprocessorSpec

logger = logging.getLogger(__name__)

MODEL_PARAM = "model"


def by_kind(preprocessors: Mapping[str, PreprocessorSpec], kinds: Sequence[str]) -> dict[str, list[PreprocessorSpec]]:
    """The registered preprocessors (by name) grouped by the column kind they prepare, for ``kinds``."""
    return {kind: [p for p in preprocessors.values() if p.kind == kind] for kind in kinds}


def preprocessor_choices(
    model: ModelSpec, preprocessors: Mapping[str, Sequence[PreprocessorSpec]], kinds: Sequence[str]
) -> dict[str, list[PreprocessorSpec]]:
    """The preprocessors that may feed ``model``, per column kind, the one its defaults use first.

    This is the one rule of compatibility: a preprocessor feeds a model when the
    model has every tag it requires and none it excludes
    (:meth:`~automl.specs.PreprocessorSpec.accepts`); among those, the highest
    ``priority`` comes first. A kind with no compatible preprocessor has an empty list.
    """
    return {
        kind: sorted((p for p in preprocessors.get(kind, ()) if p.accepts(model)), key=lambda p: -p.priority)
        for kind in kinds
    }


class PrefixedTrial:
    """An Optuna trial whose ``suggest_*`` methods prefix parameter names.

    Components suggest parameters under plain names; the engine gives each
    component its own prefix, so names never clash between components.
    """

    def __init__(self, trial: Any, prefix: str) -> None:
        self._trial = trial
        self._prefix = prefix

    @property
    def number(self) -> int:
        """The trial's number."""
        return self._trial.number

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        """Like :meth:`optuna.trial.Trial.suggest_float`."""
        return self._trial.suggest_float(self._prefix + name, low, high, **kwargs)

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        """Like :meth:`optuna.trial.Trial.suggest_int`."""
        return self._trial.suggest_int(self._prefix + name, low, high, **kwargs)

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        """Like :meth:`optuna.trial.Trial.suggest_categorical`."""
        return self._trial.suggest_categorical(self._prefix + name, choices)


def _prep_key(model: str, kind: str) -> str:
    return f"{model}.{kind}"


class SearchSpace:
    """The candidates of one search, fixed before the first trial.

    A model that no registered preprocessor can feed for some kind of column in
    the table is left out, with a warning in the log.

    Parameters
    ----------
    models : sequence of ModelSpec
        Candidate models, in the order their defaults are tried.
    preprocessors : mapping
        Column kind -> compatible candidate preprocessors (all registered ones of that kind).
    kinds : sequence of str
        Column kinds present in the data (``"numeric"``, ``"categorical"``).
    ctx : Context
        Facts handed to the components' ``space`` functions.
    """

    def __init__(
        self,
        models: Sequence[ModelSpec],
        preprocessors: Mapping[str, Sequence[PreprocessorSpec]],
        kinds: Sequence[str],
        ctx: Context,
    ) -> None:
        self.kinds = tuple(kinds)
        self.ctx = ctx
        self.models: dict[str, ModelSpec] = {}
        self.choices: dict[tuple[str, str], list[PreprocessorSpec]] = {}
        for m in models:
            choices = preprocessor_choices(m, preprocessors, self.kinds)
            missing = [kind for kind, options in choices.items() if not options]
            if missing:
                logger.warning("model %r skipped: no registered preprocessor for its %s columns", m.name, missing)
                continue
            self.models[m.name] = m
            self.choices.update({(m.name, kind): options for kind, options in choices.items()})
        if not self.models:
            raise ValueError("no candidate model can be fed this table's columns; check the preprocessors")

    @property
    def model_names(self) -> tuple[str, ...]:
        """Candidate model names."""
        return tuple(self.models)

    def sample(self, trial: Any) -> TrialConfig:
        """Sample one pipeline configuration from an Optuna trial."""
        name = trial.suggest_categorical(MODEL_PARAM, list(self.models))
        spec = self.models[name]
        model_params = dict(spec.space(PrefixedTrial(trial, f"{name}."), self.ctx) or {})
        prep: dict[str, tuple[str, dict[str, Any]]] = {}
        for kind in self.kinds:
            options = self.choices[(name, kind)]
            if len(options) == 1:
                chosen = options[0]
            else:
                pick = trial.suggest_categorical(_prep_key(name, kind), [p.name for p in options])
                chosen = next(p for p in options if p.name == pick)
            params = dict(chosen.space(PrefixedTrial(trial, f"{name}.{kind}.{chosen.name}."), self.ctx) or {})
            prep[kind] = (chosen.name, params)
        return TrialConfig(model=name, model_params=model_params, preprocessing=prep)

    def default_config(self, model: str) -> TrialConfig:
        """The untuned configuration of ``model``: its first defaults, with its preferred preprocessors'."""
        m = self.models[model]
        prep = {
            kind: (self.choices[(model, kind)][0].name, dict(self.choices[(model, kind)][0].defaults))
            for kind in self.kinds
        }
        return TrialConfig(model=model, model_params=dict(m.defaults[0]), preprocessing=prep)

    def _default_params(self, m: ModelSpec, r: int) -> dict[str, Any]:
        params: dict[str, Any] = {MODEL_PARAM: m.name}
        params.update({f"{m.name}.{k}": v for k, v in m.defaults[r].items()})
        for kind in self.kinds:
            options = self.choices[(m.name, kind)]
            chosen = options[0]
            if len(options) > 1:
                params[_prep_key(m.name, kind)] = chosen.name
            params.update({f"{m.name}.{kind}.{chosen.name}.{k}": v for k, v in chosen.defaults.items()})
        return params

    def _complete(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A portfolio entry with what it does not say filled in from the model's first default.

        The portfolio was built against the components of its day: a parameter or a
        preprocessor choice added since then takes its default value, not a random one.
        """
        name = params[MODEL_PARAM]
        default = self._default_params(self.models[name], 0)
        out = dict(params)
        for key, value in default.items():
            if key in out:
                continue
            parts = key.split(".")
            if len(parts) >= 4 and parts[1] in self.kinds:  # a preprocessor's parameter
                if out.get(_prep_key(name, parts[1]), parts[2]) != parts[2]:
                    continue  # the entry chose another preprocessor
            out[key] = value
        return out

    def _fits(self, params: dict[str, Any]) -> bool:
        """Whether a portfolio entry names a candidate model and preprocessors it may use."""
        name = params.get(MODEL_PARAM)
        if name not in self.models:
            return False
        for kind in self.kinds:
            pick = params.get(_prep_key(name, kind))
            if pick is not None and pick not in [p.name for p in self.choices[(name, kind)]]:
                return False
        return True

    def starting_points(self, portfolio: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, Any]]:
        """Known-good configurations as Optuna parameter dicts, in the order to try them.

        First the first default of the cheapest model and of every model with a
        cost of at most 3, cheapest first (a strong baseline within seconds); then the ``portfolio`` entries
        that apply; then every other default (costly models, further defaults).
        """
        order = sorted(self.models.values(), key=lambda m: m.cost)
        # the cheapest model's default always first: the leaderboard's untuned reference
        first = [self._default_params(m, 0) for i, m in enumerate(order) if m.cost <= 3 or i == 0]
        rest = [
            self._default_params(m, r)
            for r in range(max(len(m.defaults) for m in order))
            for m in order
            if r < len(m.defaults) and (r > 0 or m.cost > 3)
        ]
        out: list[dict[str, Any]] = []
        for params in [*first, *(self._complete(p) for p in portfolio if self._fits(p)), *rest]:
            if params not in out:
                out.append(params)
        return out


__all__ = ["MODEL_PARAM", "PrefixedTrial", "SearchSpace", "by_kind", "preprocessor_choices"]
