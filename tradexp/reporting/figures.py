"""Draw the reports' figures from the `*_info` NamedTuples; each function returns PNG bytes.

Figures are made with `matplotlib.figure.Figure` directly, not pyplot: that touches no global
backend or state (safe in a notebook and inside a training process) and needs no `plt.close`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Optional

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tradexp.reporting.sections import CurvePanel, PrInfo, RocInfo, Series
from tradexp.reporting.study_sections import HistoryInfo, ImportanceInfo, ParallelInfo

__all__ = [
    "draw_curve_panels",
    "draw_roc_pr",
    "draw_series",
    "draw_history",
    "draw_importances",
    "draw_parallel",
    "draw_intermediate",
    "MAX_LEGEND",
]

MAX_LEGEND = 12  # more lines than this: no legend (the table names the runs)
_DPI = 100
_STATE_COLOURS = {"COMPLETE": "tab:blue", "PRUNED": "tab:orange", "FAIL": "tab:red", "RUNNING": "tab:gray"}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, bbox_inches="tight")
    return buf.getvalue()


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (4.6, 3.2)) -> tuple[Figure, list]:
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def draw_curve_panels(panels: Sequence[CurvePanel], ncols: int = 3) -> Optional[bytes]:
    """One subplot per panel, one line per series (markers when a line has few points)."""
    if not panels:
        return None
    fig, axes = _grid(len(panels), ncols)
    for ax, panel in zip(axes, panels):
        many = len(panel.series) > MAX_LEGEND
        for s in panel.series:
            marker = "o" if len(s.x) <= 30 and not many else None
            ax.plot(s.x, s.y, marker=marker, markersize=3, linewidth=1.0 if many else 1.5, alpha=0.6 if many else 1.0, label=s.label)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel, fontsize=9)
        if panel.xlabel in ("epoch", "evaluation"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        if not many:
            ax.legend(fontsize=7)
    return _png(fig)


def draw_roc_pr(rocs: Mapping[str, RocInfo], prs: Mapping[str, PrInfo]) -> Optional[bytes]:
    """ROC (left) and precision-recall (right), one line per run, AUC / AP in the legend."""
    if not rocs and not prs:
        return None
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_roc, ax_pr = fig.subplots(1, 2)
    legend = len(rocs) <= MAX_LEGEND
    for label, roc in rocs.items():
        ax_roc.plot(roc.fpr, roc.tpr, linewidth=1.2, label=f"{label} (AUC {roc.auc:.3f})")
    ax_roc.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=0.8)
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    for label, pr in prs.items():
        ax_pr.step(pr.recall, pr.precision, where="post", linewidth=1.2, label=f"{label} (AP {pr.average_precision:.3f})")
    if prs:
        ax_pr.axhline(next(iter(prs.values())).base_rate, linestyle="--", color="gray", linewidth=0.8)
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall (test)", ylim=(0, 1.02))
    for ax in (ax_roc, ax_pr):
        ax.grid(alpha=0.3)
        if legend:
            ax.legend(fontsize=7)
    return _png(fig)


def draw_series(series: Sequence[Series], title: str, ylabel: str) -> Optional[bytes]:
    """Several lines on one axis (e.g. equity curves)."""
    if not series:
        return None
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.subplots()
    for s in series:
        ax.plot(s.x, s.y, linewidth=1.2, label=s.label)
    ax.set(title=title, ylabel=ylabel)
    ax.grid(alpha=0.3)
    if len(series) <= MAX_LEGEND:
        ax.legend(fontsize=7)
    return _png(fig)


def draw_history(info: HistoryInfo, metric: str, direction: str) -> Optional[bytes]:
    """Objective per completed trial (dots) and the best value so far (line)."""
    if not info.numbers:
        return None
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    ax.scatter(info.numbers, info.values, s=12, alpha=0.7, label="trial value")
    ax.step(info.numbers, info.best_so_far, where="post", color="tab:red", label=f"best so far ({direction})")
    ax.set(xlabel="trial", ylabel=metric, title="Optimisation history")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def draw_importances(info: ImportanceInfo) -> Optional[bytes]:
    """Horizontal bars, most important param at the top."""
    if not info.importances:
        return None
    names = list(info.importances)[::-1]
    fig = Figure(figsize=(7, 0.45 * len(names) + 1.2), layout="constrained")
    ax = fig.subplots()
    ax.barh(names, [info.importances[n] for n in names], color="tab:blue")
    ax.set(xlabel="importance (sums to 1)", title="Parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def draw_parallel(info: ParallelInfo) -> Optional[bytes]:
    """Parallel coordinates: one line per completed trial, coloured by its objective value."""
    n, k = info.lines.shape
    if n == 0 or k < 2:
        return None
    fig = Figure(figsize=(max(6.0, 1.6 * k), 4.2), layout="constrained")
    ax = fig.subplots()
    xs = np.arange(k, dtype=float)
    segments = np.stack([np.column_stack([xs, row]) for row in info.lines])  # (n, k, 2)
    values = info.values
    span = float(np.nanmax(values) - np.nanmin(values)) or 1.0
    lines = LineCollection(list(segments), cmap="viridis", linewidths=1.0, alpha=0.7)
    lines.set_array((values - np.nanmin(values)) / span)
    ax.add_collection(lines)
    for i, ticks in enumerate(info.tick_labels):
        ax.axvline(i, color="black", linewidth=0.8)
        for pos, text in ticks[:12]:
            ax.annotate(text, (i, pos), xytext=(3, 0), textcoords="offset points", fontsize=7, va="center")
    ax.set_xlim(-0.2, k - 0.5)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks(xs, info.axes, rotation=20, fontsize=8, ha="right")
    ax.set_yticks([])
    ax.set_title("Parallel coordinates (completed trials; colour = objective)")
    fig.colorbar(lines, ax=ax, label="objective (scaled)")
    return _png(fig)


def draw_intermediate(curves: Sequence[tuple[Series, str]], metric: str) -> Optional[bytes]:
    """Objective per epoch of every trial, coloured by state (pruned trials stop early)."""
    if not curves:
        return None
    fig = Figure(figsize=(9, 4), layout="constrained")
    ax = fig.subplots()
    seen = set()
    for series, state in curves:
        label = state if state not in seen else None
        seen.add(state)
        ax.plot(series.x, series.y, color=_STATE_COLOURS.get(state, "tab:purple"), linewidth=0.8, alpha=0.6, label=label)
    ax.set(xlabel="epoch", ylabel=metric, title="Intermediate values")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
