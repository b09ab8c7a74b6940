"""`RunDescription`: the MLflow run's description (the note the UI shows) holds its headline and report link."""

from __future__ import annotations

import logging
import warnings

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

__all__ = ["RunDescription"]

log = logging.getLogger(__name__)


class RunDescription(Callback):
    """Writes the run's headline (Sharpe after costs vs buy-and-hold, drawdown, verdict, warnings) and a
    link to `report/run_report.html` as the MLflow run description (`mlflow.note.content`).

    Written at the end of `fit` from the validation metrics, then again at the end of `test` from the
    test metrics. Put it after `RunReport` so the report it links to exists. A failure is a warning,
    never the end of a run.
    """

    @override
    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._describe(trainer, "val")

    @override
    def on_test_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not trainer.sanity_checking:
            self._describe(trainer, "test")

    @staticmethod
    def _describe(trainer: "pl.Trainer", split: str) -> None:
        if not trainer.is_global_zero:
            return
        from tradexp.console import describe_run

        metrics = {k: float(v) for k, v in trainer.callback_metrics.items() if getattr(v, "numel", lambda: 1)() == 1}
        for logger in trainer.loggers:
            if not isinstance(logger, MLFlowLogger) or not logger.run_id or getattr(logger, "spool_path", None) is not None:
                continue
            try:
                describe_run(logger.experiment, logger.run_id, metrics, split=split)
            except Exception as err:  # noqa: BLE001 - a description must never end a training run
                warnings.warn(f"the run description could not be written: {type(err).__name__}: {err}", RuntimeWarning, stacklevel=2)
