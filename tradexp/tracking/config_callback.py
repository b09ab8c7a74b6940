"""Log LightningCLI's resolved config into the MLflow run (params + `config/config.yaml`), redacted."""

from __future__ import annotations

import lightning.pytorch as pl
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

from callbacks.redaction import redact_mapping
from tradexp.config.yaml_text import dump_config, dump_yaml, load_yaml
from tradexp.tracking.params import flatten_config

__all__ = ["LogConfigToRun", "redacted_config_text"]

_NOT_PARAMS = {"ckpt_path", "tracking.run_id"}


def redacted_config_text(text: str) -> tuple[str, dict]:
    """`(yaml_text, mapping)` of a dumped config with `callbacks.redaction` applied to every value.

    The text is the dump itself when nothing needed redacting (its layout kept), else the redacted
    mapping dumped again in the same key order.
    """
    resolved = load_yaml(text) or {}
    redacted = redact_mapping(resolved)
    if redacted == resolved:
        return text, resolved
    return dump_yaml(redacted), redacted


class LogConfigToRun(SaveConfigCallback):
    """Stores the fully resolved config in the run: `config/config.yaml` and flattened params.

    LightningCLI's own SaveConfigCallback writes to `trainer.log_dir`, which an MLflow logger on a
    sqlite or server store does not have; this one logs to the run instead. Secrets are redacted
    first (`callbacks.redaction.redact_mapping`): URL passwords hidden, a secret-looking key's value
    stored as `<redacted>`.
    """

    @override
    def save_config(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not trainer.is_global_zero:
            return
        loggers = [lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)]
        if not loggers:
            return
        # skip_check: the config was validated when it was parsed; checking it again doubles the dump's time
        text, resolved = redacted_config_text(dump_config(self.parser, self.config, skip_none=False, skip_check=True))
        for logger in loggers:
            logger.experiment.log_text(logger.run_id, text, "config/config.yaml")
            # Keys that legitimately change when a run is resumed are not params.
            params = {k: v for k, v in flatten_config(resolved).items() if not k.startswith("config") and k not in _NOT_PARAMS}
            logger.log_hyperparams(params)
