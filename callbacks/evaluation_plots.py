"""`EvaluationPlots`: how good the predictions are, on the test split (or validation without a test).

Protocol: `test_step` / `validation_step` return a dict with `preds` (B,) — the probability of the
positive class (logits are detected and passed through a sigmoid) or the predicted value — and
`target` (B,). When the outputs lack those keys, the model is run on the loader instead: its
batches are read as `(x, y, ...)` (or a dict with `x`/`y`) and `pl_module(x)` gives the preds.

Classification (binary targets): `plots/roc.png`, `plots/pr.png`, `plots/confusion_matrix.png`,
`plots/calibration.png`, `plots/probability_hist.png`. Regression: `plots/pred_vs_actual.png`,
`plots/residuals.png`. Always `predictions/<split>_predictions.csv` ([`symbol`,] `timestamp`, `target`,
`pred` [, `forward_return`]; `symbol` when the split data has `symbols` (a universe); `sample` instead of `timestamp` when the datamodule offers no timestamps
through `split_data(split)` or `describe()["splits"][split]`) and `predictions/<split>_summary.json`.

When: at the end of `trainer.test`; and, unless `validation_fallback=False`, at the end of fit on the
last validation epoch's predictions (titles say "validation"; a later test run redraws the plots),
except when the runner said a test follows (`test_follows_fit`, as `tradexp fit` does): then only
the test draws.
The predictions are gathered in the hook; the figures and files are made in the callback's background
thread and joined at `teardown` (before the run ends) or by whoever reads them (`wait_for_writes`).
Under DDP the predictions of all ranks are gathered (each rank's order; the distributed sampler may
repeat a few samples to even out the ranks) and the rows carry `sample` numbers, not timestamps.
"""

from __future__ import annotations

import logging
from typing import Any, Literal, Mapping

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.utilities import move_data_to_device
from typing_extensions import override

from callbacks._batches import first_loader, split_batch
from callbacks._evaluation_info import _get_calibration_info, _get_confusion_info, _get_pr_info, _get_probability_hist_info, _get_regression_info, _get_roc_info
from callbacks._figures import subplots
from callbacks._run_output import ReportingCallback, RunOutput, json_text

__all__ = ["EvaluationPlots"]

log = logging.getLogger(__name__)

_SPLIT_TITLE = {"test": "test", "val": "validation"}


