"""Figures for the callbacks, made without pyplot.

`matplotlib.figure.Figure` on its own `FigureCanvasAgg` (matplotlib's "embedding without pyplot"
way) never touches the user's pyplot backend or its list of open figures (a notebook keeps its inline
backend; nothing is left open), and sets no global style; a figure is freed when the last reference
goes. The Agg canvas matters: on the bare `FigureCanvasBase` every text measurement before the draw
(seaborn asks for each tick label's extent) renders the whole figure into a throwaway buffer, which
cost ~540 MB and seconds for a 32-feature correlation heatmap.
"""

from __future__ import annotations

from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6.4, 4.8), squeeze: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """`(fig, ax)` like `plt.subplots`, on a standalone Figure."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, **kwargs)
    return fig, axes
