"""`TradexpLogger`: Lightning's MLFlowLogger with honest status, uncut and redacted records, fixed artifact paths.

The logger composes one module per job: `server` (the start-up probe and bounded HTTP retries),
`run_status` (the end status and the Ctrl-C guard), `params` (flattening and long values),
`writer` (each write to the store, or to the spool once the server is gone), `reaper` and
`heartbeat` (dead runs), and `callbacks.redaction` (no secret in any param, tag or text).
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
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

from callbacks.redaction import redact_record, redact_text, strip_credentials
from tradexp.tracking.heartbeat import HEARTBEAT_TAG, Heartbeat
from tradexp.tracking.params import fit_value, flatten_config, metric_key, param_key, safe_artifact_path
from tradexp.tracking.reaper import DEFAULT_STALE_AFTER_S, process_tags, reap_stale_runs
from tradexp.tracking.run_status import run_status_for
from tradexp.tracking.server import bound_http_retries, check_server, is_server_uri, quiet_credentialed_urls
from tradexp.tracking.spool import is_connection_error
from tradexp.tracking.store import ensure_experiment, open_store, resolve_tracking_uri
from tradexp.tracking.writer import RunWriter

# `flatten_config`, `run_status_for`, `safe_artifact_path` and `check_server` live in their own
# modules; they stay importable from here for code written against the single-module logger.
__all__ = ["TradexpLogger", "flatten_config", "run_status_for", "check_server", "safe_artifact_path"]

log = logging.getLogger(__name__)


class TradexpLogger(MLFlowLogger):
    """MLflow logger for tradexp runs and any other Lightning project.

    Differences from Lightning's `MLFlowLogger`: the tracking URI is resolved when constructed
    (`MLFLOW_TRACKING_URI`, else `sqlite:///mlflow.db`) and a fresh sqlite store is opened safely;
    experiments get artifacts under `./mlartifacts/<experiment>` locally; params are never cut (values
    over MLflow's 6000 characters go in full to `config/params/<key>.txt`); params, tags and texts are
    redacted (`callbacks.redaction`: URL passwords hidden, a secret-looking key stored as `<redacted>`
    with a warning); the run records its host and process id (`tradexp.host`, `tradexp.pid`) so a
    killed run on this host is reaped at once; a param already logged with
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
        keep_local_checkpoints: Keep the local copy of a checkpoint once it is in the store
            (default: `tracking.local_checkpoints.release_local_checkpoints` removes it at the end of
            a fit, except the `last.ckpt` a KILLED run resumes from).
        synchronous: False logs metrics asynchronously (flushed at the end); None = MLflow's default.
        heartbeat_interval: Seconds between heartbeats stamped on the run (`tradexp.heartbeat` tag).
        reap_stale_after: At run start, mark RUNNING runs of the experiment whose heartbeat is older
            than this many seconds FAILED (their process died); None disables.
        server_timeout: Seconds to wait for an http(s) tracking server at start before failing.
        flush_every: Metrics are buffered and sent as one batch at most this often (seconds), and
            always at a checkpoint save and at the end of the run (also on an exception or signal);
            0 sends every call at once. A store write costs a sqlite commit or an HTTP round trip, so
            this keeps tracking off the training loop's clock.

    Raises:
        TrackingError: When an http(s) tracking server does not answer at construction.
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
        keep_local_checkpoints: bool = False,
        synchronous: Optional[bool] = None,
        heartbeat_interval: float = 30.0,
        reap_stale_after: Optional[float] = DEFAULT_STALE_AFTER_S,
        server_timeout: float = 5.0,
        flush_every: float = 5.0,
    ) -> None:
        if flush_every < 0:
            raise ValueError(f"`flush_every` must be >= 0 seconds, got {flush_every}")
        uri = resolve_tracking_uri(tracking_uri)
        if is_server_uri(uri):
            bound_http_retries()
            quiet_credentialed_urls(uri)
            if rank_zero_only.rank == 0:
                check_server(uri, server_timeout)
        else:  # MLFlowLogger's own client migrates a fresh sqlite file when constructed: do that under the lock
            open_store(uri)
        super().__init__(
            experiment_name=experiment_name,
            run_name=run_name,
            tracking_uri=uri,
            tags={str(k): redact_record(str(k), v) for k, v in (tags or {}).items()},
            save_dir=save_dir,
            log_model=False,
            run_id=run_id,
            synchronous=synchronous,
        )
        self._local_dir = str(Path(save_dir).resolve())
        self._log_checkpoints = log_checkpoints
        self.keep_local_checkpoints = keep_local_checkpoints
        self._stored_checkpoints: dict[str, str] = {}
        self._synchronous = synchronous
        self._logged_params: dict[str, str] = {}
        self._logged_checkpoints: dict[str, float] = {}
        self._checkpoint_callbacks: list[ModelCheckpoint] = []
        self._finalized_status: Optional[str] = None
        self._heartbeat_interval = heartbeat_interval
        self._reap_stale_after = reap_stale_after
        self._heartbeat: Optional[Heartbeat] = None
        self._writer: Optional[RunWriter] = None
        self._flush_every = flush_every
        self._pending_metrics: list[Metric] = []
        self._last_flush = time.monotonic()

    @property
    @override
    @rank_zero_experiment
    def experiment(self) -> mlflow.MlflowClient:
        if self._initialized:
            return self._mlflow_client
        resuming = self._run_id is not None
        if not resuming and self._experiment_id is None:
            self._mlflow_client = open_store(self._tracking_uri)
            self._experiment_id = ensure_experiment(self._mlflow_client, self._experiment_name, self._tracking_uri)
        owner = process_tags()  # this process now owns the run (also after a resume)
        owner[HEARTBEAT_TAG] = f"{time.time():.0f}"  # the first beat; the heartbeat thread writes the next ones
        if not resuming:
            self.tags = {**(self.tags or {}), **owner}  # created with the run: one write fewer
        client = MLFlowLogger.experiment.fget(self)  # type: ignore[attr-defined]  # creates or opens the run
        self._on_run_started(client, resuming, owner)
        return client

    def _on_run_started(self, client: mlflow.MlflowClient, resuming: bool, owner: dict[str, str]) -> None:
        self._writer = RunWriter(client, self._run_id, self._tracking_uri, Path(self._local_dir) / "spool")
        if resuming:
            run = client.get_run(self._run_id)
            if run.info.status != "RUNNING":
                client.update_run(self._run_id, status="RUNNING")
            tags = {**owner, "tradexp.resumed": str(int(run.data.tags.get("tradexp.resumed", "0")) + 1)}
            for key, value in run.data.params.items():
                self._logged_params[key] = value
            client.log_batch(self._run_id, tags=[RunTag(k, v) for k, v in tags.items()])
        if self._reap_stale_after is not None:
            try:
                reaped = reap_stale_runs(client, [self._experiment_id], self._reap_stale_after)
            except Exception as exc:
                if not is_connection_error(exc):
                    raise
                reaped = []
            if reaped:
                log.warning("marked %d dead run(s) of experiment %s FAILED: %s", len(reaped), self._experiment_id, reaped)
        run_id = self._run_id
        beat = Heartbeat(lambda now: client.set_tag(run_id, HEARTBEAT_TAG, f"{now:.0f}"), self._heartbeat_interval)
        self._heartbeat = beat.start(beat_now=False)

    @property
    @override
    def save_dir(self) -> Optional[str]:
        """Local folder for checkpoints (`<save_dir>/<experiment_id>/<run_id>/checkpoints`)."""
        return self._local_dir

    @property
    def stored_checkpoints(self) -> dict[str, str]:
        """{local checkpoint path: its artifact path in the run (`checkpoints/best.ckpt`, `checkpoints/last.ckpt`)}."""
        return dict(self._stored_checkpoints)

    @property
    def tracking_uri(self) -> str:
        """The store, as shown to people: a password in the URI is hidden (`user:***@`)."""
        return strip_credentials(self._tracking_uri)

    @property
    def spool_path(self) -> Optional[Path]:
        """The local spool file when the server stopped answering during this run, else None."""
        return self._writer.spool_path if self._writer is not None else None

    def _write(self, op: str, *args: Any, **kwargs: Any) -> None:
        if self._writer is None:
            _ = self.experiment  # opens the run, which makes the writer
        self._writer.write(op, *args, **kwargs)

    # -- params, tags, metrics ----------------------------------------------------------------
    @override
    @rank_zero_only
    def log_hyperparams(self, params: Any) -> None:
        """Log params flattened with dots, redacted; never cut, never re-log an unchanged value."""
        if not isinstance(params, Mapping):
            params = vars(params)
        _ = self.experiment  # opens the run first: a resumed run's params must be known before comparing
        batch: list[Param] = []
        batch_tags: list[RunTag] = []
        for key, value in flatten_config(params).items():
            key = param_key(key)
            value = redact_record(key, value)
            text = "None" if value is None else str(value)
            previous = self._logged_params.get(key)
            if previous == text:
                continue
            if previous is not None:  # resumed with a changed value: MLflow forbids changing a param
                log.warning("param %s changed on resume: %r -> %r (recorded as a tag)", key, previous, text)
                batch_tags.append(RunTag(f"tradexp.param_changed.{key}"[:250], f"{previous} -> {text}"[:MAX_TAG_VAL_LENGTH]))
                continue
            fitted = fit_value(key, text, MAX_PARAM_VAL_LENGTH, "config/params")
            if fitted.artifact is not None:
                self.log_text(text, fitted.artifact)
                batch_tags.append(RunTag(f"tradexp.long_param.{key}", fitted.artifact))
            self._logged_params[key] = text
            batch.append(Param(key=key, value=fitted.text))
        for start in range(0, len(batch), MAX_PARAMS_TAGS_PER_BATCH):
            self._write("log_batch", params=batch[start : start + MAX_PARAMS_TAGS_PER_BATCH], **self._log_batch_kwargs)
        if batch_tags:
            self._write("log_batch", tags=batch_tags)

    @rank_zero_only
    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set tags on the run, redacted (values over 8000 characters go in full to `config/tags/<key>.txt`)."""
        batch = []
        for key, value in tags.items():
            text = str(redact_record(key, value))
            fitted = fit_value(key, text, MAX_TAG_VAL_LENGTH, "config/tags")
            if fitted.artifact is not None:
                self.log_text(text, fitted.artifact)
            batch.append(RunTag(key, fitted.text))
        for start in range(0, len(batch), MAX_PARAMS_TAGS_PER_BATCH):
            self._write("log_batch", tags=batch[start : start + MAX_PARAMS_TAGS_PER_BATCH])

    @override
    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None) -> None:
        """Buffer the values; send them as batches of at most 1000 once `flush_every` seconds have passed."""
        if not self._initialized:
            _ = self.experiment  # the first value opens the run, as with any logger
        timestamp_ms = int(mlflow.utils.time.get_current_time_millis())
        for key, value in metrics.items():
            if isinstance(value, str):
                continue
            name = metric_key(f"{self._prefix}{self.LOGGER_JOIN_CHAR}{key}" if self._prefix else key)
            self._pending_metrics.append(Metric(key=name, value=float(value), timestamp=timestamp_ms, step=step or 0))
        if time.monotonic() - self._last_flush >= self._flush_every:
            self.flush()

    @rank_zero_only
    def flush(self) -> None:
        """Send every buffered metric now (one `log_batch` per 1000)."""
        self._last_flush = time.monotonic()
        while self._pending_metrics:
            chunk = self._pending_metrics[:MAX_METRICS_PER_BATCH]
            try:
                self._write("log_batch", metrics=chunk, **self._log_batch_kwargs)
            except KeyboardInterrupt:  # the write holds a Ctrl-C until it is done: the chunk is stored
                del self._pending_metrics[: len(chunk)]
                raise
            del self._pending_metrics[: len(chunk)]  # dropped only once written; finalize flushes the rest

    # -- artifacts ----------------------------------------------------------------------------
    @rank_zero_only
    def log_text(self, text: str, artifact_file: str) -> None:
        """Write `text`, redacted, to `artifact_file` (a path inside the run, e.g. `config/config.yaml`)."""
        self._write("log_text", redact_text(text), safe_artifact_path(artifact_file))

    @rank_zero_only
    def log_file(self, local_path: str | Path, artifact_dir: Optional[str] = None) -> None:
        """Upload one local file into `artifact_dir` of the run (as it is: the caller redacts its content)."""
        self._write("log_artifact", str(local_path), safe_artifact_path(artifact_dir) if artifact_dir else None)

    # -- checkpoints and the end of the run ----------------------------------------------------
    @override
    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if str(self._tracking_uri).startswith(("http://", "https://")):
            self.flush()  # a remote store is never behind a checkpoint on disk (a local one is flushed on every exit path)
        if checkpoint_callback not in self._checkpoint_callbacks:
            self._checkpoint_callbacks.append(checkpoint_callback)

    def _log_checkpoint_files(self) -> None:
        tags: dict[str, str] = {}
        try:
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
                        self._write("log_artifact", str(target), "checkpoints")
                    self._logged_checkpoints[path] = mtime
                    self._stored_checkpoints[str(Path(path).resolve())] = f"checkpoints/{role}.ckpt"
                    tags[f"tradexp.checkpoint.{role}"] = f"checkpoints/{role}.ckpt ({Path(path).name})"
        finally:
            if tags:
                self.set_tags(tags)  # one write for every checkpoint stored, also when a later one failed

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
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        self.flush()
        if self._synchronous is False:
            try:
                mlflow.flush_async_logging()
            except Exception as err:
                log.error("flushing asynchronous MLflow logging failed: %s", redact_text(str(err)))
        if exc is not None and mlflow_status != "FINISHED":
            self.set_tags({"tradexp.error": f"{type(exc).__name__}: {exc}", "tradexp.status_reason": type(exc).__name__})
        if self._log_checkpoints:
            try:
                self._log_checkpoint_files()
            except OSError as err:
                log.warning("could not log checkpoints to the run: %s", err)
        self._write("set_terminated", mlflow_status)
        self._finalized_status = mlflow_status
        self._writer.replay()
