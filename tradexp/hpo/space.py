"""Search spaces declared in YAML, keyed by dotted config paths, sampled define-by-run with Optuna.

    search_space:
      model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}
      model.net.init_args.hidden_size: {type: int, low: 16, high: 128, step: 16}
      model.optimizer: {type: categorical, choices: [adamw, adam]}
      conv_layers: {type: int, low: 1, high: 2, apply: false}      # a structural choice, not a config key
      model.net.init_args.kernel_sizes[0]: {type: categorical, choices: [3, 5, 7]}
      model.net.init_args.kernel_sizes[1]: {type: categorical, choices: [3, 5], when: {conv_layers: 2}}

A key `path[i]` is element `i` of a list-valued config key; the list holds the elements that were
sampled, in index order. `when` makes a parameter conditional on parameters declared above it
(a value or a list of allowed values). Categorical choices may be lists or mappings; Optuna stores
them as JSON text and they are decoded when applied to the config.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

import optuna

from tradexp.errors import ConfigError

__all__ = ["ParamSpec", "SearchSpace"]

_TYPES = ("float", "int", "categorical")
_FIELDS = {"type", "low", "high", "log", "step", "choices", "when", "apply"}
_INDEXED = re.compile(r"^(?P<key>.+)\[(?P<index>\d+)\]$")


def _encode_choice(choice: Any) -> Any:
    """Optuna categorical choices must be None/bool/int/float/str: lists and mappings become JSON."""
    if choice is None or isinstance(choice, (bool, int, float, str)):
        return choice
    if isinstance(choice, (list, tuple, Mapping)):
        return json.dumps(choice)
    raise ConfigError(f"categorical choice {choice!r} must be a number, text, bool, null, list or mapping")


@dataclass(frozen=True)
class ParamSpec:
    """One searchable parameter.

    Args:
        name: Dotted config path (`model.lr`), an element `path[i]`, or a free name with `apply=False`.
        type: `float`, `int` or `categorical`.
        low: Lower bound (float/int).
        high: Upper bound, inclusive (float/int).
        log: Sample on a log scale (float/int, `low > 0`).
        step: Grid step (float/int); not with `log`.
        choices: Allowed values (categorical).
        when: Sample only when every named earlier parameter has one of the given values.
        apply: Write the value into the training config (False = a structural choice only).
    """

    name: str
    type: str
    low: Optional[float] = None
    high: Optional[float] = None
    log: bool = False
    step: Optional[float] = None
    choices: tuple = ()
    when: dict[str, tuple] = field(default_factory=dict)
    apply: bool = True

    @classmethod
    def from_mapping(cls, name: str, spec: Any) -> "ParamSpec":
        """Validate one YAML entry; every problem names the parameter and what is allowed."""
        where = f"search_space `{name}`"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a mapping like {{type: float, low: 0.0001, high: 0.01}}, got {spec!r}")
        unknown = sorted(set(spec) - _FIELDS)
        if unknown:
            raise ConfigError(f"{where} has unknown field(s) {unknown}; allowed: {sorted(_FIELDS)}")
        kind = spec.get("type")
        if kind not in _TYPES:
            raise ConfigError(f"{where}: `type` must be one of {list(_TYPES)}, got {kind!r}")
        when_spec = spec.get("when") or {}
        if not isinstance(when_spec, Mapping):
            raise ConfigError(f"{where}: `when` must map earlier parameters to allowed values, got {when_spec!r}")
        when = {str(k): tuple(_encode_choice(x) for x in v) if isinstance(v, (list, tuple)) else (_encode_choice(v),) for k, v in when_spec.items()}
        if kind == "categorical":
            choices = spec.get("choices")
            if not isinstance(choices, (list, tuple)) or not choices:
                raise ConfigError(f"{where}: a categorical needs a non-empty `choices` list, got {choices!r}")
            extra = sorted({"low", "high", "log", "step"} & set(spec))
            if extra:
                raise ConfigError(f"{where}: a categorical takes `choices`, not {extra}")
            return cls(name, kind, choices=tuple(_encode_choice(c) for c in choices), when=when, apply=bool(spec.get("apply", True)))
        low, high = spec.get("low"), spec.get("high")
        try:
            low, high = float(low), float(high)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: `low` and `high` must be numbers, got {spec.get('low')!r} and {spec.get('high')!r}") from None
        if not (math.isfinite(low) and math.isfinite(high)) or low > high:
            raise ConfigError(f"{where}: needs finite `low` <= `high`, got low={low} high={high}")
        log, step = bool(spec.get("log", False)), spec.get("step")
        if log and low <= 0:
            raise ConfigError(f"{where}: `log: true` needs `low` > 0, got {low}")
        if log and step is not None:
            raise ConfigError(f"{where}: `step` and `log: true` cannot be combined")
        if step is not None and (not isinstance(step, (int, float)) or step <= 0):
            raise ConfigError(f"{where}: `step` must be a positive number, got {step!r}")
        if kind == "int" and not (low.is_integer() and high.is_integer() and (step is None or float(step).is_integer())):
            raise ConfigError(f"{where}: an int parameter needs whole `low`, `high` and `step`, got {low}, {high}, {step}")
        return cls(name, kind, low=low, high=high, log=log, step=step, when=when, apply=bool(spec.get("apply", True)))

    def suggest(self, trial: optuna.Trial) -> Any:
        """Sample this parameter on `trial` (the value Optuna stores, before decoding)."""
        if self.type == "categorical":
            return trial.suggest_categorical(self.name, list(self.choices))
        if self.type == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high), step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def decode(self, value: Any) -> Any:
        """The config value for a stored Optuna value (JSON text of list/mapping choices decoded)."""
        if self.type == "categorical" and isinstance(value, str) and value[:1] in "[{":
            return json.loads(value)
        return value

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description (for `hpo/search_space.json`)."""
        out: dict[str, Any] = {"type": self.type}
        if self.type == "categorical":
            out["choices"] = [self.decode(c) for c in self.choices]
        else:
            out.update(low=self.low, high=self.high, log=self.log, step=self.step)
        if self.when:
            out["when"] = {k: list(v) for k, v in self.when.items()}
        if not self.apply:
            out["apply"] = False
        return out

    def example(self) -> Any:
        """A valid value (first choice or the lower bound), used to check the keys before a study."""
        if self.type == "categorical":
            return self.decode(self.choices[0])
        return int(self.low) if self.type == "int" else self.low


