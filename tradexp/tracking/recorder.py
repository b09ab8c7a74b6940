"""`RunRecorder`: what every tradexp run records about itself (tags, lineage, splits, scaler)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Optional

import lightning.pytorch as pl
import mlflow
import numpy as np
import pandas as pd
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.entities import DatasetInput, InputTag, RunTag
from typing_extensions import override

from callbacks.redaction import redact_record, redact_text
from tradexp.data.universe_prep import unscaled_features
from tradexp.tracking.naming import git_tags

__all__ = ["RunRecorder"]

log = logging.getLogger(__name__)

_TAGS_PER_BATCH = 100  # MLflow's limit for one log_batch


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
        boundaries = datamodule.split_boundaries() if digest else {}
        symbols = getattr(datamodule, "symbols", None) if digest else None
        tags.update({f"tradexp.split.{key}": str(value) for key, value in boundaries.items()})
        if symbols is not None:
            tags.update({"tradexp.universe.size": str(len(symbols)), "tradexp.universe.digest": digest})
        records = [RunTag(key, str(redact_record(key, value))) for key, value in tags.items()]
        for start in range(0, len(records), _TAGS_PER_BATCH):  # one write, not one per tag
            client.log_batch(run_id, tags=records[start : start + _TAGS_PER_BATCH])
        if digest is None:
            return
        stamps = datamodule.timestamps if symbols is not None else datamodule.bars.index
        splits = {
            "source": source,
            "dataset": datamodule.dataset_name,
            "digest": digest,
            "n_bars": int(len(stamps)),
            "first_bar": stamps.min().isoformat(),
            "last_bar": stamps.max().isoformat(),
            "embargo_bars": int(datamodule.splits.embargo),
            "samples": {name: int(len(p)) for name, p in datamodule.splits.items()},
            "boundaries": boundaries,
        }
        if symbols is not None:
            splits.update(_universe_facts(datamodule))
        client.log_text(run_id, json.dumps(splits, indent=2), "data/splits.json")
        client.log_text(run_id, json.dumps(datamodule.scaler.state_dict(), indent=2), "data/scaler.json")
        _log_inputs(client, run_id, _dataset_inputs(datamodule, digest, source))


def _log_inputs(client: Any, run_id: str, inputs: list[DatasetInput], attempts: int = 3) -> None:
    """`client.log_inputs`, tried again when another run created the same dataset at the same moment.

    MLflow looks the dataset up, then inserts it: two runs logging one new dataset at once (HPO
    trials of two machines starting together) race, and the loser gets a unique-constraint error
    (SQLAlchemy's IntegrityError, through a server as an error response). A second call finds the
    dataset and links it; the call is idempotent, existing datasets and inputs are reused.
    """
    for attempt in range(1, attempts + 1):
        try:
            client.log_inputs(run_id, inputs)
            return
        except Exception as exc:  # noqa: BLE001 - only the race is retried, anything else is raised at once
            text = str(exc).lower()  # sqlite: "IntegrityError ... UNIQUE constraint"; PostgreSQL: "... violates unique constraint"
            if attempt == attempts or not ("integrityerror" in text or "unique constraint" in text):
                raise
            log.info("log_inputs of run %s raced another run creating the same dataset; trying again (%s)", run_id, type(exc).__name__)
            time.sleep(0.2 * attempt)


def _universe_facts(datamodule: Any) -> dict[str, Any]:
    """What `data/splits.json` adds for a universe: symbols, the calendar's dates, who is absent where."""
    prep = datamodule.universe
    return {
        "symbols": list(datamodule.symbols),
        "split_dates": dict(prep.split_dates),
        "absent_symbols": {name: list(names) for name, names in prep.absent.items()},
        "dropped_symbols": dict(datamodule.dropped_symbols),
        "symbol_digests": dict(datamodule.symbol_digests),
    }


def _dataset_inputs(datamodule: Any, digest: str, source: str) -> list[DatasetInput]:
    """One MLflow dataset input for a single series; one per symbol plus the universe for a universe."""
    context = [InputTag(key="mlflow.data.context", value="training")]
    symbols = getattr(datamodule, "symbols", None)
    if symbols is None:
        frames = {datamodule.dataset_name: (datamodule.bars, source, digest)}
    else:
        prep = datamodule.universe
        frames = {}
        for i, symbol in enumerate(prep.symbols):
            rows = slice(prep.offsets[i], prep.offsets[i + 1])
            frame = pd.DataFrame(unscaled_features(prep, np.arange(rows.start, rows.stop)), index=prep.timestamps[rows], columns=list(datamodule.features))
            frames[f"{datamodule.dataset_name}/{symbol}"] = (frame, redact_text(datamodule.symbol_sources.get(symbol, source)), datamodule.symbol_digests[symbol])
    inputs = []
    for name, (frame, source, frame_digest) in frames.items():
        dataset = mlflow.data.from_pandas(frame.reset_index(), source=source, name=name, digest=frame_digest)
        inputs.append(DatasetInput(dataset=dataset._to_mlflow_entity(), tags=context))
    return inputs