def _draw_classification(target: np.ndarray, probs: np.ndarray, split: str, threshold: float, bins: int) -> dict[str, Any]:
    title = _SPLIT_TITLE[split]
    figures = {}
    roc = _get_roc_info(target, probs)
    fig, ax = subplots(figsize=(5, 4.6))
    ax.plot(roc.fpr, roc.tpr, lw=1.6, label=f"model (AUC {roc.auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC ({title}, n={len(target)})")
    ax.legend(loc="lower right")
    figures["roc"] = fig

    pr = _get_pr_info(target, probs)
    fig, ax = subplots(figsize=(5, 4.6))
    ax.plot(pr.recall, pr.precision, lw=1.6, label=f"model (AP {pr.average_precision:.3f})")
    ax.axhline(pr.base_rate, ls="--", color="#999999", label=f"base rate {pr.base_rate:.3f}")
    ax.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02), title=f"Precision-recall ({title})")
    ax.legend(loc="lower left")
    figures["pr"] = fig

    confusion = _get_confusion_info(target, probs, threshold)
    fig, ax = subplots(figsize=(4.6, 4.2))
    shares = confusion.matrix / max(confusion.matrix.sum(), 1)
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=max(shares.max(), 1e-9))
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{confusion.matrix[i, j]}\n{shares[i, j]:.1%}", ha="center", va="center", color="white" if shares[i, j] > shares.max() / 2 else "black")
    ax.set_xticks([0, 1], ["pred 0", "pred 1"])
    ax.set_yticks([0, 1], ["actual 0", "actual 1"])
    ax.set_title(f"Confusion ({title}, p > {threshold:g})\nacc {confusion.accuracy:.3f}, balanced {confusion.balanced_accuracy:.3f}")
    figures["confusion_matrix"] = fig

    calibration = _get_calibration_info(target, probs, bins)
    fig, ax = subplots(figsize=(5, 4.6))
    filled = calibration.counts > 0
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", label="perfect")
    ax.plot(calibration.mean_predicted[filled], calibration.fraction_positive[filled], marker="o", label=f"model (ECE {calibration.ece:.3f})")
    ax.set(xlabel="mean predicted probability", ylabel="observed share of class 1", xlim=(0, 1), ylim=(0, 1), title=f"Calibration ({title})")
    ax.legend(loc="upper left")
    figures["calibration"] = fig

    hist = _get_probability_hist_info(target, probs)
    fig, ax = subplots(figsize=(5.5, 4))
    for cls, counts in hist.counts.items():
        ax.stairs(counts, hist.edges, label=f"actual {cls}", lw=1.5)
    ax.axvline(threshold, ls="--", color="#999999")
    ax.set(xlabel="predicted probability of class 1", ylabel="samples", title=f"Predicted probabilities ({title})")
    ax.legend()
    figures["probability_hist"] = fig
    summary = {
        "auc": roc.auc,
        "average_precision": pr.average_precision,
        "base_rate": pr.base_rate,
        "accuracy": confusion.accuracy,
        "balanced_accuracy": confusion.balanced_accuracy,
        "confusion_matrix": confusion.matrix,
        "threshold": threshold,
        "ece": calibration.ece,
    }
    return {"figures": figures, "summary": summary}


def _draw_regression(target: np.ndarray, pred: np.ndarray, split: str) -> dict[str, Any]:
    title = _SPLIT_TITLE[split]
    info = _get_regression_info(target, pred)
    fig, ax = subplots(figsize=(5, 4.8))
    ax.scatter(info.target, info.pred, s=6, alpha=0.4)
    low, high = float(min(info.target.min(), info.pred.min())), float(max(info.target.max(), info.pred.max()))
    ax.plot([low, high], [low, high], ls="--", color="#999999", label="pred = actual")
    ax.set(xlabel="actual", ylabel="predicted", title=f"Predicted vs actual ({title})\nR² {info.r2:.3f}, corr {info.pearson:.3f}, dir. acc {info.directional_accuracy:.3f}")
    ax.legend()
    residuals = subplots(figsize=(5.5, 4))
    residuals[1].stairs(info.residual_counts, info.residual_edges, fill=True, alpha=0.6)
    residuals[1].axvline(0, color="#333333", lw=1)
    residuals[1].set(xlabel="actual - predicted", ylabel="samples", title=f"Residuals ({title}): mean {info.residual_mean:.3g}, std {info.residual_std:.3g}")
    summary = {"r2": info.r2, "pearson": info.pearson, "mae": info.mae, "rmse": info.rmse, "directional_accuracy": info.directional_accuracy}
    return {"figures": {"pred_vs_actual": fig, "residuals": residuals[0]}, "summary": summary}


