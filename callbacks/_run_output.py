"""Where the callbacks' files, params, metrics and error notes go: the MLflow run(s) or `trainer.log_dir`.

With an `MLFlowLogger` (any subclass) on the trainer every file becomes an artifact of its run under the
given folder (`plots/`, `model/`, ...); otherwise files are written under `<trainer.log_dir>/<folder>/`.
Everything here writes, so it is only called where `trainer.is_global_zero`, except `RunOutput.resolve`,
which must run on every rank (`trainer.log_dir` is a collective call).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Iterator, Mapping, Optional

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

from callbacks._background import BackgroundWrites

log = logging.getLogger(__name__)

ERROR_TAG = "tradexp.callback_errors"
ERROR_FILE = "callback_errors.txt"
_MAX_ERROR_CHARS = 500  # one error's text in the tag
_MAX_TAG_CHARS = 7000  # MLflow allows 8000 per tag value


def jsonable(value: Any) -> Any:
    """`value` with what JSON cannot hold made plain: mappings (keys as str), lists, numpy/torch
    values and arrays (`tolist`), NaN and inf as None. The one JSON sanitiser of the project."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars, tensors
        return jsonable(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value: Any) -> str:
    """Indented JSON of `value` with numpy values made plain and NaN/inf written as null."""
    return json.dumps(jsonable(value), indent=2, default=str)


