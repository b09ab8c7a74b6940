"""`OptunaPruning`: report a validation metric to an Optuna trial after every epoch and prune it early."""

from __future__ import annotations

import math
import time
from typing import Literal, Optional

import lightning.pytorch as pl
import optuna
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

from tradexp.errors import ConfigError

__all__ = ["OptunaPruning", "MetricNotFoundError"]


class MetricNotFoundError(ConfigError):
    """The monitored metric is not among the metrics the model logs."""


class OptunaPruning(Callback):
    """Reports `monitor` to `trial` after each validation epoch; raises `optuna.TrialPruned` when the
    study's pruner says so.

    Lightning then ends the fit and calls the logger's `finalize("failed")`; tradexp's logger maps
    `TrialPruned` to a FINISHED MLflow run (a pruned trial is not a failure). The callback also
    keeps what the study records about the trial: the value per epoch, epochs run and training time.

    Written for one training process (what a trial is); it replaces `optuna-integration`'s
    `PyTorchLightningPruningCallback` without the extra dependency.

    Args:
        trial: The running Optuna trial.
        monitor: Metric in `trainer.callback_metrics`, e.g. `val/loss`.
        direction: `minimize` or `maximize`: how the best epoch is chosen.
    """

    def __init__(self, trial: optuna.Trial, monitor: str = "val/loss", direction: Literal["minimize", "maximize"] = "minimize") -> None:
        if direction not in ("minimize", "maximize"):
            raise ValueError(f"`direction` must be `minimize` or `maximize`, got {direction!r}")
        self.trial = trial
        self.monitor = monitor
        self.direction = direction
        self.values: dict[int, float] = {}
        self.pruned_epoch: Optional[int] = None
        self.train_seconds = 0.0
        self._train_started: Optional[float] = None

    @property
    def epochs_run(self) -> int:
        """Validation epochs completed (a pruned trial counts the epoch it was pruned after)."""
        return len(self.values)

    @property
    def best_epoch(self) -> Optional[int]:
        """The epoch with the best finite value of `monitor` (None before any)."""
        finite = {e: v for e, v in self.values.items() if math.isfinite(v)}
        if not finite:
            return None
        pick = min if self.direction == "minimize" else max
        return pick(finite, key=finite.__getitem__)

    @property
    def best_value(self) -> float:
        """The best value of `monitor` over the epochs (NaN before any finite one)."""
        epoch = self.best_epoch
        return float("nan") if epoch is None else self.values[epoch]

    @override
    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._train_started = time.perf_counter()

    @override
    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._stop_clock()

    @override
    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        self._stop_clock()

    def _stop_clock(self) -> None:
        if self._train_started is not None:
            self.train_seconds += time.perf_counter() - self._train_started
            self._train_started = None

    @override
    def on_validation_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if trainer.sanity_checking:
            return
        metrics = trainer.callback_metrics
        if self.monitor not in metrics:
            available = sorted(metrics)
            raise MetricNotFoundError(f"the study's `metric` {self.monitor!r} is not logged by the model; metrics that exist: {available}")
        value = float(metrics[self.monitor])
        epoch = trainer.current_epoch
        self.values[epoch] = value
        self.trial.report(value, epoch)
        if self.trial.should_prune():
            self.pruned_epoch = epoch
            raise optuna.TrialPruned(f"trial {self.trial.number} pruned after epoch {epoch} ({self.monitor}={value:.6g})")