class SearchSpace:
    """An ordered set of `ParamSpec`s: sample them on a trial and turn the values into config overrides.

    Args:
        params: The parameters in declaration order (conditions refer to earlier ones).
    """

    def __init__(self, params: list[ParamSpec]) -> None:
        if not params:
            raise ConfigError("`search_space` is empty: declare at least one parameter, e.g. `model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}`")
        seen: set[str] = set()
        for spec in params:
            for other in spec.when:
                if other not in seen:
                    raise ConfigError(f"search_space `{spec.name}`: `when` refers to `{other}`, which must be declared above it; declared so far: {sorted(seen)}")
            seen.add(spec.name)
        self.params = list(params)

    @classmethod
    def from_mapping(cls, space: Any) -> "SearchSpace":
        """Parse the `search_space:` section of an HPO YAML."""
        if not isinstance(space, Mapping):
            raise ConfigError(f"`search_space` must be a mapping of config paths to parameter specs, got {type(space).__name__}")
        return cls([ParamSpec.from_mapping(str(name), spec) for name, spec in space.items()])

    def sample(self, trial: optuna.Trial) -> dict[str, Any]:
        """Suggest every active parameter on `trial`, in order; returns Optuna's values by name."""
        values: dict[str, Any] = {}
        for spec in self.params:
            if all(values.get(other, _MISSING) in allowed for other, allowed in spec.when.items()):
                values[spec.name] = spec.suggest(trial)
        return values

    def to_overrides(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Config overrides (dotted keys) for sampled values; `path[i]` elements become one list."""
        overrides: dict[str, Any] = {}
        elements: dict[str, dict[int, Any]] = {}
        for spec in self.params:
            if not spec.apply or spec.name not in values:
                continue
            value = spec.decode(values[spec.name])
            match = _INDEXED.match(spec.name)
            if match:
                elements.setdefault(match["key"], {})[int(match["index"])] = value
            else:
                overrides[spec.name] = value
        for key, items in elements.items():
            overrides[key] = [items[i] for i in sorted(items)]
        return overrides

    def example_overrides(self) -> dict[str, Any]:
        """Overrides with one valid value per applied parameter (conditions ignored): a key check."""
        return self.to_overrides({spec.name: spec.choices[0] if spec.type == "categorical" else spec.example() for spec in self.params})

    def describe(self) -> dict[str, Any]:
        """The whole space as JSON-ready data (`hpo/search_space.json`)."""
        return {spec.name: spec.describe() for spec in self.params}

    def names(self) -> list[str]:
        return [spec.name for spec in self.params]


_MISSING = object()