@dataclass
class RunOutput:
    """The destination of one trainer's reports: MLflow runs, or a local folder."""

    mlflow_loggers: list[MLFlowLogger] = field(default_factory=list)
    local_dir: Optional[Path] = None
    loggers: list[Any] = field(default_factory=list)

    @classmethod
    def resolve(cls, trainer: "pl.Trainer") -> "RunOutput":
        """Find where this trainer's reports go. Call on EVERY rank (`trainer.log_dir` broadcasts)."""
        mlflow_loggers = [lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)]
        local_dir = None
        if not mlflow_loggers:
            local_dir = Path(trainer.log_dir or trainer.default_root_dir)
        return cls(mlflow_loggers=mlflow_loggers, local_dir=local_dir, loggers=list(trainer.loggers))

    @property
    def key(self) -> str:
        """Identifies the destination, so a callback records a run's one-off facts once."""
        if self.mlflow_loggers:
            return "mlflow:" + ",".join(str(lg.run_id) for lg in self.mlflow_loggers)
        return f"dir:{self.local_dir}"

    def _local_path(self, artifact_file: str) -> Path:
        path = Path(self.local_dir or ".") / PurePosixPath(artifact_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def write_text(self, text: str, artifact_file: str) -> None:
        """Write `text` as `artifact_file` (a run-relative path such as `model/summary.txt`)."""
        if not self.mlflow_loggers:
            self._local_path(artifact_file).write_text(text, encoding="utf-8")
            return
        for logger in self.mlflow_loggers:
            logger.experiment.log_text(logger.run_id, text, artifact_file)

    def write_figure(self, fig: Any, artifact_file: str, dpi: int = 110) -> None:
        """Save a matplotlib figure as `artifact_file` (PNG)."""
        if not self.mlflow_loggers:
            fig.savefig(self._local_path(artifact_file), dpi=dpi)
            return
        folder, name = str(PurePosixPath(artifact_file).parent), PurePosixPath(artifact_file).name
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / name
            fig.savefig(local, dpi=dpi)
            for logger in self.mlflow_loggers:
                logger.experiment.log_artifact(logger.run_id, str(local), None if folder == "." else folder)

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Params on every logger (MLflow params, CSVLogger's hparams.yaml, ...)."""
        for logger in self.loggers:
            logger.log_hyperparams(dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Metrics on every logger."""
        if metrics:
            for logger in self.loggers:
                logger.log_metrics(dict(metrics), step=step)

    def record_error(self, text: str) -> None:
        """Append `text` to the run tag `tradexp.callback_errors` (or to `callback_errors.txt`)."""
        if not self.mlflow_loggers:
            with self._local_path(ERROR_FILE).open("a", encoding="utf-8") as handle:
                handle.write(text + "\n")
            return
        for logger in self.mlflow_loggers:
            client, run_id = logger.experiment, logger.run_id
            previous = client.get_run(run_id).data.tags.get(ERROR_TAG, "")
            value = f"{previous}; {text}" if previous else text
            if len(value) > _MAX_TAG_CHARS:
                value = value[: _MAX_TAG_CHARS - 40] + " ...[more errors cut]"
            client.set_tag(run_id, ERROR_TAG, value)


class ReportingCallback(Callback):
    """Base of the reporting callbacks: resolves the output on every rank and contains failures.

    A failure inside a guarded hook never stops training: it is logged with its traceback, warned
    about with the exception text, and appended to the run tag `tradexp.callback_errors` (or to
    `<log_dir>/callback_errors.txt`); `strict=True` re-raises it instead.

    Slow writes (drawing figures) go to the callback's own background thread with `in_background`;
    `wait_for_writes` joins it, and `teardown` (before Lightning finalises the loggers, so before the
    run ends FINISHED) and `on_exception` always do. A failure in that thread surfaces there, as if
    the hook that handed the work over had raised it.

    A test follows the fit: a runner that tests this trainer right after `fit` (`tradexp fit` does) may
    set `test_follows_fit` to a function of no arguments that answers, at the end of fit, whether that
    test will run; a callback whose fit-end output the test replaces then skips it
    (`EvaluationPlots`' validation fallback). Left None (plain Lightning), the fit-end output is made.

    Args:
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(self, strict: bool = False) -> None:
        if not isinstance(strict, bool):
            raise TypeError(f"`strict` must be a bool, got {strict!r} ({type(strict).__name__})")
        self.strict = strict
        self.output: Optional[RunOutput] = None
        self.test_follows_fit: Optional[Callable[[], bool]] = None  # set by a runner that tests after fit
        self._writes = BackgroundWrites(type(self).__name__)
        self._handed_over: list[str] = []  # the hooks whose work is in the background thread

    @override
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        with self.reporting_errors(trainer, "setup"):
            self.output = RunOutput.resolve(trainer)

    @override
    def teardown(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        self.wait_for_writes(trainer)

    @override
    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        self._join_quietly()

    def test_follows(self) -> bool:
        """True when the runner said a test of this trainer follows the fit (see `test_follows_fit`)."""
        return self.test_follows_fit is not None and bool(self.test_follows_fit())

    def _join_quietly(self) -> None:
        """Finish the background writes before the run is marked FAILED, never raising over the error that stopped the fit."""
        self._handed_over = []
        try:
            self._writes.wait()
        except Exception as exc:
            log.error("%s: a background write failed as well: %s", type(self).__name__, exc, exc_info=True)

    def in_background(self, hook: str, fn: Callable[..., Optional[Mapping[str, float]]], *args: Any) -> None:
        """Run `fn(*args)` in this callback's writer thread, after the work handed over before it.

        `hook` names the work in error reports. `fn` may return metrics: they are logged from the
        trainer's thread when the work is joined (loggers are not thread-safe).
        """
        self._handed_over.append(hook)
        self._writes.submit(fn, *args)

    def wait_for_writes(self, trainer: "pl.Trainer") -> None:
        """Block until the background writes are done and log the metrics they returned; a failure
        among them is reported like a hook's (warned and recorded, or raised with `strict=True`)."""
        if not self._writes.pending:
            return
        hooks, self._handed_over = "+".join(dict.fromkeys(self._handed_over)), []
        with self.reporting_errors(trainer, f"{hooks} (background)"):
            for metrics in self._writes.wait():
                if metrics and self.output is not None:
                    self.output.log_metrics(metrics)

    @contextmanager
    def reporting_errors(self, trainer: "pl.Trainer", hook: str) -> Iterator[None]:
        """Run the body; on an exception warn, record it on the run and go on (unless `strict`)."""
        try:
            yield
        except Exception as exc:
            if self.strict:
                raise
            text = f"{type(self).__name__}.{hook}: {type(exc).__name__}: {exc}"[:_MAX_ERROR_CHARS]
            rank = getattr(trainer, "global_rank", 0)
            log.error("callback error on rank %s (training goes on): %s", rank, text, exc_info=True)
            warnings.warn(f"{text} -- the callback skipped this step; training goes on (strict=False)", stacklevel=3)
            if trainer.is_global_zero and self.output is not None:
                try:
                    self.output.record_error(text)
                except Exception as record_exc:  # the store itself failing must not kill the run either
                    log.error("could not record the callback error on the run: %s", record_exc)
