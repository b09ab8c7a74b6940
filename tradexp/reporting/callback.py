"""`RunReport`: write the training report into the MLflow run at the end of every fit (and test)."""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Optional

import lightning.pytorch as pl
import mlflow
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from mlflow.exceptions import MlflowException
from typing_extensions import override

__all__ = ["RunReport"]

log = logging.getLogger(__name__)

_ERRORS_TAG = "tradexp.callback_errors"


class RunReport(Callback):
    """Writes `report/run_report.html` (the training report) into each MLflow run of the trainer.

    The report is written at the end of `fit` and written again at the end of `test` (replacing the
    earlier file), so it holds the test metrics too. When the runner says a test follows the fit
    (`test_follows_fit`, the protocol of `callbacks.ReportingCallback`; `tradexp fit` sets it) the
    fit-end report is skipped and written once, after the test. Put this callback last so it sees
    what the other callbacks logged.
    A failure never stops training: it is logged as a warning and appended to the run's
    `tradexp.callback_errors` tag (unless `strict=True`).

    Args:
        dirpath: Also keep a copy at `<dirpath>/run_<run_id>.html`; None = only in the run.
        skip_run_types: Runs whose `tradexp.type` tag is one of these get no report (e.g.
            `["hpo_trial"]`; `tradexp hpo` already leaves reporting callbacks out of trials unless
            `trial_reports: true`).
        strict: Raise instead of warning when the report cannot be written.
    """

    def __init__(self, dirpath: Optional[str] = None, skip_run_types: Sequence[str] = (), strict: bool = False) -> None:
        if isinstance(skip_run_types, str):
            raise TypeError(f"`skip_run_types` must be a list of run types, got the string {skip_run_types!r}")
        self.dirpath = dirpath
        self.skip_run_types = tuple(skip_run_types)
        self.strict = strict
        self.written: dict[str, Path] = {}  # run id -> local copy, or the artifact path in the run
        self.test_follows_fit: Optional[Callable[[], bool]] = None  # set by a runner that tests after fit

    @override
    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if self.test_follows_fit is not None and self.test_follows_fit():
            return  # the test's report replaces it
        self._write_all(trainer, "fit")

    @override
    def on_test_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if trainer.sanity_checking:
            return
        self._write_all(trainer, "test")

    def _write_all(self, trainer: "pl.Trainer", stage: str) -> None:
        if not trainer.is_global_zero:
            return
        for callback in trainer.callbacks:  # the report shows their figures: wait until they are written
            wait_for_writes = getattr(callback, "wait_for_writes", None)
            if callable(wait_for_writes):
                wait_for_writes(trainer)
        for logger in trainer.loggers:
            if isinstance(logger, MLFlowLogger) and logger.run_id:
                try:
                    if callable(getattr(logger, "flush", None)):
                        logger.flush()  # TradexpLogger buffers metrics: the report reads the store
                    self._write(logger.experiment, logger.run_id)
                except Exception as err:  # noqa: BLE001 - a report must never end a training run
                    if self.strict:
                        raise
                    self._record_failure(logger, stage, err)

    def _write(self, client: mlflow.MlflowClient, run_id: str) -> None:
        from tradexp.reporting.publish import RUN_REPORT_FILE, run_report

        if client.get_run(run_id).data.tags.get("tradexp.type") in self.skip_run_types:
            return
        try:
            mlflow.flush_async_logging()
        except MlflowException as err:
            log.debug("flush before the report failed: %s", err)
        if self.dirpath:
            self.written[run_id] = run_report(run_id, Path(self.dirpath) / f"run_{run_id}.html", client=client)
        else:
            with tempfile.TemporaryDirectory(prefix="tradexp-run-report-") as tmp:
                run_report(run_id, Path(tmp) / RUN_REPORT_FILE, client=client)
            self.written[run_id] = Path(f"report/{RUN_REPORT_FILE}")
        log.info("training report written to run %s (report/%s)", run_id, RUN_REPORT_FILE)

    @staticmethod
    def _record_failure(logger: MLFlowLogger, stage: str, err: Exception) -> None:
        message = f"RunReport ({stage}): {type(err).__name__}: {err}"
        warnings.warn(f"the training report could not be written: {message}", RuntimeWarning, stacklevel=2)
        log.warning("the training report could not be written: %s", message)
        try:
            client = logger.experiment
            previous = client.get_run(logger.run_id).data.tags.get(_ERRORS_TAG, "")
            value = f"{previous}; {message}" if previous else message
            client.set_tag(logger.run_id, _ERRORS_TAG, value[-7000:])
        except Exception as tag_err:  # noqa: BLE001 - recording the failure must not fail either
            log.warning("could not record the report failure on run %s: %s", logger.run_id, tag_err)
