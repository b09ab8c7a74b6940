"""`TradexpLogger`: Lightning's MLFlowLogger with honest status, uncut params and fixed artifact paths."""

from __future__ import annotations

import logging
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

import mlflow
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import MLFlowLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities.rank_zero import rank_zero_only
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.validation import MAX_METRICS_PER_BATCH, MAX_PARAM_VAL_LENGTH, MAX_PARAMS_TAGS_PER_BATCH, MAX_TAG_VAL_LENGTH
from typing_extensions import override

from tradexp.tracking.store import ensure_experiment, open_store, resolve_tracking_uri

__all__ = ["TradexpLogger", "flatten_config", "run_status_for"]

log = logging.getLogger(__name__)

_LONG_VALUE_MARK = " ...[cut: full value in artifact "


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to dotted keys, dropping jsonargparse's `init_args` level.

    `{"model": {"net": {"class_path": "X", "init_args": {"hidden_size": 8}}}}` becomes
    `{"model.net.class_path": "X", "model.net.hidden_size": 8}`.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = prefix if key == "init_args" else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name))
        else:
            flat[name] = value
    return flat


def run_status_for(exc: Optional[BaseException]) -> str:
    """MLflow status for a run that ends with `exc` (None = clean end).

    KeyboardInterrupt and SIGTERM (Lightning's `SIGTERMException`) are KILLED; an Optuna
    `TrialPruned` is FINISHED (a pruned trial is not a failure; its state is tagged); any other
    exception is FAILED.
    """
    if exc is None:
        return "FINISHED"
    if isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "SIGTERMException":
        return "KILLED"
    if type(exc).__name__ == "TrialPruned":
        return "FINISHED"
    return "FAILED"