class EvaluationPlots(ReportingCallback):
    """Collects predictions from the evaluation steps and draws the evaluation plots (see the module docstring).

    Args:
        task: `classification`, `regression` or `auto` (binary 0/1 targets mean classification).
        threshold: Classification: predict class 1 when the probability is above this (0 < t < 1).
        calibration_bins: Bins of the calibration curve (>= 2).
        validation_fallback: Also draw on the last validation epoch at the end of fit (skipped when
            `test_follows_fit` says a test follows).
        preds_key: Key of the predictions in the step outputs.
        target_key: Key of the targets in the step outputs.
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(
        self,
        task: Literal["auto", "classification", "regression"] = "auto",
        threshold: float = 0.5,
        calibration_bins: int = 10,
        validation_fallback: bool = True,
        preds_key: str = "preds",
        target_key: str = "target",
        strict: bool = False,
    ) -> None:
        super().__init__(strict=strict)
        if task not in ("auto", "classification", "regression"):
            raise ValueError(f"`task` must be one of ['auto', 'classification', 'regression'], got {task!r}")
        if not 0 < threshold < 1:
            raise ValueError(f"`threshold` must be in (0, 1), got {threshold!r}")
        if not isinstance(calibration_bins, int) or calibration_bins < 2:
            raise ValueError(f"`calibration_bins` must be an int >= 2, got {calibration_bins!r}")
        self.task = task
        self.threshold = threshold
        self.calibration_bins = calibration_bins
        self.validation_fallback = validation_fallback
        self.preds_key = preds_key
        self.target_key = target_key
        self._buffers: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {"val": [], "test": []}
        self._missing: dict[str, bool] = {"val": False, "test": False}

    # -- collecting --------------------------------------------------------------------------
    def _reset(self, split: str) -> None:
        self._buffers[split] = []
        self._missing[split] = False

    def _collect(self, split: str, outputs: Any) -> None:
        if isinstance(outputs, Mapping) and self.preds_key in outputs and self.target_key in outputs:
            preds, target = outputs[self.preds_key], outputs[self.target_key]
            # kept on the device until the end: no host sync per batch
            self._buffers[split].append((preds.detach().float().reshape(len(preds), -1), target.detach().float().reshape(len(target), -1)))
        else:
            self._missing[split] = True

    @override
    def on_test_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._reset("test")

    @override
    def on_test_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if dataloader_idx == 0:
            with self.reporting_errors(trainer, "on_test_batch_end"):
                self._collect("test", outputs)

    @override
    def on_test_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._finish(trainer, pl_module, "test", trainer.test_dataloaders)

    @override
    def on_validation_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not trainer.sanity_checking:
            self._reset("val")

    @override
    def on_validation_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self.validation_fallback and not trainer.sanity_checking and dataloader_idx == 0:
            with self.reporting_errors(trainer, "on_validation_batch_end"):
                self._collect("val", outputs)

    @override
    def on_fit_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if self.validation_fallback and not self.test_follows():
            self._finish(trainer, pl_module, "val", trainer.val_dataloaders)
        self._buffers["val"] = []

    # -- gathering (every rank) and writing (global zero) -------------------------------------
    def _finish(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", split: str, loaders: Any) -> None:
        with self.reporting_errors(trainer, f"on_{split}_end"):
            missing = bool(trainer.strategy.broadcast(self._missing[split] or not self._buffers[split]))
            if missing:
                preds, target = self._predict(pl_module, first_loader(loaders))
            else:
                preds = torch.cat([p for p, _ in self._buffers[split]]).cpu()  # (N, 1)
                target = torch.cat([t for _, t in self._buffers[split]]).cpu()
            self._buffers[split] = []
            if trainer.world_size > 1:
                preds, target = self._gather(trainer, preds), self._gather(trainer, target)
            if trainer.is_global_zero and self.output is not None and len(target):
                self._write(trainer, preds.numpy(), target.numpy(), split, "model run on the loader" if missing else "step outputs")

    @staticmethod
    def _predict(pl_module: "pl.LightningModule", loader: Any) -> tuple[torch.Tensor, torch.Tensor]:
        preds, targets = [], []
        if loader is None:
            return torch.empty(0, 1), torch.empty(0, 1)
        modes = {module: module.training for module in pl_module.modules()}
        pl_module.eval()
        try:
            with torch.no_grad():
                for batch in loader:
                    x, y = split_batch(batch)
                    if y is None:
                        raise ValueError("the evaluation batches carry no target; return `preds` and `target` from the step instead")
                    out = pl_module(move_data_to_device(x, pl_module.device))
                    preds.append(out.detach().float().reshape(len(out), -1).cpu())
                    targets.append(y.detach().float().reshape(len(y), -1).cpu())
        finally:
            for module, training in modes.items():
                module.training = training
        return torch.cat(preds), torch.cat(targets)

    @staticmethod
    def _gather(trainer: "pl.Trainer", values: torch.Tensor) -> torch.Tensor:
        device = trainer.strategy.root_device
        sizes = trainer.strategy.all_gather(torch.tensor([len(values)], device=device)).reshape(-1)  # (W,)
        width = values.shape[1] if values.ndim == 2 else 1
        padded = torch.zeros(int(sizes.max()), width, device=device)
        padded[: len(values)] = values.reshape(len(values), width).to(device)
        gathered = trainer.strategy.all_gather(padded)  # (W, max_n, width)
        return torch.cat([gathered[rank, : int(n)] for rank, n in enumerate(sizes)]).cpu()

    def _write(self, trainer: "pl.Trainer", preds: np.ndarray, target: np.ndarray, split: str, source: str) -> None:
        if preds.shape[1] != 1 or target.shape[1] != 1:
            raise ValueError(f"EvaluationPlots needs one prediction and one target per sample, got preds {preds.shape} and target {target.shape}")
        preds, target = preds[:, 0], target[:, 0]  # (N, 1) -> (N,)
        task = self.task
        if task == "auto":
            task = "classification" if np.isin(np.unique(target), [0.0, 1.0]).all() else "regression"
        note = None
        if task == "classification" and (preds.min() < 0 or preds.max() > 1):
            preds, note = 1 / (1 + np.exp(-preds)), "preds outside [0, 1] were read as logits (sigmoid applied)"
        table = self._table(trainer, split, target, preds)
        self.in_background(f"on_{split}_end", self._draw_and_write, self.output, task, target, preds, split, table, {"source": source, "note": note})

    def _draw_and_write(self, output: RunOutput, task: str, target: np.ndarray, preds: np.ndarray, split: str, table: pd.DataFrame, facts: dict) -> None:
        if task == "classification":
            drawn = _draw_classification(target, preds, split, self.threshold, self.calibration_bins)
        else:
            drawn = _draw_regression(target, preds, split)
        for name, fig in drawn["figures"].items():
            output.write_figure(fig, f"plots/{name}.png")
        output.write_text(table.to_csv(index=False), f"predictions/{split}_predictions.csv")
        summary = {"split": split, "task": task, "n": int(len(target)), **facts, "columns": list(table.columns), **drawn["summary"]}
        output.write_text(json_text(summary), f"predictions/{split}_summary.json")

    @staticmethod
    def _table(trainer: "pl.Trainer", split: str, target: np.ndarray, preds: np.ndarray) -> pd.DataFrame:
        data = None
        datamodule = trainer.datamodule
        if trainer.world_size == 1 and datamodule is not None:
            try:
                if callable(getattr(datamodule, "split_data", None)):
                    data = datamodule.split_data(split)
                elif callable(getattr(datamodule, "describe", None)):
                    data = datamodule.describe().get("splits", {}).get(split)
            except (KeyError, AttributeError, TypeError, ValueError) as exc:
                log.info("no timestamps for the %s predictions (%s); rows are numbered instead", split, exc)
        timestamps = None if data is None else data.get("timestamps")
        if timestamps is None or len(timestamps) != len(target):
            return pd.DataFrame({"sample": np.arange(len(target)), "target": target, "pred": preds})
        frame = pd.DataFrame({"timestamp": pd.to_datetime(np.asarray(timestamps)), "target": target, "pred": preds})
        symbols = data.get("symbols")  # a universe: whose bar each row is
        if symbols is not None and len(symbols) == len(target):
            frame.insert(0, "symbol", np.asarray(symbols, dtype=object))
        forward = data.get("forward_returns")
        if forward is not None and len(forward) == len(target):
            frame["forward_return"] = np.asarray(forward, dtype="float64")
        return frame
