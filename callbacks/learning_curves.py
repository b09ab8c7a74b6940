"""`LearningCurves`: loss, metrics and learning rate per epoch, as one figure kept up to date.

`plots/learning_curves.png` is redrawn every `every_n_epochs` epochs (skipped while drawing would
exceed `max_time_share` of the fit's time, so short epochs are not slowed) and at the end of fit (in
the callback's background thread, joined at `teardown`; not again when the last epoch's figure
already shows every epoch), together with `plots/learning_curves.csv` (one row per epoch). Train and validation values of the same
metric share a panel (`train/loss` with `val/loss`, `val_acc` with `train_acc`); the learning rate
of every optimizer parameter group, read from the optimizer itself, gets its own log-scale panel.
The history is saved in checkpoints, so a resumed fit keeps its earlier epochs.
"""

from __future__ import annotations

import fnmatch
import math
import re
import time
from typing import Any, NamedTuple, Optional, Sequence

import lightning.pytorch as pl
import pandas as pd
from matplotlib.ticker import MaxNLocator
from typing_extensions import override

from callbacks._figures import subplots
from callbacks._run_output import ReportingCallback, RunOutput

__all__ = ["LearningCurves"]

_FIRST_DRAW_ESTIMATE = 0.5  # seconds one redraw is assumed to take before one was timed (2 CPU cores)
_STAGE = re.compile(r"^(?P<stage>train|training|val|valid|validation|test)(?P<sep>[/_.])(?P<base>.+)$")


class CurvePanel(NamedTuple):
    title: str
    series: dict[str, tuple[list[int], list[float]]]  # metric name -> (epochs, values)
    log_scale: bool


class CurveInfo(NamedTuple):
    panels: list[CurvePanel]
    epochs: int


def _base_name(key: str) -> str:
    key = key[: -len("_epoch")] if key.endswith("_epoch") else key
    match = _STAGE.match(key)
    return match["base"] if match else key


def _is_validation(key: str) -> bool:
    match = _STAGE.match(key)
    return bool(match) and match["stage"] in ("val", "valid", "validation")


def _get_learning_curve_info(history: Sequence[dict[str, float]], max_panels: int = 12) -> CurveInfo:
    """Group each epoch's values into panels: one per metric (train and val together), then the learning rate."""
    groups: dict[str, dict[str, tuple[list[int], list[float]]]] = {}
    lr_series: dict[str, tuple[list[int], list[float]]] = {}
    for row in history:
        epoch = int(row["epoch"])
        for key, value in row.items():
            if key == "epoch" or value is None or not math.isfinite(value):
                continue
            target = lr_series if key == "lr" or key.startswith("lr/") else groups.setdefault(_base_name(key), {})
            epochs, values = target.setdefault(key, ([], []))
            epochs.append(epoch)
            values.append(float(value))
    order = sorted(groups, key=lambda name: (name != "loss", name))[: max_panels - (1 if lr_series else 0)]
    panels = [CurvePanel(name, groups[name], False) for name in order]
    if lr_series:
        panels.append(CurvePanel("learning rate", lr_series, True))
    return CurveInfo(panels, len(history))


