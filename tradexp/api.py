"""The Python API: the same fits as `tradexp fit`, from a notebook or another program.

    from tradexp.api import build, fit
    result = fit("configs/lstm.yaml", {"trainer.max_epochs": 2, "model.lr": 3e-3})
    result.run_id, result.metrics["test/acc"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import lightning.pytorch as pl
import yaml
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger

__all__ = ["Built", "FitResult", "override_args", "build", "fit"]

Overrides = Union[Mapping[str, Any], Sequence[str], None]


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
    """Outcome of `fit`: the MLflow run id, final metrics (val and test) and the best checkpoint."""

    run_id: Optional[str]
    metrics: dict[str, float] = field(default_factory=dict)
    best_checkpoint: Optional[str] = None
    built: Optional[Built] = None


def override_args(overrides: Overrides) -> list[str]:
    """Turn `{"model.lr": 0.01, "data.features": ["rsi_14"]}` (or `["--model.lr=0.01"]`) into CLI args."""
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        args = []
        for key, value in overrides.items():
            text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True).strip()
            if text.endswith("\n...") or text.endswith("..."):
                text = text.replace("\n...", "").rstrip(".").strip()
            args.append(f"--{key}={text}")
        return args
    return [a if a.startswith("--") else f"--{a}" for a in overrides]


def build(
    config: Union[str, Path, Iterable[Union[str, Path]], None] = None,
    overrides: Overrides = None,
    callbacks: Sequence[Callback] = (),
) -> Built:
    """Parse and validate a config (YAML path(s) + overrides) and instantiate trainer, model, data.

    Args:
        config: One YAML path or several (later ones override earlier ones); None = defaults.
        overrides: Dotted keys to values (`{"trainer.max_epochs": 2}`) or CLI-style strings.
        callbacks: Extra callbacks appended to the trainer's.

    Returns:
        Built: trainer, model, datamodule, the resolved config and the CLI object.

    Raises:
        ConfigError / ValueError: On a bad config, with every problem named.
    """
    from tradexp.cli import TradexpCLI

    paths = [] if config is None else [config] if isinstance(config, (str, Path)) else list(config)
    args: list[str] = []
    for path in paths:
        args += ["--config", str(path)]
    args += override_args(overrides)
    cli = TradexpCLI(args=args, run=False)
    cli.trainer.callbacks.extend(callbacks)
    return Built(trainer=cli.trainer, model=cli.model, datamodule=cli.datamodule, config=cli.config, cli=cli)


def fit(
    config: Union[str, Path, Iterable[Union[str, Path]], None] = None,
    overrides: Overrides = None,
    callbacks: Sequence[Callback] = (),
    test: bool = True,
) -> FitResult:
    """Fit as `tradexp fit` does (then test the best checkpoint) and return the outcome.

    Args:
        config: YAML path(s), see `build`.
        overrides: See `build`.
        callbacks: Extra callbacks.
        test: Evaluate the best checkpoint on the test split after fitting.
    """
    from tradexp.training import test_best_checkpoint

    built = build(config, overrides, callbacks)
    built.trainer.fit(built.model, datamodule=built.datamodule)
    metrics = {k: float(v) for k, v in built.trainer.callback_metrics.items() if v.numel() == 1}
    if test:
        test_best_checkpoint(built.trainer, built.model, built.datamodule)
        metrics.update({k: float(v) for k, v in built.trainer.callback_metrics.items() if v.numel() == 1})
    checkpoint = built.trainer.checkpoint_callback
    best = getattr(checkpoint, "best_model_path", None) or None
    return FitResult(run_id=built.run_id, metrics=metrics, best_checkpoint=best, built=built)


# -- organisation: configs, runs, reproduction (notebook counterparts of `tradexp config|runs|reproduce`) --
def load_config(
    config: Union[str, Path, Iterable[Union[str, Path]], None] = None,
    overrides: Overrides = None,
) -> dict[str, Any]:
    """Parse YAML path(s) + overrides as `tradexp fit` does, check every domain rule, build nothing.

        cfg = load_config("configs/lstm.yaml", {"model.lr": 3e-3})
        cfg["data"]["window"]

    Returns:
        The resolved config as a nested dict (what a run stores as `config/config.yaml`).

    Raises:
        ConfigError: Every broken rule, one line each. ValueError: a value of the wrong type.
    """
    from tradexp.config.loading import load_config as _load

    return _load(config, overrides)


def list_runs(tracking_uri: Optional[str] = None, metrics: Optional[Sequence[str]] = None, **query: Any) -> "Any":
    """Runs as a pandas DataFrame (one row per run: ids, tags, status, all metrics), like `tradexp runs`.

        list_runs(model="lstm", where=["test/acc>0.52"], sort="test/acc")

    Args:
        tracking_uri: Store (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).
        metrics: Metric columns to keep (default: all metrics of the runs).
        **query: Fields of `tradexp.organisation.RunQuery`: model, stage, type, dataset, purpose,
            status, experiment, tags, where, parent, since, sort, ascending, limit.
    """
    import pandas as pd

    from tradexp.organisation.run_query import ROW_FIELDS, RunQuery, find_runs, run_rows
    from tradexp.tracking.store import open_store

    runs, experiments = find_runs(open_store(tracking_uri), RunQuery(**query))
    rows, _ = run_rows(runs, experiments, metrics)
    frame = pd.DataFrame(rows)
    if metrics is not None and len(frame):
        frame = frame[[c for c in ROW_FIELDS if c in frame.columns] + [m for m in metrics if m in frame.columns]]
    return frame


def diff_configs(run_a: Union[str, Mapping[str, Any]], run_b: Union[str, Mapping[str, Any]], tracking_uri: Optional[str] = None) -> list:
    """What changed between two configs: run ids (their stored config) or resolved config dicts.

    Returns:
        A list of `tradexp.config.ConfigChange(path, kind, before, after)`; kind is changed/added/removed.
    """
    from tradexp.config.history import diff_configs as _diff, run_config
    from tradexp.tracking.store import open_store

    client = None
    sides = []
    for side in (run_a, run_b):
        if isinstance(side, Mapping):
            sides.append(side)
        else:
            client = client or open_store(tracking_uri)
            sides.append(run_config(client, side))
    return _diff(sides[0], sides[1])


def reproduce(run_id: str, overrides: Overrides = None, tracking_uri: Optional[str] = None, check_only: bool = False) -> Any:
    """Re-run a run from its stored config and seed as a new `reproduction` run, like `tradexp reproduce`.

    Returns:
        `tradexp.organisation.Reproduction`: `differences` (code, packages, data found before
        starting), `run_id` of the new run, `metrics` (original vs reproduction), `test_metrics_match`.
    """
    from tradexp.organisation.reproduce import reproduce_run

    return reproduce_run(run_id, overrides, tracking_uri=tracking_uri, check_only=check_only)


__all__ += ["load_config", "list_runs", "diff_configs", "reproduce"]

from tradexp.lifecycle.registry import register  # noqa: E402  (gated registry: `tradexp register`)

__all__ += ["register"]
