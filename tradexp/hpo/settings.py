"""The settings of a study: an HPO YAML (`configs/hpo/*.yaml`) parsed by jsonargparse into `HpoSettings`.

    base_config: ../lstm.yaml          # training config(s), relative to this file
    overrides: {trainer.max_epochs: 10}
    search_space: {model.lr: {type: float, low: 1.0e-4, high: 1.0e-2, log: true}}
    metric: val/loss
    direction: minimize
    n_trials: 30
    sampler: {class_path: optuna.samplers.TPESampler, init_args: {seed: 42}}
    pruner: {class_path: optuna.pruners.SuccessiveHalvingPruner, init_args: {min_resource: 1, reduction_factor: 3}}

Sampler and pruner are class specs like every class in a training config (any Optuna sampler or
pruner, or your own subclass). The short forms `{name: tpe, seed: 42}` and `{name: median}` are
read too (names: see `SAMPLER_NAMES` and `PRUNER_NAMES`). Without a `pruner` the study uses
successive halving (`DEFAULT_PRUNER`); without a `sampler`, TPE seeded with 42.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import optuna
import yaml
from jsonargparse import ArgumentError, ArgumentParser
from jsonargparse.typing import register_type

from tradexp.errors import ConfigError
from tradexp.hpo.space import SearchSpace

__all__ = ["HpoSettings", "load_settings", "build_sampler", "build_pruner", "class_spec", "flatten_overrides", "DEFAULT_SAMPLER", "DEFAULT_PRUNER", "SAMPLER_NAMES", "PRUNER_NAMES"]

SAMPLER_NAMES = {"tpe": "optuna.samplers.TPESampler", "random": "optuna.samplers.RandomSampler"}
PRUNER_NAMES = {
    "median": "optuna.pruners.MedianPruner",
    "percentile": "optuna.pruners.PercentilePruner",
    "successive_halving": "optuna.pruners.SuccessiveHalvingPruner",
    "hyperband": "optuna.pruners.HyperbandPruner",
    "none": "optuna.pruners.NopPruner",
}
DEFAULT_SAMPLER: dict[str, Any] = {"class_path": "optuna.samplers.TPESampler", "init_args": {"seed": 42}}
# The one pruner default (README and configs/hpo/*.yaml say the same): rungs after 1, 3, 9 ... epochs.
DEFAULT_PRUNER: dict[str, Any] = {"class_path": "optuna.pruners.SuccessiveHalvingPruner", "init_args": {"min_resource": 1, "reduction_factor": 3}}
_KINDS = {"sampler": (SAMPLER_NAMES, optuna.samplers.BaseSampler), "pruner": (PRUNER_NAMES, optuna.pruners.BasePruner)}


def class_spec(kind: str, spec: Any) -> dict[str, Any]:
    """`{class_path, init_args}` of a sampler or pruner given as a class spec, a short name spec or a class path.

    Raises:
        ConfigError: An unknown short name, or a class that is not an Optuna sampler/pruner.
    """
    names, base = _KINDS[kind]
    if isinstance(spec, str):
        spec = {"class_path": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f"`{kind}` must be a class spec such as {{class_path: {next(iter(names.values()))}}}, got {spec!r}")
    spec = dict(spec)
    if "class_path" not in spec:
        if spec.get("name") not in names:
            raise ConfigError(f"`{kind}.name` must be one of {sorted(names)}, got {spec.get('name')!r}")
        return {"class_path": names[spec.pop("name")], "init_args": spec}
    unknown = sorted(set(spec) - {"class_path", "init_args"})
    if unknown:
        raise ConfigError(f"`{kind}` has key(s) {unknown} besides `class_path` and `init_args`; options go under `init_args`")
    class_path = str(spec["class_path"])
    cls = _import_class(kind, class_path)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"`{kind}.class_path` {class_path!r} is not a subclass of {base.__module__}.{base.__name__}")
    return {"class_path": class_path, "init_args": dict(spec.get("init_args") or {})}


def _import_class(kind: str, class_path: str) -> Any:
    module, _, name = class_path.rpartition(".")
    try:
        return getattr(importlib.import_module(module or "optuna"), name)
    except (ImportError, AttributeError):
        raise ConfigError(f"`{kind}.class_path` {class_path!r} cannot be imported; e.g. {next(iter(_KINDS[kind][0].values()))}") from None


@dataclass
class HpoSettings:
    """Everything a study needs besides the storage connection.

    Args:
        base_config: Training config YAML path(s), absolute (later ones override earlier ones).
        search_space: The parameters to tune.
        overrides: Dotted overrides of the base config applied to every trial (before trial params).
        metric: Logged metric the study optimises (a validation metric: the test split never selects).
        direction: `minimize` or `maximize`.
        n_trials: Trials this invocation adds (local workers each take the next one when free); None = until `timeout`.
        max_trials: Stop once the study holds this many finished trials in total (any invocation).
        timeout: Seconds this invocation may run (each worker stops starting trials after it).
        sampler: Optuna sampler as `{class_path, init_args}` (short form `{name: tpe|random, seed: 42}`);
            default TPE seeded with 42.
        pruner: Optuna pruner as `{class_path, init_args}` (short form `{name: median|percentile|
            successive_halving|hyperband|none, ...}`); default successive halving (`DEFAULT_PRUNER`).
        storage: Optuna storage URL; None = `sqlite:///optuna.db` next to the MLflow sqlite store.
        study_name: Study name; None = `hpo-<HPO file stem>`.
        workers: Worker processes on this machine.
        heartbeat_interval: Seconds between a running trial's heartbeats; a trial silent for twice
            this long is failed and retried (its worker died).
        max_retry: Retries of a trial whose worker died.
        retrain_best: After the study, retrain the best configuration and test it as its own run.
        trial_reports: Keep the base config's reporting callbacks (plots, distributions, reports) in
            every trial; False (default) keeps only the trading evaluation's cheap `val/trading/*`
            metrics, saving seconds per trial. The retrained best run always has every report.
        source: The HPO YAML this came from.
    """

    base_config: list[str]
    search_space: SearchSpace
    overrides: dict[str, Any] = field(default_factory=dict)
    metric: str = "val/loss"
    direction: str = "minimize"
    n_trials: Optional[int] = 20
    max_trials: Optional[int] = None
    timeout: Optional[float] = None
    sampler: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_SAMPLER))
    pruner: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_PRUNER))
    storage: Optional[str] = None
    study_name: Optional[str] = None
    workers: int = 1
    heartbeat_interval: int = 30
    max_retry: int = 2
    retrain_best: bool = False
    trial_reports: bool = False
    source: Optional[str] = None

    def __post_init__(self) -> None:
        if self.direction not in ("minimize", "maximize"):
            raise ConfigError(f"`direction` must be `minimize` or `maximize`, got {self.direction!r}")
        if not isinstance(self.metric, str) or not self.metric:
            raise ConfigError(f"`metric` must name a logged metric such as `val/loss`, got {self.metric!r}")
        if self.metric.startswith("test/"):
            raise ConfigError(f"`metric` {self.metric!r} is a test metric; the test split never selects a model: use a `val/` metric")
        for name in ("n_trials", "max_trials", "workers", "heartbeat_interval"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ConfigError(f"`{name}` must be a whole number >= 1, got {value!r}")
        if self.timeout is not None and (not isinstance(self.timeout, (int, float)) or self.timeout <= 0):
            raise ConfigError(f"`timeout` must be a positive number of seconds, got {self.timeout!r}")
        if self.n_trials is None and self.timeout is None and self.max_trials is None:
            raise ConfigError("set `n_trials`, `max_trials` or `timeout`: the study needs a budget")
        if not isinstance(self.max_retry, int) or self.max_retry < 0:
            raise ConfigError(f"`max_retry` must be a whole number >= 0, got {self.max_retry!r}")
        self.sampler = class_spec("sampler", self.sampler)
        self.pruner = class_spec("pruner", self.pruner)
        for path in self.base_config:
            if not Path(path).is_file():
                raise ConfigError(f"`base_config` {path} does not exist (paths are relative to the HPO file)")

    def describe(self) -> dict[str, Any]:
        """JSON-ready settings (for the parent run's params and `hpo/study.json`)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "search_space"}
        out["search_space"] = self.search_space.describe()
        return out


def flatten_overrides(overrides: Any, prefix: str = "") -> dict[str, Any]:
    """`{trainer: {max_epochs: 3}}` or `{trainer.max_epochs: 3}` -> `{"trainer.max_epochs": 3}`.

    `tracking.tags` stays a mapping (its value is one); everything else becomes dotted keys.
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, Mapping):
        raise ConfigError(f"`overrides` must map dotted config keys to values, got {type(overrides).__name__}")
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value and name != "tracking.tags":
            flat.update(flatten_overrides(value, name))
        else:
            flat[name] = value
    return flat


def _parser() -> ArgumentParser:
    """The jsonargparse parser of an HPO file: the fields of `HpoSettings`, typed and documented."""
    register_type(SearchSpace, serializer=lambda space: space.describe(), deserializer=SearchSpace.from_mapping)
    parser = ArgumentParser(exit_on_error=False, prog="tradexp hpo")
    parser.add_class_arguments(HpoSettings, "hpo", sub_configs=False)
    return parser


def load_settings(path: Union[str, Path], options: Optional[Mapping[str, Any]] = None) -> HpoSettings:
    """Read an HPO YAML; `options` (e.g. from the command line) replace its top-level keys.

    Args:
        path: The HPO YAML (`configs/hpo/lstm.yaml`).
        options: Settings to replace (`n_trials`, `workers`, `storage`, ...); `overrides` are merged
            on top of the file's overrides; None values are ignored.

    Raises:
        ConfigError: On a missing file, an unknown key or a bad value (names it and what is allowed).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"HPO config {path} does not exist; see configs/hpo/ for examples")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"HPO config {path} must be a YAML mapping, got {type(raw).__name__}")
    allowed = {f.name for f in fields(HpoSettings)} - {"source"}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"HPO config {path} has unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    values = dict(raw)
    extra = {k: v for k, v in (options or {}).items() if v is not None}
    cli_overrides = flatten_overrides(extra.pop("overrides", None))
    values.update(extra)
    if "base_config" not in values:
        raise ConfigError(f"HPO config {path} needs `base_config`: the training config to tune, e.g. `base_config: ../lstm.yaml`")
    if "search_space" not in values:
        raise ConfigError(f"HPO config {path} needs a `search_space` section")
    base = values.pop("base_config")
    base = [base] if isinstance(base, (str, Path)) else list(base)
    values["base_config"] = [str((path.parent / b).resolve()) for b in base]
    values["overrides"] = {**flatten_overrides(values.get("overrides")), **cli_overrides}
    values["search_space"] = SearchSpace.from_mapping(values["search_space"])  # its own messages, before the types
    for kind in ("sampler", "pruner"):
        if values.get(kind) is not None:
            values[kind] = class_spec(kind, values[kind])
        else:
            values.pop(kind, None)
    values["study_name"] = values.get("study_name") or f"hpo-{path.stem}"
    values["source"] = str(path.resolve())
    parser = _parser()
    try:
        parsed = parser.parse_object({"hpo": values})
    except ArgumentError as exc:  # a value of the wrong type
        from tradexp.config.parser import one_line

        raise ConfigError(f"HPO config {path}: {one_line(str(exc)).replace('hpo.', '')}") from None
    return parser.instantiate_classes(parsed).hpo


def _construct(kind: str, spec: Any, **fixed: Any) -> Any:
    spec = class_spec(kind, spec)
    cls = _import_class(kind, spec["class_path"])
    kwargs = {**spec["init_args"], **fixed}
    accepted = set(inspect.signature(cls).parameters)
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ConfigError(f"`{kind}` {cls.__name__} has no option(s) {unknown}; allowed: {sorted(accepted)}")
    return cls(**kwargs)


def build_sampler(spec: Any, seed_offset: int = 0) -> optuna.samplers.BaseSampler:
    """The Optuna sampler of a spec (`{class_path, init_args}` or `{name: tpe, seed: 42}`); `seed_offset` keeps workers apart."""
    spec = class_spec("sampler", spec)
    seed = spec["init_args"].get("seed")
    fixed = {"seed": int(seed) + seed_offset} if seed is not None else {}
    return _construct("sampler", spec, **fixed)


def build_pruner(spec: Any) -> optuna.pruners.BasePruner:
    """The Optuna pruner of a spec (`{class_path, init_args}` or `{name: median, n_startup_trials: 5}`; `none` never prunes)."""
    return _construct("pruner", spec)