def _draw_learning_curves(info: CurveInfo) -> Any:
    n = max(len(info.panels), 1)
    ncols = min(3, n)
    nrows = math.ceil(n / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.4 * ncols, 3.2 * nrows), squeeze=False)
    for i, panel in enumerate(info.panels):
        ax = axes[i // ncols][i % ncols]
        for name, (epochs, values) in panel.series.items():
            ax.plot(epochs, values, marker="o" if len(epochs) < 30 else None, ms=3, label=name)
        if panel.log_scale and all(v > 0 for _, values in panel.series.values() for v in values):
            ax.set_yscale("log")
        ax.set_title(panel.title)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for k in range(len(info.panels), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    fig.suptitle(f"Learning curves ({info.epochs} epochs)")
    return fig


class LearningCurves(ReportingCallback):
    """Collects epoch-level metrics and learning rates; draws them every N epochs and at the end of fit.

    Values are read from `trainer.callback_metrics` at the end of each training epoch (step-level
    `*_step` values are skipped; validation values are kept only for epochs where validation ran) and
    the learning rate from `trainer.optimizers` at the start of each epoch (the rate it trained with). Drawn on global rank zero only.

    Args:
        every_n_epochs: Redraw every this many epochs (>= 0; 0 = only at the end of fit).
        max_time_share: Skip a periodic redraw when drawing would take more than this share of the
            fit's wall time so far (0 < share <= 1; None = never skip); the final figure is always drawn.
        metrics: Glob patterns of the metric names to plot (default: every epoch-level scalar).
        max_panels: At most this many panels in the figure (>= 1).
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(
        self, every_n_epochs: int = 5, max_time_share: Optional[float] = 0.02, metrics: Optional[Sequence[str]] = None, max_panels: int = 12, strict: bool = False
    ) -> None:
        super().__init__(strict=strict)
        if not isinstance(every_n_epochs, int) or every_n_epochs < 0:
            raise ValueError(f"`every_n_epochs` must be an int >= 0 (0 = only at the end), got {every_n_epochs!r}")
        if max_time_share is not None and not 0 < max_time_share <= 1:
            raise ValueError(f"`max_time_share` must be in (0, 1] or None (never skip), got {max_time_share!r}")
        if metrics is not None and (isinstance(metrics, str) or not all(isinstance(m, str) and m for m in metrics)):
            raise ValueError(f"`metrics` must be a list of name patterns such as ['*loss', 'val/*'], got {metrics!r}")
        if not isinstance(max_panels, int) or max_panels < 1:
            raise ValueError(f"`max_panels` must be an int >= 1, got {max_panels!r}")
        self.every_n_epochs = every_n_epochs
        self.max_time_share = max_time_share
        self.metrics = list(metrics) if metrics is not None else None
        self.max_panels = max_panels
        self.history: list[dict[str, float]] = []
        self._validated_epoch: Optional[int] = None
        self._epoch_lr: dict[str, float] = {}
        self._fit_started = 0.0
        self._drawing_seconds = 0.0
        self._last_draw_seconds = _FIRST_DRAW_ESTIMATE
        self._drawn: tuple[str, list[dict[str, float]]] = ("", [])  # (destination, the history its figure shows)

    @staticmethod
    def _learning_rates(trainer: "pl.Trainer") -> dict[str, float]:
        rates = {}
        for i, optimizer in enumerate(trainer.optimizers):
            for g, group in enumerate(optimizer.param_groups):
                name = "lr" if len(trainer.optimizers) == 1 and len(optimizer.param_groups) == 1 else f"lr/optimizer{i}/group{g}"
                rates[name] = float(group["lr"])
        return rates

    @override
    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._fit_started, self._drawing_seconds, self._last_draw_seconds = time.perf_counter(), 0.0, _FIRST_DRAW_ESTIMATE

    @override
    def on_train_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        # Epoch-interval schedulers step after the last batch, before the epoch-end hooks: read the
        # rate the epoch was trained with now.
        self._epoch_lr = self._learning_rates(trainer)

    @override
    def on_validation_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not trainer.sanity_checking:
            self._validated_epoch = trainer.current_epoch

    @override
    def on_train_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        with self.reporting_errors(trainer, "on_train_epoch_end"):
            self._record(trainer)
            if self.every_n_epochs and (trainer.current_epoch + 1) % self.every_n_epochs == 0 and self._within_budget():
                self._draw(trainer)

    @override
    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        with self.reporting_errors(trainer, "on_fit_end"):
            self._draw(trainer, background=True)

    @override
    def on_exception(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", exception: BaseException) -> None:
        super().on_exception(trainer, pl_module, exception)  # the fit-end drawing, if it was handed over
        with self.reporting_errors(trainer, "on_exception"):
            self._draw(trainer)  # the curves up to the failure are what one needs to see why

    def _record(self, trainer: "pl.Trainer") -> None:
        validated = self._validated_epoch == trainer.current_epoch
        row: dict[str, float] = {"epoch": trainer.current_epoch}
        for key, value in trainer.callback_metrics.items():
            if value.numel() != 1 or key.endswith("_step") or (not validated and _is_validation(key)):
                continue
            if self.metrics is not None and not any(fnmatch.fnmatchcase(key, pattern) for pattern in self.metrics):
                continue
            row[key] = float(value)
        row.update(self._epoch_lr or self._learning_rates(trainer))
        self.history = [r for r in self.history if r["epoch"] != row["epoch"]] + [row]

    def _within_budget(self) -> bool:
        """Whether one more redraw keeps the drawing time under `max_time_share` of the fit so far."""
        if self.max_time_share is None:
            return True
        elapsed = time.perf_counter() - self._fit_started
        return self._drawing_seconds + self._last_draw_seconds <= self.max_time_share * elapsed

    def _draw(self, trainer: "pl.Trainer", background: bool = False) -> None:
        if not trainer.is_global_zero or self.output is None or not self.history or self._drawn == (self.output.key, self.history):
            return  # nothing to show, or the figure in the run already shows exactly this history
        self._drawn = (self.output.key, [dict(row) for row in self.history])
        if background:
            self.in_background("on_fit_end", self._write, self.output, self._drawn[1])
        else:
            self._write(self.output, self._drawn[1])

    def _write(self, output: RunOutput, history: list[dict[str, float]]) -> None:
        start = time.perf_counter()
        output.write_figure(_draw_learning_curves(_get_learning_curve_info(history, self.max_panels)), "plots/learning_curves.png")
        output.write_text(pd.DataFrame(history).to_csv(index=False), "plots/learning_curves.csv")
        self._last_draw_seconds = time.perf_counter() - start
        self._drawing_seconds += self._last_draw_seconds

    @override
    def state_dict(self) -> dict[str, Any]:
        return {"history": [dict(row) for row in self.history]}

    @override
    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(row) for row in state_dict.get("history", [])]
