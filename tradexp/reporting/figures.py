"""Draw the reports' static figures (importances, parallel coordinates, intermediate values) as PNG bytes;
the interactive charts are in `charts.py`.

Figures are standalone `matplotlib.figure.Figure`s on an Agg canvas (`callbacks._figures.subplots`), not pyplot: that touches no global
backend or state (safe in a notebook and inside a training process) and needs no `plt.close`.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Optional

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from callbacks._figures import subplots
from tradexp.reporting.run_info import Series
from tradexp.reporting.study_info import ImportanceInfo, ParallelInfo

__all__ = ["draw_importances", "draw_parallel", "draw_intermediate"]

_DPI = 100
_STATE_COLOURS = {"COMPLETE": "tab:blue", "PRUNED": "tab:orange", "FAIL": "tab:red", "RUNNING": "tab:gray"}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)  # constrained layout already fits the labels
    return buf.getvalue()


def draw_importances(info: ImportanceInfo) -> Optional[bytes]:
    """Horizontal bars, most important param at the top."""
    if not info.importances:
        return None
    names = list(info.importances)[::-1]
    fig, ax = subplots(figsize=(7, 0.45 * len(names) + 1.2))
    ax.barh(names, [info.importances[n] for n in names], color="tab:blue")
    ax.set(xlabel="importance (sums to 1)", title="Parameter importances")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def draw_parallel(info: ParallelInfo) -> Optional[bytes]:
    """Parallel coordinates: one line per completed trial, coloured by its objective value."""
    n, k = info.lines.shape
    if n == 0 or k < 2:
        return None
    fig, ax = subplots(figsize=(max(6.0, 1.6 * k), 4.2))
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
    fig, ax = subplots(figsize=(9, 4))
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
