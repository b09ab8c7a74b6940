"""Draw the reports' figures from the `*_info` NamedTuples; each function returns PNG bytes.

Figures are made with `matplotlib.figure.Figure` directly, not pyplot: that touches no global
backend or state (safe in a notebook and inside a training process) and needs no `plt.close`.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np
from matplotlib import colormaps
from matplotlib import dates as mdates
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from tradexp.reporting.run_info import CurvePanel, PrInfo, RocInfo, Series
from tradexp.reporting.study_info import HistoryInfo, ImportanceInfo, ParallelInfo

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
_CYCLE = colormaps["tab20"]
_STATE_COLOURS = {"COMPLETE": "tab:blue", "PRUNED": "tab:orange", "FAIL": "tab:red", "RUNNING": "tab:gray"}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)  # constrained layout already fits the labels
    return buf.getvalue()


def _many_lines(ax: Any, xy: Sequence[tuple[Any, Any]]) -> None:
    """Draw many lines as one LineCollection (one `plot` call per line is slow past a few dozen)."""
    is_time = any(len(x) and isinstance(x[0], (np.datetime64, _dt.datetime)) for x, _ in xy)
    segments = []
    for x, y in xy:
        xs = mdates.date2num(np.asarray(x)) if is_time else np.asarray(x, dtype=float)
        segments.append(np.column_stack([xs, np.asarray(y, dtype=float)]))  # (points, 2)
    colours = [_CYCLE(i % _CYCLE.N) for i in range(len(segments))]
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.8, alpha=0.6))
    ax.autoscale_view()
    if is_time:
        ax.xaxis_date()


def _lines(ax: Any, series: Sequence[tuple[Any, Any, str]], marker: bool = False) -> None:
    """A line per (x, y, label): individual lines with a legend when few, one collection when many."""
    if len(series) > MAX_LEGEND:
        _many_lines(ax, [(x, y) for x, y, _ in series])
        return
    for x, y, label in series:
        ax.plot(x, y, marker="o" if marker and len(x) <= 30 else None, markersize=3, linewidth=1.3, label=label)
    if series:
        ax.legend(fontsize=7)


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
        _lines(ax, [(s.x, s.y, s.label) for s in panel.series], marker=True)
        ax.set_title(panel.title, fontsize=10)
        ax.set_xlabel(panel.xlabel, fontsize=9)
        if panel.xlabel in ("epoch", "evaluation"):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
    return _png(fig)


def draw_roc_pr(rocs: Mapping[str, RocInfo], prs: Mapping[str, PrInfo]) -> Optional[bytes]:
    """ROC (left) and precision-recall (right), one line per run, AUC / AP in the legend."""
    if not rocs and not prs:
        return None
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_roc, ax_pr = fig.subplots(1, 2)
    _lines(ax_roc, [(roc.fpr, roc.tpr, f"{label} (AUC {roc.auc:.3f})") for label, roc in rocs.items()])
    ax_roc.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=0.8)
    ax_roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC (test)")
    # precision is a step function of recall: draw the steps as lines (x repeated at each step)
    steps = [(np.repeat(pr.recall, 2)[1:], np.repeat(pr.precision, 2)[:-1], f"{label} (AP {pr.average_precision:.3f})") for label, pr in prs.items()]
    _lines(ax_pr, steps)
    if prs:
        ax_pr.axhline(next(iter(prs.values())).base_rate, linestyle="--", color="gray", linewidth=0.8)
    ax_pr.set(xlabel="recall", ylabel="precision", title="Precision-recall (test)", ylim=(0, 1.02))
    for ax in (ax_roc, ax_pr):
        ax.grid(alpha=0.3)
    return _png(fig)


def draw_series(series: Sequence[Series], title: str, ylabel: str) -> Optional[bytes]:
    """Several lines on one axis (e.g. equity curves)."""
    if not series:
        return None
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.subplots()
    _lines(ax, [(s.x, s.y, s.label) for s in series])
    ax.set(title=title, ylabel=ylabel)
    ax.grid(alpha=0.3)
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
    ax.set_ylim(-0.12, 1.05)
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
    by_state: dict[str, list[np.ndarray]] = {}
    for series, state in curves:
        by_state.setdefault(state, []).append(np.column_stack([series.x, series.y]))  # (epochs, 2)
    for state, segments in sorted(by_state.items()):
        colour = _STATE_COLOURS.get(state, "tab:purple")
        ax.add_collection(LineCollection(segments, colors=colour, linewidths=0.8, alpha=0.6, label=f"{state} ({len(segments)})"))
    ax.autoscale_view()
    ax.set(xlabel="epoch", ylabel=metric, title="Intermediate values")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)
