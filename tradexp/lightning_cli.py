"""`TradexpCLI`: LightningCLI with tradexp's data/model wiring, MLflow tracking and test-after-fit."""

from __future__ import annotations

import logging
import re
import sys
from collections import OrderedDict
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from lightning.pytorch.callbacks import ModelCheckpoint, ProgressBar
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from callbacks.epoch_lines import EpochLines
from tradexp.callback_defaults import DEFAULT_CALLBACKS
from tradexp.checkpoint_io import with_background_checkpointing
from tradexp.console import silence_known_noise
from tradexp.config.parser import TradexpArgumentParser
from tradexp.config.validation import validate_config
from tradexp.data.datamodule import BarsDataModule
from tradexp.errors import ConfigError
from tradexp.models.module import TradingModule, net_class_paths, net_name
from tradexp.models.nets import NETS
from tradexp.models.symbol_embedding import symbol_embedding_width
from tradexp.tracking.config_callback import LogConfigToRun
from tradexp.tracking.description import RunDescription
from tradexp.tracking.local_checkpoints import newest_stored_last, release_local_checkpoints, restore_checkpoint
from tradexp.tracking.logger import TradexpLogger
from tradexp.ranges import PositiveFloat
from tradexp.tracking.naming import DEFAULT_EXPERIMENT_TEMPLATE, DEFAULT_RUN_TEMPLATE, RunType, Stage
from tradexp.tracking.parent_run import run_names
from tradexp.tracking.recorder import RunRecorder
from tradexp.tracking.store import open_store
from tradexp.console import print_fit_summary
from tradexp.training import announce_test, test_best_checkpoint

__all__ = ["TradexpCLI", "TrackingSettings"]

log = logging.getLogger(__name__)

# Parsers built by `TradexpCLI.setup_parser` for `run=False` (build / load_config), by how they were built.
_PARSERS: "OrderedDict[tuple, LightningArgumentParser]" = OrderedDict()
_PARSERS_KEPT = 4


def _parse_request(parser: LightningArgumentParser, request: Mapping[str, Any]) -> Any:
    """Parse `{"config": [sources], **dotted overrides}` into one validated Namespace (see `parse_arguments`)."""
    overrides = {k: v for k, v in request.items() if k != "config"}
    sources = request.get("config") or []
    sources = [sources] if isinstance(sources, (str, Path, Mapping)) else list(sources)
    namespace = None
    for index, source in enumerate(sources):
        last = index == len(sources) - 1
        if isinstance(source, Mapping):
            namespace = parser.parse_object(dict(source), namespace=namespace)
            if last and overrides:
                namespace = parser.parse_object(overrides, namespace=namespace)
        else:  # jsonargparse applies a `config` path, then the keys after it, as `--config P --key V` does
            namespace = parser.parse_object({"config": str(source), **(overrides if last else {})}, namespace=namespace)
    return namespace if sources else parser.parse_object(overrides)


def _refuse_unsafe_checkpoint(ckpt_path: str) -> Optional[dict]:
    """Refuse, before anything runs, a checkpoint that could execute code when Lightning loads it.

    Lightning loads a URL with `weights_only=False` (arbitrary code); a local file must load with
    `weights_only=True` (tensors and plain values only).

    Raises:
        ConfigError: Naming the checkpoint and why it was refused.

    Returns:
        The loaded checkpoint (memory-mapped), or None when `ckpt_path` is no file (`last`, a missing path).
    """
    if "://" in ckpt_path:
        raise ConfigError(f"ckpt_path: {ckpt_path!r} refused: remote checkpoints are loaded with weights_only=False (they could run code); download it and pass the file")
    path = Path(ckpt_path)
    if ckpt_path in ("last", "hpc", "registry") or not path.is_file():
        return None
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # UnpicklingError for code in the file; RuntimeError/EOFError for a corrupt one
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = next((line for line in lines if "GLOBAL" in line), lines[0] if lines else type(exc).__name__)
        raise ConfigError(f"ckpt_path: {ckpt_path!r} refused: it does not load as plain weights (weights_only=True): {reason.strip()}") from None


