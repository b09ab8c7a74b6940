"""Log LightningCLI's resolved config into the MLflow run (params + `config/config.yaml`)."""

from __future__ import annotations

import lightning.pytorch as pl
import yaml
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

from tradexp.tracking.logger import flatten_config

__all__ = ["LogConfigToRun"]

_NOT_PARAMS = {"ckpt_path", "tracking.run_id"}


class LogConfigToRun(SaveConfigCallback):
    """Stores the fully resolved config in the run: `config/config.yaml` and flattened params.

    LightningCLI's own SaveConfigCallback writes to `trainer.log_dir`, which an MLflow logger on a
    sqlite or server store does not have; this one logs to the run instead.
    """

    @override
    def save_config(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not trainer.is_global_zero:
            return
        loggers = [lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)]
        if not loggers:
            return
        text = self.parser.dump(self.config, skip_none=False)
        resolved = yaml.safe_load(text)
        for logger in loggers:
            logger.experiment.log_text(logger.run_id, text, "config/config.yaml")
            # Keys that legitimately change when a run is resumed are not params.
            params = {k: v for k, v in flatten_config(resolved).items() if not k.startswith("config") and k not in _NOT_PARAMS}
            logger.log_hyperparams(params)
