"""Figures for the callbacks, made without pyplot.

`matplotlib.figure.Figure` draws with the Agg renderer when saved, never touches the user's pyplot
backend or its list of open figures (a notebook keeps its inline backend; nothing is left open), and
sets no global style; a figure is freed when the last reference goes.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6.4, 4.8), squeeze: bool = True, **kwargs: Any) -> tuple[Figure, Any]:
    """`(fig, ax)` like `plt.subplots`, on a standalone Figure."""
    fig = Figure(figsize=figsize, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=squeeze, **kwargs)
    return fig, axes
