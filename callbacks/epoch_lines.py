"""`EpochLines`: a progress bar for logs and CI, one plain line per epoch instead of redraws.

    import sys
    import lightning as L
    from callbacks import EpochLines

    callbacks = [] if sys.stderr.isatty() else [EpochLines()]   # `> fit.log`, CI: no `\\r` redraws
    trainer = L.Trainer(callbacks=callbacks)

A tqdm bar written to a file is hundreds of carriage-return redraws; this one writes, at the end of
each training epoch (after its validation and the module's epoch-end logging), `epoch 3/20  train/loss 0.6931  val/loss 0.6925 ...  1.4s`.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Optional, TextIO

import lightning.pytorch as pl
from lightning.pytorch.callbacks.progress.progress_bar import ProgressBar
from typing_extensions import override

__all__ = ["EpochLines"]


class EpochLines(ProgressBar):
    """One line per training epoch (and one at the end of `test`) with the progress-bar metrics.

    Args:
        stream: Where the lines go; None = `sys.stderr` at the time of writing (where tqdm writes).
        digits: Significant digits of the metric values.
    """

    def __init__(self, stream: Optional[TextIO] = None, digits: int = 4) -> None:
        super().__init__()
        if not isinstance(digits, int) or digits < 1:
            raise ValueError(f"`digits` must be a positive int, got {digits!r}")
        self.stream = stream
        self.digits = digits
        self._enabled = True
        self._started = 0.0
        self._pending: Optional[tuple[int, float]] = None  # (epoch, seconds) not written yet

    @override
    def disable(self) -> None:
        self._enabled = False

    @override
    def enable(self) -> None:
        self._enabled = True

    def _write(self, trainer: "pl.Trainer", text: str) -> None:
        if self._enabled and trainer.is_global_zero:
            stream = self.stream or sys.stderr
            stream.write(text + "\n")
            stream.flush()

    def _metrics_text(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", prefix: str = "") -> str:
        metrics = self.get_metrics(trainer, pl_module)
        parts = []
        for key, value in sorted(metrics.items()):
            if key == "v_num" or (prefix and not key.startswith(prefix)):
                continue
            parts.append(f"{key} {value:.{self.digits}g}" if isinstance(value, float) else f"{key} {value}")
        return "  ".join(parts)

    @override
    def on_train_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._flush(trainer, pl_module)
        self._started = time.perf_counter()

    @override
    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # The LightningModule's own `on_train_epoch_end` (where an epoch loss is often logged) runs
        # after the callbacks': the line is written when the next epoch starts or training ends.
        self._pending = (trainer.current_epoch, time.perf_counter() - self._started)

    @override
    def on_train_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._flush(trainer, pl_module)

    @override
    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        self._flush(trainer, pl_module)

    def _flush(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if self._pending is None:
            return
        epoch, seconds = self._pending
        self._pending = None
        total = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs > 0 else "?"
        parts = [f"epoch {epoch + 1}/{total}", self._metrics_text(trainer, pl_module), f"{seconds:.1f}s"]
        self._write(trainer, "  ".join(p for p in parts if p))

    @override
    def on_test_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._write(trainer, f"test  {self._metrics_text(trainer, pl_module, prefix='test/')}".rstrip())

    @override
    def get_metrics(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> dict[str, Any]:
        # The logged scalars a user watches: progress-bar metrics plus the losses and scores in callback_metrics.
        shown = dict(super().get_metrics(trainer, pl_module))
        for key, value in trainer.callback_metrics.items():
            name = str(key)
            if name.count("/") == 1 and name.split("/")[0] in ("train", "val", "test") and getattr(value, "numel", lambda: 0)() == 1:
                shown.setdefault(name, float(value))
        return shown