def _refuse_foreign_net(ckpt_path: str, checkpoint: Mapping[str, Any], model_config: Any) -> None:
    """LightningCLI rebuilds `model` from the checkpoint's hyperparameters, `net` by its `class_path`:
    accept only a net tradexp ships or the configured one, so a checkpoint cannot name other code.

    Raises:
        ConfigError: For another class, or a checkpoint whose `net` has no `class_path` (older tradexp).
    """
    net = (checkpoint.get("hyper_parameters") or {}).get("net")
    if not isinstance(net, Mapping):
        return
    if "class_path" not in net:
        raise ConfigError(f"ckpt_path: {ckpt_path!r} was written by an older tradexp (its `net` has no class_path); load it with tradexp.models.load_trading_module")
    configured = model_config.get("net") if model_config is not None else None
    allowed = {path for cls in NETS.values() for path in net_class_paths(cls)} | {str(getattr(configured, "class_path", ""))}
    if net["class_path"] not in allowed:
        raise ConfigError(f"ckpt_path: {ckpt_path!r} refused: its net `{net['class_path']}` is neither a tradexp net nor the configured `model.net`")


def _warn_replaced_hparams(ckpt_path: str, checkpoint: Mapping[str, Any], model_config: Any) -> list[str]:
    """Name each `model.*` value the checkpoint's hyperparameters replace, in one warning.

    LightningCLI rebuilds `model` from the checkpoint's hyperparameters (the model its weights were
    trained as), over the config and the command line: `--model.lr 0.05 --ckpt_path F` silently
    keeps F's lr otherwise. Returns the changes, `model.<key> <configured> -> <checkpoint's>`.
    """
    saved = checkpoint.get("hyper_parameters") or {}
    configured = model_config.as_dict() if hasattr(model_config, "as_dict") else dict(model_config or {})

    def same(a: Any, b: Any) -> bool:
        return (list(a) if isinstance(a, tuple) else a) == (list(b) if isinstance(b, tuple) else b)

    changes = []
    for key, value in saved.items():
        if key in ("symbols", "_instantiator", "_class_path") or key not in configured:
            continue
        if key == "net" and isinstance(value, Mapping) and isinstance(configured[key], Mapping):
            mine = configured[key]
            if value.get("class_path") != mine.get("class_path"):
                changes.append(f"model.net {mine.get('class_path')} -> {value.get('class_path')}")
                continue
            args, my_args = value.get("init_args") or {}, mine.get("init_args") or {}
            changes += [f"model.net.init_args.{k} {my_args[k]!r} -> {v!r}" for k, v in args.items() if k in my_args and not same(my_args[k], v)]
        elif not same(configured[key], value):
            changes.append(f"model.{key} {configured[key]!r} -> {value!r}")
    if changes:
        log.warning(
            "ckpt_path: %s: the checkpoint's hyperparameters replace the config's (LightningCLI rebuilds the model its weights were trained as): %s. "
            "To train with other values, fit without --ckpt_path.",
            ckpt_path,
            "; ".join(changes),
        )
    return changes


