"""`DataDistribution`: what the model is trained and judged on, per split, and how the splits differ.

Files: `data/distribution.json` (per-split summary statistics, label balance, drift table, train
correlation, the scaler's parameters), `data/drift.csv` (one row per feature and split: PSI, KS
statistic and p-value, means and stds), `plots/feature_histograms.png`, `plots/label_balance.png`,
`plots/correlation.png` (seaborn heatmap on train), `plots/drift.png`. Metrics (step 0):
`data/drift/<split>/psi_max`, `data/drift/<split>/ks_max` and, for the `max_metric_features` most
drifting features, `data/drift/<split>/psi/<feature>` and `data/drift/<split>/ks/<feature>`.

The data comes from the datamodule's `describe()` protocol when it has one, else from sampled batches.

`describe()` protocol — a datamodule may define `describe() -> dict` with:
    `splits`: {"train" | "val" | "test": {"features": (S, F) array of RAW (unscaled) features at each
        sample's time, "targets": (S,) array (optional), "timestamps": (S,) (optional)}}; "train" required;
    `feature_names`: list of F names (optional; default `f0`, `f1`, ...);
    `task`: "classification" or "regression" (optional; inferred from the targets);
    `scaler`: dict of the fitted scaler's parameters (optional).
Fallback: up to `max_batches` batches of each of the datamodule's (or the trainer's) train/val/test
loaders; a batch's inputs (B, F) are used as they are, windows (B, W, F) by their last step, other
shapes flattened; the scaler's parameters are read from `datamodule.scaler` (`state_dict()`, or the
`mean_`/`scale_`/`center_` attributes of a scikit-learn scaler).
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple, Optional

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import seaborn as sns
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from typing_extensions import override

from callbacks._batches import first_loader, last_step_features, split_batch, take_batches
from callbacks._distribution_info import DriftRow, HistogramInfo, _get_correlation_info, _get_drift_info, _get_histogram_info, _get_label_info, _get_summary_info, infer_task
from callbacks._figures import subplots
from callbacks._run_output import ReportingCallback, json_text

__all__ = ["DataDistribution"]

_SPLITS = ("train", "val", "test")


class SplitSamples(NamedTuple):
    features: dict[str, np.ndarray]  # split -> (S, F)
    targets: dict[str, Optional[np.ndarray]]  # split -> (S,)
    names: list[str]
    task: Optional[str]
    scaler: Optional[dict]
    source: str


def _scaler_params(scaler: Any) -> Optional[dict]:
    if scaler is None:
        return None
    if isinstance(scaler, dict):
        return scaler
    if callable(getattr(scaler, "state_dict", None)):
        return scaler.state_dict()
    params = {k: np.asarray(getattr(scaler, k)).tolist() for k in ("mean_", "scale_", "center_", "var_") if getattr(scaler, k, None) is not None}
    return params or None


def _metric_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", text)


def _draw_histograms(info: HistogramInfo, max_features: int) -> Any:
    names = info.features[:max_features]
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False)
    colors = {"train": "#1f77b4", "val": "#ff7f0e", "test": "#2ca02c"}
    for j, name in enumerate(names):
        ax = axes[j // ncols][j % ncols]
        for split, densities in info.densities.items():
            ax.stairs(densities[j], info.edges[j], label=split, color=colors.get(split), lw=1.3)
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.locator_params(axis="x", nbins=5)
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].axis("off")
    axes[0][0].legend(fontsize=7)
    hidden = len(info.features) - len(names)
    fig.suptitle("Feature distributions per split (density)" + (f" — first {len(names)}, {hidden} more in distribution.json" if hidden else ""))
    return fig


def _draw_label_balance(labels: dict[str, dict], targets: dict[str, Optional[np.ndarray]], task: Optional[str]) -> Any:
    fig, ax = subplots(figsize=(6, 3.6))
    if task == "classification":
        classes = sorted({c for info in labels.values() if info.get("available") for c in info["shares"]})
        width = 0.8 / max(len(labels), 1)
        for i, (split, info) in enumerate(labels.items()):
            shares = [info.get("shares", {}).get(c, 0.0) for c in classes]
            bars = ax.bar(np.arange(len(classes)) + i * width, shares, width, label=split)
            ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.set_xticks(np.arange(len(classes)) + width * (len(labels) - 1) / 2, [f"class {c}" for c in classes])
        ax.set_ylabel("share of samples")
    else:
        for split, y in targets.items():
            if y is not None and y.size:
                ax.hist(y[np.isfinite(y)], bins=40, density=True, histtype="step", label=split, lw=1.3)
        ax.set_xlabel("target")
        ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.set_title("Label balance per split" if task == "classification" else "Target distribution per split")
    return fig


def _draw_correlation(names: list[str], matrix: np.ndarray) -> Any:
    size = min(2.0 + 0.55 * len(names), 14)
    fig, ax = subplots(figsize=(size + 1.5, size))
    annotate = len(names) <= 12
    sns.heatmap(
        pd.DataFrame(matrix, index=names, columns=names), ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", center=0, annot=annotate, fmt=".2f", annot_kws={"fontsize": 7}, square=True
    )
    ax.set_title("Feature correlation (train)")
    return fig


def _draw_drift(rows: list[DriftRow]) -> Any:
    frame = pd.DataFrame(rows)
    features = list(dict.fromkeys(frame["feature"]))
    splits = list(dict.fromkeys(frame["split"]))
    fig, (ax_psi, ax_ks) = subplots(1, 2, figsize=(11, 1.2 + 0.35 * len(features) * max(1, len(splits) / 1.5)))
    height = 0.8 / max(len(splits), 1)
    for i, split in enumerate(splits):
        part = frame[frame["split"] == split].set_index("feature").reindex(features)
        y = np.arange(len(features)) + i * height
        ax_psi.barh(y, part["psi"].to_numpy(), height, label=f"{split} vs train")
        ax_ks.barh(y, part["ks_stat"].to_numpy(), height, label=f"{split} vs train")
    for ax in (ax_psi, ax_ks):
        ax.set_yticks(np.arange(len(features)) + height * (len(splits) - 1) / 2, features, fontsize=8)
        ax.invert_yaxis()
        ax.legend(fontsize=8)
    ax_psi.axvline(0.1, color="#999999", ls="--", lw=1)
    ax_psi.axvline(0.25, color="#cc3333", ls="--", lw=1)
    ax_psi.set_title("PSI (dashed: 0.1 moderate, 0.25 large)")
    ax_ks.set_title("Kolmogorov-Smirnov statistic")
    fig.suptitle("Feature drift against the train split")
    return fig


class DataDistribution(ReportingCallback):
    """Describes each split's features and labels and the drift between train and val/test, once per run.

    Runs when training starts, on global rank zero only (no collective calls): the samples are read
    there, the statistics, files and figures are made in the callback's background thread while the
    first epochs train, and joined at `teardown` (before the run ends).

    Args:
        max_batches: Fallback only: batches sampled per split when the datamodule has no `describe()` (>= 1).
        max_samples: Rows per split used for the statistics (evenly spaced when more; >= 100).
        bins: Histogram bins (>= 5).
        psi_bins: Quantile bins of the train split for PSI (>= 2).
        max_plot_features: At most this many features in the histogram figure (>= 1).
        max_metric_features: Per-feature drift metrics for at most this many features, the most
            drifting first (>= 0); the table and JSON always hold all of them.
        strict: Raise errors instead of recording them and going on.
    """

    def __init__(
        self, max_batches: int = 20, max_samples: int = 50_000, bins: int = 30, psi_bins: int = 10, max_plot_features: int = 16, max_metric_features: int = 20, strict: bool = False
    ) -> None:
        super().__init__(strict=strict)
        for name, value, low in (
            ("max_batches", max_batches, 1),
            ("max_samples", max_samples, 100),
            ("bins", bins, 5),
            ("psi_bins", psi_bins, 2),
            ("max_plot_features", max_plot_features, 1),
            ("max_metric_features", max_metric_features, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise ValueError(f"`{name}` must be an int >= {low}, got {value!r}")
        self.max_batches = max_batches
        self.max_samples = max_samples
        self.bins = bins
        self.psi_bins = psi_bins
        self.max_plot_features = max_plot_features
        self.max_metric_features = max_metric_features
        self._done: set[str] = set()

    @override
    def on_train_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not trainer.is_global_zero or self.output is None or self.output.key in self._done:
            return
        with self.reporting_errors(trainer, "on_train_start"):
            self._done.add(self.output.key)
            self.in_background("on_train_start", self._report, self._collect(trainer))

    # -- where the data comes from --------------------------------------------------------------
    def _collect(self, trainer: "pl.Trainer") -> SplitSamples:
        datamodule = trainer.datamodule
        describe = getattr(datamodule, "describe", None)
        if callable(describe):
            description = describe()
            features, targets = {}, {}
            for split, data in description["splits"].items():
                x = np.asarray(data["features"], dtype="float64")
                keep = self._rows(len(x))
                features[split] = x[keep]  # (S, F) -> (<= max_samples, F)
                y = data.get("targets")
                targets[split] = None if y is None else np.asarray(y, dtype="float64")[keep]
            names = list(description.get("feature_names") or [f"f{j}" for j in range(features["train"].shape[1])])
            task = description.get("task") or infer_task(targets.get("train"))
            return SplitSamples(features, targets, names, task, _scaler_params(description.get("scaler")), "describe()")
        loaders = self._loaders(trainer)
        features, targets = {}, {}
        for split, loader in loaders.items():
            xs, ys = [], []
            for batch in take_batches(loader, self.max_batches):
                x, y = split_batch(batch)
                xs.append(last_step_features(x))
                if y is not None:
                    ys.append(y.detach().float().cpu().reshape(len(y), -1)[:, 0].numpy())  # (B, ...) -> (B,)
            if xs:
                x_all = np.concatenate(xs)
                keep = self._rows(len(x_all))
                features[split] = x_all[keep]
                targets[split] = np.concatenate(ys)[keep] if len(ys) == len(xs) else None
        if "train" not in features:
            raise RuntimeError("no training batch to describe: the datamodule has no `describe()` and the train loader is empty")
        width = features["train"].shape[1]
        known = getattr(datamodule, "feature_names", None) or getattr(datamodule, "features", None)
        names = [str(n) for n in known] if isinstance(known, (list, tuple)) and len(known) == width else [f"f{j}" for j in range(width)]
        return SplitSamples(
            features, targets, names, infer_task(targets.get("train")), _scaler_params(getattr(datamodule, "scaler", None)), f"sampled batches (<= {self.max_batches} per split)"
        )

    def _rows(self, n: int) -> np.ndarray:
        if n <= self.max_samples:
            return np.arange(n)
        return np.linspace(0, n - 1, self.max_samples).round().astype(int)

    def _loaders(self, trainer: "pl.Trainer") -> dict[str, Any]:
        datamodule = trainer.datamodule
        if datamodule is None:
            return {name: first_loader(loader) for name, loader in (("train", trainer.train_dataloader), ("val", trainer.val_dataloaders)) if first_loader(loader) is not None}
        loaders = {}
        for name in _SPLITS:
            try:
                loader = first_loader(getattr(datamodule, f"{name}_dataloader")())
            except (NotImplementedError, MisconfigurationException):
                continue  # the datamodule has no such split
            if loader is not None:
                loaders[name] = loader
        return loaders

    # -- what is written -----------------------------------------------------------------------
    def _report(self, samples: SplitSamples) -> dict[str, float]:
        """Write the files and figures; returns the drift metrics (logged from the trainer's thread)."""
        out, names = self.output, samples.names
        splits = {s: samples.features[s] for s in _SPLITS if s in samples.features and len(samples.features[s])}
        labels = {s: _get_label_info(samples.targets.get(s), samples.task) for s in splits}
        drift = _get_drift_info(splits, names, "train", self.psi_bins) if len(splits) > 1 else []
        correlation = _get_correlation_info(splits["train"], names)
        description = {
            "source": samples.source,
            "task": samples.task,
            "feature_names": names,
            "n_samples": {s: int(len(x)) for s, x in splits.items()},
            "summary": {s: _get_summary_info(x, names) for s, x in splits.items()},
            "labels": labels,
            "drift": [row._asdict() for row in drift],
            "correlation_train": {"features": correlation.features, "matrix": np.round(correlation.matrix, 6).tolist()},
            "scaler": samples.scaler,
        }
        out.write_text(json_text(description), "data/distribution.json")
        out.write_text(pd.DataFrame(drift, columns=DriftRow._fields).to_csv(index=False), "data/drift.csv")
        out.write_figure(_draw_histograms(_get_histogram_info(splits, names, self.bins), self.max_plot_features), "plots/feature_histograms.png")
        out.write_figure(_draw_label_balance(labels, {s: samples.targets.get(s) for s in splits}, samples.task), "plots/label_balance.png")
        out.write_figure(_draw_correlation(correlation.features, correlation.matrix), "plots/correlation.png")
        if not drift:
            return {}
        out.write_figure(_draw_drift(drift), "plots/drift.png")
        return self._drift_metrics(drift)

    def _drift_metrics(self, rows: list[DriftRow]) -> dict[str, float]:
        metrics: dict[str, float] = {}
        worst: dict[str, float] = {}
        for row in rows:
            metrics[f"data/drift/{row.split}/psi_max"] = max(metrics.get(f"data/drift/{row.split}/psi_max", 0.0), row.psi)
            metrics[f"data/drift/{row.split}/ks_max"] = max(metrics.get(f"data/drift/{row.split}/ks_max", 0.0), row.ks_stat)
            worst[row.feature] = max(worst.get(row.feature, 0.0), row.psi)
        chosen = set(sorted(worst, key=worst.get, reverse=True)[: self.max_metric_features])
        for row in rows:
            if row.feature in chosen:
                metrics[f"data/drift/{row.split}/psi/{_metric_name(row.feature)}"] = row.psi
                metrics[f"data/drift/{row.split}/ks/{_metric_name(row.feature)}"] = row.ks_stat
        return {k: v for k, v in metrics.items() if math.isfinite(v)}
