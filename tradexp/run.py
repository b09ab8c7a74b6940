"""The one path from a config to a run: `load_config`, `build`, `fit` (and the test after the fit).

Every command goes through here: `tradexp fit` (TradexpCLI calls `training.test_best_checkpoint`), each HPO trial
(`build`), the best-of-study retrain, each walk-forward fold and `tradexp reproduce` (`fit`), and
the Python API (`tradexp.api` re-exports this module).

    from tradexp.run import fit
    result = fit("configs/lstm.yaml", {"trainer.max_epochs": 2, "model.lr": 3e-3})
    result.run_id, result.metrics["test/acc"]

Follow one `tradexp fit --config configs/lstm.yaml` from YAML to the MLflow run by reading, in order:

1. `tradexp/cli.py`             the console script: `fit` goes to TradexpCLI, other commands to their `main`.
2. `tradexp/run.py` (this)      config sources + overrides -> one request dict for LightningCLI; build,
                                fit, test after fit, the `Built` / `FitResult` a caller gets back.
3. `tradexp/lightning_cli.py`   TradexpCLI: the parser (links, `tracking`, `checkpoint`), parsing the
                                request, the domain check, and the trainer with its logger and callbacks.
4. `tradexp/config/parser.py`, `config/validation.py`   one-line parse errors; rules across fields.
5. `tradexp/data/datamodule.py`, `tradexp/models/module.py`   what the config instantiates.
6. `tradexp/tracking/parent_run.py` (names + tags from a config through `tracking/naming.py`),
   `tracking/logger.py` (the MLflow run and its honest end status), `tracking/config_callback.py`
   (params + `config/config.yaml`), `tracking/recorder.py` (git, data digest, splits, scaler).
7. `tradexp/training.py`        testing the best checkpoint and the console summary.

Parent runs (HPO study, walk-forward, comparison) open and end through `tracking/parent_run.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from jsonargparse import ArgumentError
from lightning.pytorch.loggers import MLFlowLogger

from tradexp.config.overrides import Overrides, as_overrides

__all__ = ["Built", "FitResult", "ConfigSources", "TRAINER_ONLY_KEYS", "config_request", "load_config", "build", "fit", "fit_built"]

# YAML path(s) and/or resolved config mappings (a run's stored config); later ones override earlier ones.
ConfigSources = Union[str, Path, Mapping[str, Any], Iterable[Union[str, Path, Mapping[str, Any]]], None]

# Keys a `fit` run stores that belong to the subcommand, not to the config `build` parses.
TRAINER_ONLY_KEYS = ("ckpt_path", "weights_only")


@dataclass
class Built:
    """What `build` returns: everything `tradexp fit` would use, not yet run."""

    trainer: pl.Trainer
    model: pl.LightningModule
    datamodule: pl.LightningDataModule
    config: Any  # the resolved jsonargparse Namespace
    cli: Any

    @property
    def run_id(self) -> Optional[str]:
        for logger in self.trainer.loggers:
            if isinstance(logger, MLFlowLogger):
                return logger.run_id
        return None


@dataclass
class FitResult:
    """Outcome of `fit`: the MLflow run id, final metrics (val and test) and the best checkpoint.

    Attributes:
        samples: Samples per split (`train`, `val`, `test`) of the datamodule.
        trading: The test split's `TradingReport` (backtests, accuracy test) when the trainer had a
            `TradingEvaluation` callback and the test ran, else None.
        universe: On a universe, the test split's `UniverseReport` (per symbol, cross-sectional) under
            the same conditions, else None.
    """

    run_id: Optional[str]
    metrics: dict[str, float] = field(default_factory=dict)
    best_checkpoint: Optional[str] = None
    built: Optional[Built] = None
    samples: dict[str, int] = field(default_factory=dict)
    trading: Any = None
    universe: Any = None

    def _repr_html_(self) -> str:  # Jupyter: run, headline table, report path
        from tradexp.notebook import fit_result_html

        return fit_result_html(self)


def _sources(config: ConfigSources) -> list[Union[str, Mapping[str, Any]]]:
    if config is None:
        return []
    if isinstance(config, (str, Path, Mapping)):
        config = [config]
    return [source if isinstance(source, Mapping) else str(source) for source in config]


def config_request(config: ConfigSources = None, overrides: Overrides = None) -> dict[str, Any]:
    """The structured request TradexpCLI parses: `{"config": [sources], "<dotted key>": value, ...}`.

    Args:
        config: YAML path(s) or resolved config mapping(s); later ones override earlier ones.
        overrides: Dotted keys to values (`{"trainer.max_epochs": 2}`) or command-line words.
    """
    return {"config": _sources(config), **as_overrides(overrides)}


def load_config(config: ConfigSources = None, overrides: Overrides = None) -> dict[str, Any]:
    """Parse config(s) and overrides exactly as `tradexp fit` does, check every domain rule, build nothing.

        cfg = load_config("configs/lstm.yaml", {"model.lr": 3e-3})
        cfg["data"]["window"]

    Returns:
        The resolved config as a nested dict (what a run stores as `config/config.yaml`).

    Raises:
        ConfigError: Every broken domain rule, one line each.
        ValueError: A value of the wrong type or an unknown key (as jsonargparse reports it, one line).
    """
    from tradexp.config.parser import one_line
    from tradexp.config.yaml_text import dump_config, load_yaml
    from tradexp.lightning_cli import TradexpCLI

    class _ParseOnly(TradexpCLI):
        def instantiate_classes(self) -> None:  # parse and validate only
            return None

    try:
        cli = _ParseOnly(args=config_request(config, overrides), run=False, parser_kwargs={"parser_mode": "yaml", "exit_on_error": False})
    except ArgumentError as exc:  # jsonargparse's ArgumentError is not a ValueError
        raise ValueError(one_line(str(exc))) from None
    return load_yaml(dump_config(cli.parser, cli.config, skip_none=False))


def build(config: ConfigSources = None, overrides: Overrides = None, callbacks: Sequence[Callback] = ()) -> Built:
    """Parse and validate config(s) + overrides and instantiate trainer, model and datamodule.

    Args:
        config: YAML path(s) or resolved config mapping(s) (later ones override earlier ones); None = defaults.
        overrides: Dotted keys to values (`{"trainer.max_epochs": 2}`) or command-line words.
        callbacks: Extra callbacks appended to the trainer's.

    Returns:
        Built: trainer, model, datamodule, the resolved config and the CLI object.

    Raises:
        ConfigError / ValueError: On a bad config, with every problem named.
    """
    from tradexp.lightning_cli import TradexpCLI

    cli = TradexpCLI(args=config_request(config, overrides), run=False)
    cli.trainer.callbacks.extend(callbacks)
    return Built(trainer=cli.trainer, model=cli.model, datamodule=cli.datamodule, config=cli.config, cli=cli)


def _scalar_metrics(trainer: "pl.Trainer") -> dict[str, float]:
    return {k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1}


def fit_built(built: Built, test: bool = True) -> FitResult:
    """Fit what `build` returned (then test the best checkpoint) and collect the outcome."""
    from tradexp.evaluation.callback import TradingEvaluation
    from tradexp.tracking.local_checkpoints import release_local_checkpoints
    from tradexp.training import announce_test, test_best_checkpoint

    trainer = built.trainer
    announce_test(trainer, built.datamodule, test)
    trainer.fit(built.model, datamodule=built.datamodule)
    metrics = _scalar_metrics(trainer)
    if test:
        test_best_checkpoint(trainer, built.model, built.datamodule)
        metrics.update(_scalar_metrics(trainer))
    released = release_local_checkpoints(trainer)  # the run's `checkpoints/` artifacts hold them now
    checkpoint = trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_path", None) or None
    if best is not None and Path(best) in released:
        best = f"runs:/{built.run_id}/checkpoints/best.ckpt"
    splits = getattr(built.datamodule, "splits", None)
    samples = {name: int(len(positions)) for name, positions in splits.items()} if splits is not None else {}
    evaluation = next((cb for cb in trainer.callbacks if isinstance(cb, TradingEvaluation)), None)
    return FitResult(
        run_id=built.run_id,
        metrics=metrics,
        best_checkpoint=best,
        built=built,
        samples=samples,
        trading=evaluation.report if evaluation is not None and test else None,
        universe=evaluation.universe_report if evaluation is not None and test else None,
    )


def fit(config: ConfigSources = None, overrides: Overrides = None, callbacks: Sequence[Callback] = (), test: bool = True) -> FitResult:
    """Fit as `tradexp fit` does (then test the best checkpoint) and return the outcome.

    Args:
        config: YAML path(s) or resolved config mapping(s), see `build`.
        overrides: See `build`.
        callbacks: Extra callbacks.
        test: Evaluate the best checkpoint on the test split after fitting.
    """
    return fit_built(build(config, overrides, callbacks), test=test)