@dataclass
class TrackingSettings:
    """Where and how the run is recorded in MLflow.

    Args:
        enabled: Record the run in MLflow (False = no logger).
        tracking_uri: MLflow store; default `MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`.
        experiment: Experiment name; default from `experiment_template`.
        run_name: Run name; default from `run_template`.
        stage: development, staging or production.
        purpose: Short free text for names and the `tradexp.purpose` tag.
        dataset_version: Version label of the data (e.g. `2024-06`): the `tradexp.dataset.version` tag.
        tags: Extra tags set on the run.
        experiment_template: Fields: stage, type, model, dataset, dataset_version, purpose, timestamp, date.
        run_template: Same fields as `experiment_template`.
        run_type: training, reproduction, ... (the `tradexp.type` tag; set by tradexp's own commands).
        run_id: Continue this run (used when resuming from a checkpoint).
        synchronous: False logs metrics asynchronously (flushed at the end).
        heartbeat_interval: Seconds between heartbeats stamped on the run (finds runs of killed processes).
        reap_stale_after: At start, mark RUNNING runs of the experiment without a heartbeat for this many
            seconds FAILED (their process died); null disables.
        test_after_fit: Evaluate the best checkpoint on the test split after `fit`.
        log_model: After that test, log the run's MLflow model (`python_function`, bars in, signals out).
        keep_local_checkpoints: Keep the local checkpoint files the run's `checkpoints/` artifacts also
            hold (default: removed at the end of the fit, except the `last.ckpt` of a KILLED run;
            `--ckpt_path last` downloads a removed one).
    """

    enabled: bool = True
    tracking_uri: Optional[str] = None
    experiment: Optional[str] = None
    run_name: Optional[str] = None
    stage: Stage = "development"
    purpose: str = ""
    dataset_version: Optional[str] = None
    tags: dict[str, str] = field(default_factory=dict)
    experiment_template: str = DEFAULT_EXPERIMENT_TEMPLATE
    run_template: str = DEFAULT_RUN_TEMPLATE
    run_type: RunType = "training"
    run_id: Optional[str] = None
    synchronous: Optional[bool] = None
    heartbeat_interval: PositiveFloat = 30.0
    reap_stale_after: Optional[PositiveFloat] = 180.0
    test_after_fit: bool = True
    log_model: bool = True
    keep_local_checkpoints: bool = False


def _wants_epoch_lines(trainer_config: Any, callbacks: list) -> bool:
    """One line per epoch instead of tqdm redraws when the output is not a terminal (a log file, CI),
    unless the user chose: `trainer.enable_progress_bar` set, or a progress bar among their callbacks."""
    if trainer_config.get("enable_progress_bar") is not None or any(isinstance(c, ProgressBar) for c in callbacks):
        return False
    if "ipykernel" in sys.modules:  # Jupyter: not a TTY, but it draws the bar in place
        return False
    return not (sys.stderr.isatty() and sys.stdout.isatty())


def _restore_released(path: Path, tracking: Any) -> None:
    """A run's checkpoint path (`lightning_logs/<experiment_id>/<run_id>/checkpoints/NAME.ckpt`) whose local
    copy was released: download it back from the run, so `--ckpt_path` to it works as before."""
    if path.is_file() or path.parent.name != "checkpoints" or "://" in str(path):
        return
    uri = tracking.get("tracking_uri") if tracking is not None else None
    restore_checkpoint(open_store(uri), path.resolve())


def _newest_last_checkpoint(client: Any, experiment_id: str) -> Optional[Path]:
    """The newest `last.ckpt` of the experiment: a local file, or a run's stored one (downloaded to its local path)."""
    local = sorted(Path("lightning_logs", experiment_id).glob("*/checkpoints/last.ckpt"), key=lambda p: p.stat().st_mtime)
    stored = newest_stored_last(client, experiment_id)
    if stored is not None and (not local or stored[1] > local[-1].stat().st_mtime):
        path = Path("lightning_logs", experiment_id, stored[0], "checkpoints", "last.ckpt").resolve()
        if path.is_file() or restore_checkpoint(client, path):
            return path
    return local[-1].resolve() if local else None