class TradexpLogger(MLFlowLogger):
    """MLflow logger for tradexp runs and any other Lightning project.

    Differences from Lightning's `MLFlowLogger`: the tracking URI is resolved when constructed
    (`MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`) and a fresh sqlite store is opened safely;
    experiments get artifacts under `./mlartifacts/<experiment>` locally; params are never cut (values
    over MLflow's 6000 characters go in full to `config/params/<key>.txt`); a param already logged with
    the same value is skipped (resume); metrics go in batches of at most 1000; the end status is honest
    (FAILED with the error recorded, KILLED on Ctrl-C/SIGTERM); the best and last checkpoints are
    logged under `checkpoints/`; async logging is flushed before the run ends.

    Args:
        experiment_name: MLflow experiment (created if missing).
        run_name: Run name shown in the MLflow UI.
        tracking_uri: Overrides `MLFLOW_TRACKING_URI` and the sqlite default.
        tags: Tags set when the run is created.
        run_id: Continue this existing run instead of creating one.
        save_dir: Local folder for checkpoints and files written before upload.
        log_checkpoints: Log the best and last checkpoints as artifacts at the end.
        synchronous: False logs metrics asynchronously (flushed at the end); None = MLflow's default.
    """

    def __init__(
        self,
        experiment_name: str = "tradexp",
        run_name: Optional[str] = None,
        tracking_uri: Optional[str] = None,
        tags: Optional[dict[str, Any]] = None,
        run_id: Optional[str] = None,
        save_dir: str = "lightning_logs",
        log_checkpoints: bool = True,
        synchronous: Optional[bool] = None,
    ) -> None:
        uri = resolve_tracking_uri(tracking_uri)
        super().__init__(
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=uri,
            tags=dict(tags or {}),
            save_dir=save_dir,
            log_model=False,
            run_id=run_id,
            synchronous=synchronous,
        )
        self._local_dir = str(Path(save_dir).resolve())
        self._log_checkpoints = log_checkpoints
        self._synchronous = synchronous
        self._logged_params: dict[str, str] = {}
        self._logged_checkpoints: dict[str, float] = {}
        self._checkpoint_callbacks: list[ModelCheckpoint] = []
        self._finalized_status: Optional[str] = None

    @property
    @override
    @rank_zero_experiment
    def experiment(self) -> mlflow.MlflowClient:
        if not self._initialized and self._run_id is None and self._experiment_id is None:
            self._mlflow_client = open_store(self._tracking_uri)
            self._experiment_id = ensure_experiment(self._mlflow_client, self._experiment_name, self._tracking_uri)
        return MLFlowLogger.experiment.fget(self)  # type: ignore[attr-defined]

    @property
    @override
    def save_dir(self) -> Optional[str]:
        """Local folder for checkpoints (`<save_dir>/<experiment_id>/<run_id>/checkpoints`)."""
        return self._local_dir

    @property
    def tracking_uri(self) -> str:
        return self._tracking_uri

    # -- params, tags, metrics ----------------------------------------------------------------
    @override
    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Log params flattened with dots; never cut, never re-log an unchanged value."""
        if not isinstance(params, Mapping):
            params = vars(params)
        flat = flatten_config(params)
        batch: list[Param] = []
        for key, value in flat.items():
            key = re.sub(r"[^A-Za-z0-9_/. -]+", "_", str(key))
            text = "None" if value is None else str(value)
            if self._logged_params.get(key) == text:
                continue
            if len(text) > MAX_PARAM_VAL_LENGTH:
                artifact = f"config/params/{key}.txt"
                self.log_text(text, artifact)
                text = text[: MAX_PARAM_VAL_LENGTH - 200] + _LONG_VALUE_MARK + artifact + "]"
                self.experiment.set_tag(self.run_id, f"tradexp.long_param.{key}", artifact)
            self._logged_params[key] = "None" if value is None else str(value)
            batch.append(Param(key=key, value=text))
        for start in range(0, len(batch), MAX_PARAMS_TAGS_PER_BATCH):
            self.experiment.log_batch(run_id=self.run_id, params=batch[start : start + MAX_PARAMS_TAGS_PER_BATCH], **self._log_batch_kwargs)

    @rank_zero_only
    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the run (values over 8000 characters go in full to `config/tags/<key>.txt`)."""
        batch = []
        for key, value in tags.items():
            text = str(value)
            if len(text) > MAX_TAG_VAL_LENGTH:
                artifact = f"config/tags/{key}.txt"
                self.log_text(text, artifact)
                text = text[: MAX_TAG_VAL_LENGTH - 200] + _LONG_VALUE_MARK + artifact + "]"
            batch.append(RunTag(key, text))
        for start in range(0, len(batch), MAX_PARAMS_TAGS_PER_BATCH):
            self.experiment.log_batch(run_id=self.run_id, tags=batch[start : start + MAX_PARAMS_TAGS_PER_BATCH])

    @override
    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None) -> None:
        """One `log_batch` per call (split at MLflow's 1000 metrics per request)."""
        timestamp_ms = int(mlflow.utils.time.get_current_time_millis())
        batch = []
        for key, value in metrics.items():
            if isinstance(value, str):
                continue
            name = f"{self._prefix}{self.LOGGER_JOIN_CHAR}{key}" if self._prefix else key
            name = re.sub(r"[^a-zA-Z0-9_/. -]+", "", name)
            batch.append(Metric(key=name, value=float(value), timestamp=timestamp_ms, step=step or 0))
        for start in range(0, len(batch), MAX_METRICS_PER_BATCH):
            self.experiment.log_batch(run_id=self.run_id, metrics=batch[start : start + MAX_METRICS_PER_BATCH], **self._log_batch_kwargs)

    # -- artifacts ----------------------------------------------------------------------------
    @rank_zero_only
    def log_text(self, text: str, artifact_file: str) -> None:
        """Write `text` to `artifact_file` (a path inside the run, e.g. `config/config.yaml`)."""
        self.experiment.log_text(self.run_id, text, artifact_file)

    @rank_zero_only
    def log_file(self, local_path: str | Path, artifact_dir: Optional[str] = None) -> None:
        """Upload one local file into `artifact_dir` of the run."""
        self.experiment.log_artifact(self.run_id, str(local_path), artifact_dir)

    # -- checkpoints and the end of the run ----------------------------------------------------
    @override
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if checkpoint_callback not in self._checkpoint_callbacks:
            self._checkpoint_callbacks.append(checkpoint_callback)

    def _log_checkpoint_files(self) -> None:
        for callback in self._checkpoint_callbacks:
            best, last = callback.best_model_path, callback.last_model_path
            for role, path in (("best", best), ("last", last)):
                if not path or not Path(path).is_file():
                    continue
                mtime = Path(path).stat().st_mtime
                if self._logged_checkpoints.get(path) == mtime:
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    target = Path(tmp) / f"{role}.ckpt"
                    target.symlink_to(Path(path).resolve())
                    self.experiment.log_artifact(self.run_id, str(target), "checkpoints")
                self._logged_checkpoints[path] = mtime
                self.experiment.set_tag(self.run_id, f"tradexp.checkpoint.{role}", f"checkpoints/{role}.ckpt ({Path(path).name})")

    @override
    @rank_zero_only
    def finalize(self, status: str = "success") -> None:
        """End the run with an honest status; called by Lightning after fit/test or on an exception."""
        if not self._initialized:
            return
        exc = sys.exc_info()[1] if status == "failed" else None
        mlflow_status = run_status_for(exc) if status == "failed" else "FINISHED"
        if status == "failed" and exc is None:
            mlflow_status = "FAILED"
        if self._synchronous is False:
            mlflow.flush_async_logging()
        if exc is not None and mlflow_status != "FINISHED":
            self.set_tags({"tradexp.error": f"{type(exc).__name__}: {exc}", "tradexp.status_reason": type(exc).__name__})
        if self._log_checkpoints:
            try:
                self._log_checkpoint_files()
            except OSError as err:
                log.warning("could not log checkpoints to the run: %s", err)
        self.experiment.set_terminated(self.run_id, mlflow_status)
        self._finalized_status = mlflow_status
