"""`RunRecorder`: what every tradexp run records about itself (tags, lineage, splits, scaler)."""

from __future__ import annotations

import json
import logging
from typing import Any, Optional

import lightning.pytorch as pl
import mlflow
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.entities import DatasetInput, InputTag, RunTag
from typing_extensions import override

from callbacks.redaction import redact_record, redact_text
from tradexp.tracking.naming import git_tags

__all__ = ["RunRecorder"]

log = logging.getLogger(__name__)


class RunRecorder(Callback):
    """Records on the MLflow run, once, at setup: identity tags, data digest, git commit, the dataset
    as an MLflow dataset input (digest + source), split boundaries (`data/splits.json`) and the
    fitted scaler (`data/scaler.json`).

    Every tag and the data source are redacted (`callbacks.redaction`: a data URL's password is
    hidden, a secret-looking tag key's value stored as `<redacted>`).

    Works with any datamodule; the data facts are recorded when it offers `digest`, `source`,
    `dataset_name`, `split_boundaries()` and `scaler` (tradexp's `BarsDataModule` does).

    Args:
        tags: Extra tags (e.g. from the naming module) to set on the run.
    """

    def __init__(self, tags: Optional[dict[str, str]] = None) -> None:
        self.tags = dict(tags or {})
        self._recorded_runs: set[str] = set()

    @override
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, MLFlowLogger) and logger.run_id not in self._recorded_runs:
                self._record(logger, trainer.datamodule)
                self._recorded_runs.add(logger.run_id)

    def _record(self, logger: MLFlowLogger, datamodule: Any) -> None:
        client, run_id = logger.experiment, logger.run_id
        tags = dict(self.tags)
        tags.update(git_tags())  # the checkout of the code that runs, not the working directory
        digest = getattr(datamodule, "digest", None)
        source = redact_text(str(getattr(datamodule, "source", "")))
        if digest:
            tags["tradexp.dataset.digest"] = digest
            tags["tradexp.dataset.source"] = source
        records = [RunTag(key, str(redact_record(key, value))) for key, value in tags.items()]
        client.log_batch(run_id, tags=records)  # one write, not one per tag
        if digest is None:
            return
        boundaries = datamodule.split_boundaries()
        splits = {
            "source": source,
            "dataset": datamodule.dataset_name,
            "digest": digest,
            "n_bars": int(len(datamodule.bars)),
            "first_bar": datamodule.bars.index[0].isoformat(),
            "last_bar": datamodule.bars.index[-1].isoformat(),
            "embargo_bars": int(datamodule.splits.embargo),
            "samples": {name: int(len(p)) for name, p in datamodule.splits.items()},
            "boundaries": boundaries,
        }
        client.log_text(run_id, json.dumps(splits, indent=2), "data/splits.json")
        client.log_text(run_id, json.dumps(datamodule.scaler.state_dict(), indent=2), "data/scaler.json")
        client.log_batch(run_id, tags=[RunTag(f"tradexp.split.{key}", str(value)) for key, value in boundaries.items()])
        dataset = mlflow.data.from_pandas(
            datamodule.bars.reset_index(), source=source, name=datamodule.dataset_name, digest=digest
        )
        client.log_inputs(
            run_id, [DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[InputTag(key="mlflow.data.context", value="training")])]
        )