class TradexpCLI(LightningCLI):
    """LightningCLI with tradexp's data/model wiring, MLflow tracking and test-after-fit."""

    def __init__(self, args: Any = None, run: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("save_config_callback", LogConfigToRun)
        kwargs.setdefault("save_config_kwargs", {"save_to_log_dir": False, "overwrite": True})
        kwargs.setdefault("auto_configure_optimizers", False)
        kwargs.setdefault("trainer_defaults", {"max_epochs": 20, "enable_autolog_hparams": False, "deterministic": True})
        kwargs.setdefault("parser_kwargs", {"parser_mode": "yaml"})
        kwargs.setdefault("parser_class", TradexpArgumentParser)
        silence_known_noise()
        super().__init__(TradingModule, BarsDataModule, args=args, run=run, **kwargs)

    def setup_parser(self, add_subcommands: bool, main_kwargs: dict[str, Any], subparser_kwargs: dict[str, Any]) -> None:
        """Build the parser once per process for each way of building it, when it has no subcommands.

        jsonargparse reads every class signature to build it (~50 ms): an HPO study, walk-forward and the
        Python API build one per fit. Parsing does not change a parser; the instantiators LightningCLI
        registers on it are replaced per class by each build (so a cached parser keeps the last build's
        CLI, and what it built, reachable until the next build). `tradexp fit` (subcommands) builds its own.
        """
        if add_subcommands:
            return super().setup_parser(add_subcommands, main_kwargs, subparser_kwargs)
        methods = tuple(
            getattr(type(self), name) for name in ("init_parser", "_add_arguments", "add_default_arguments_to_parser", "add_core_arguments_to_parser", "add_arguments_to_parser")
        )
        key = (methods, repr(main_kwargs), repr(self.trainer_defaults), repr(self.seed_everything_default), self.trainer_class, self.model_class, self.datamodule_class)
        key += (self.subclass_mode_model, self.subclass_mode_data, self.auto_configure_optimizers, self.parser_class)
        if key in _PARSERS:
            _PARSERS.move_to_end(key)
            self.parser = _PARSERS[key]
            return
        super().setup_parser(add_subcommands, main_kwargs, subparser_kwargs)
        _PARSERS[key] = self.parser
        while len(_PARSERS) > _PARSERS_KEPT:
            _PARSERS.popitem(last=False)

    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # inputs per bar: the features, plus the symbol embedding's width when `model.symbol_embedding` is set
        parser.link_arguments(("data.features", "model.symbol_embedding"), "model.net.init_args.n_features", symbol_embedding_width, apply_on="parse")
        parser.link_arguments("data.window", "model.net.init_args.window", apply_on="parse")
        parser.link_arguments("data.task", "model.task", apply_on="parse")
        parser.add_class_arguments(TrackingSettings, "tracking")
        # Built in `instantiate_trainer` (not by LightningCLI) so `trainer.enable_checkpointing: false` drops it.
        parser.add_class_arguments(ModelCheckpoint, "checkpoint", instantiate=False)
        parser.set_defaults(
            {
                "trainer.callbacks": [dict(spec) for spec in DEFAULT_CALLBACKS] or None,
                "checkpoint.monitor": "val/loss",
                "checkpoint.mode": "min",
                "checkpoint.save_last": True,
                "checkpoint.filename": "epoch{epoch:03d}-step{step}",
                "checkpoint.auto_insert_metric_name": False,
                "checkpoint.save_on_exception": True,
            }
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: Any) -> None:
        """Parse command-line words (`tradexp fit ...`) or a request from `tradexp.run.config_request`.

        A request is `{"config": [sources], "<dotted key>": value, ...}`: each source (a YAML path
        or a resolved config mapping) is parsed onto the previous one, the overrides onto the last.
        Values may be typed (`2`, `["rsi_14"]`) or command-line strings (`"2"`, `"[rsi_14]"`):
        jsonargparse converts both by the key's type, as for `--key value`.
        """
        if isinstance(args, Mapping):
            self.config = _parse_request(parser, args)
        else:
            super().parse_arguments(parser, args)
        subcommand = self.config.get("subcommand")
        config = self.config[subcommand] if subcommand else self.config
        ckpt_path = config.get("ckpt_path")
        if ckpt_path:  # before Lightning reads the checkpoint's hyperparameters (an unsafe file is a traceback there)
            _restore_released(Path(str(ckpt_path)), config.get("tracking"))
            checkpoint = _refuse_unsafe_checkpoint(str(ckpt_path))
            if checkpoint is not None:
                _refuse_foreign_net(str(ckpt_path), checkpoint, config.get("model"))
                _warn_replaced_hparams(str(ckpt_path), checkpoint, config.get("model"))

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        validate_config(config)

    def instantiate_trainer(self, **kwargs: Any) -> Any:
        settings = self._get(self.config_init, "tracking")
        trainer_config = self._get(self.config_init, "trainer", default={})
        callbacks = list(trainer_config.get("callbacks") or [])
        if trainer_config.get("enable_checkpointing") is not False:
            checkpoint = self._get(self.config_init, "checkpoint")
            callbacks.append(ModelCheckpoint(**(checkpoint.as_dict() if hasattr(checkpoint, "as_dict") else dict(checkpoint))))
        if settings.enabled and trainer_config.get("logger") in (None, True):
            names = run_names(settings, net_name(self.model.net), self.datamodule.dataset_name)
            run_id = settings.run_id or self._run_to_resume(names.experiment, settings.tracking_uri)
            options = {key: getattr(settings, key) for key in ("synchronous", "heartbeat_interval", "reap_stale_after", "keep_local_checkpoints")}
            kwargs["logger"] = TradexpLogger(experiment_name=names.experiment, run_name=names.run_name, tracking_uri=names.tracking_uri, tags=names.tags, run_id=run_id, **options)
            callbacks.append(RunRecorder(tags=names.tags))
            if settings.log_model:  # after the test of the best checkpoint (tradexp.lifecycle)
                from tradexp.lifecycle.model_logging import LogTradexpModel

                callbacks.append(LogTradexpModel())
            callbacks.append(RunDescription())  # after RunReport: the description links the report
        if _wants_epoch_lines(trainer_config, callbacks):
            callbacks.append(EpochLines())
        kwargs["callbacks"] = callbacks
        if trainer_config.get("enable_checkpointing") is not False:  # last.ckpt / best written off the loop
            kwargs = with_background_checkpointing(kwargs, trainer_config.get("plugins"))
        return super().instantiate_trainer(**kwargs)

    def _run_to_resume(self, experiment: str, tracking_uri: Optional[str]) -> Optional[str]:
        """With `fit --ckpt_path last|PATH`, the MLflow run that wrote that checkpoint (continued, not duplicated).

        Checkpoints live in `<save_dir>/<experiment_id>/<run_id>/checkpoints/`; `last` picks the newest
        `last.ckpt` of the experiment.
        """
        ckpt_path = self.config[self.subcommand].get("ckpt_path") if self.subcommand == "fit" else None
        if not ckpt_path:
            return None
        if ckpt_path == "last":
            client = open_store(tracking_uri)
            found = client.get_experiment_by_name(experiment)
            path = _newest_last_checkpoint(client, found.experiment_id) if found else None
            if path is None:
                raise ConfigError(f"ckpt_path: `last` found no last.ckpt for experiment {experiment!r} under lightning_logs/ or in its runs; pass a checkpoint path")
            _refuse_unsafe_checkpoint(str(path))  # `last` was not checked at parse time: it had no file yet
            self.config_init[self.subcommand]["ckpt_path"] = str(path)
        else:
            path = Path(ckpt_path).resolve()
            if not path.is_file():
                raise ConfigError(f"ckpt_path: {ckpt_path!r} is not a file; pass an existing checkpoint or `last`")
        run_id = path.parent.parent.name if path.parent.name == "checkpoints" else None
        if run_id and re.fullmatch(r"[0-9a-f]{32}", run_id):
            log.info("resuming MLflow run %s from %s", run_id, path)
            return run_id
        return None

    def before_fit(self) -> None:
        announce_test(self.trainer, self.datamodule, self._get(self.config, "tracking")["test_after_fit"])

    def after_fit(self) -> None:
        if self._get(self.config, "tracking")["test_after_fit"]:
            test_best_checkpoint(self.trainer, self.model, self.datamodule)
        release_local_checkpoints(self.trainer)  # the run's artifacts hold them now
        print_fit_summary(self.trainer)
