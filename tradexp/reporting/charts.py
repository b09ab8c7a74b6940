"""Interactive charts of the reports: plotly.js figure specs (plain dicts) from the `*_info` NamedTuples.

Each function is pure: numbers in, a `{"data": [...], "layout": {...}}` figure out, which
`markup.chart` embeds as JSON and the report's script draws with the plotly.js bundled in the
page (hover shows values, drag zooms, double-click resets, a legend click toggles a series).

    spec = curve_chart(learning_curve_info(run.histories)[0])
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np
import pandas as pd

from tradexp.reporting.run_info import CurvePanel, PrInfo, RocInfo, Series
from tradexp.reporting.study_info import HistoryInfo

__all__ = ["curve_chart", "lines_chart", "drawdown_chart", "roc_chart", "pr_chart", "history_chart", "plain"]

_VALUE = "%{y:.4f}"


def plain(values: Any) -> list[Any]:
    """Values as JSON-ready Python: floats (NaN/inf -> None), ISO times, ints, strings."""
    out: list[Any] = []
    for v in np.asarray(values, dtype=object).reshape(-1).tolist() if not isinstance(values, list) else values:
        if isinstance(v, (np.datetime64, pd.Timestamp, _dt.datetime, _dt.date)):
            out.append(pd.Timestamp(v).isoformat())
        elif isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, (int, np.integer)):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(float(v) if math.isfinite(float(v)) else None)
        else:
            out.append(v if v is None or isinstance(v, str) else str(v))
    return out


def _layout(title: str, xlabel: str, ylabel: str = "", *, hovermode: str = "x unified", height: int = 320, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "xaxis": {"title": {"text": xlabel}},
        "yaxis": {"title": {"text": ylabel}},
        "hovermode": hovermode,
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 45},
        "legend": {"orientation": "h", "y": -0.25},
        **extra,
    }


def _integer_ticks(layout: dict[str, Any], xs: Sequence[Any]) -> None:
    """Whole-number ticks on the x axis (epochs, trials), about ten of them."""
    span = (max(xs) - min(xs)) if xs else 0
    layout["xaxis"].update(tickformat="d", tick0=0, dtick=max(1, math.ceil(span / 10)))


def _line(series: Series, *, markers: bool = False, shape: str = "linear") -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers" if markers and len(series.x) <= 60 else "lines",
        "name": series.label,
        "x": plain(series.x),
        "y": plain(series.y),
        "line": {"shape": shape, "width": 1.5},
        "hovertemplate": f"{_VALUE}<extra>%{{fullData.name}}</extra>",
    }


def curve_chart(panel: CurvePanel) -> dict[str, Any]:
    """One learning-curve panel: a line per series (train/val, or one per run), x = epoch or step."""
    layout = _layout(panel.title, panel.xlabel)
    if panel.xlabel in ("epoch", "evaluation"):
        _integer_ticks(layout, [x for s in panel.series for x in s.x])
    return {"data": [_line(s, markers=True) for s in panel.series], "layout": layout}


def lines_chart(series: Sequence[Series], title: str, ylabel: str, xlabel: str = "") -> dict[str, Any]:
    """Several lines on one axis (equity curves of strategies or runs)."""
    return {"data": [_line(s) for s in series], "layout": _layout(title, xlabel, ylabel, height=360)}


def drawdown_chart(series: Series, max_drawdown: Optional[float] = None) -> dict[str, Any]:
    """Drawdown below the running peak (a positive fraction), filled to zero."""
    trace = {**_line(series), "fill": "tozeroy", "hovertemplate": "%{y:.2%}<extra>drawdown</extra>"}
    title = "Drawdown of the model" + (f" (max {max_drawdown:.1%})" if max_drawdown is not None else "")
    return {"data": [trace], "layout": _layout(title, "", "drawdown", height=280, yaxis={"tickformat": ".0%", "autorange": "reversed"})}


def roc_chart(rocs: Mapping[str, RocInfo]) -> dict[str, Any]:
    """ROC curves (one per run or per split), AUC in the legend, the chance diagonal dashed."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": f"{label} (AUC {roc.auc:.3f})",
            "x": plain(roc.fpr),
            "y": plain(roc.tpr),
            "hovertemplate": "FPR %{x:.3f}, TPR %{y:.3f}<extra>%{fullData.name}</extra>",
        }
        for label, roc in rocs.items()
    ]
    data.append({"type": "scatter", "mode": "lines", "name": "chance", "x": [0, 1], "y": [0, 1], "line": {"dash": "dash", "color": "gray"}, "hoverinfo": "skip"})
    return {"data": data, "layout": _layout("ROC (test)", "false positive rate", "true positive rate", hovermode="closest", height=360)}


def pr_chart(prs: Mapping[str, PrInfo]) -> dict[str, Any]:
    """Precision-recall as steps (precision is a step function of recall), average precision in the legend."""
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"shape": "vh"},
            "name": f"{label} (AP {pr.average_precision:.3f})",
            "x": plain(pr.recall),
            "y": plain(pr.precision),
            "hovertemplate": "recall %{x:.3f}, precision %{y:.3f}<extra>%{fullData.name}</extra>",
        }
        for label, pr in prs.items()
    ]
    if prs:
        base = next(iter(prs.values())).base_rate
        data.append(
            {"type": "scatter", "mode": "lines", "name": f"base rate {base:.3f}", "x": [0, 1], "y": [base, base], "line": {"dash": "dash", "color": "gray"}, "hoverinfo": "skip"}
        )
    return {"data": data, "layout": _layout("Precision-recall (test)", "recall", "precision", hovermode="closest", height=360, yaxis={"range": [0, 1.02]})}


def history_chart(info: HistoryInfo, metric: str, direction: str) -> dict[str, Any]:
    """Objective per completed trial (points, hover names the trial) and the best value so far (steps)."""
    points = {"type": "scatter", "mode": "markers", "name": "trial value", "x": info.numbers, "y": plain(info.values), "hovertemplate": f"trial %{{x}}: {_VALUE}<extra></extra>"}
    best = {
        "type": "scatter",
        "mode": "lines",
        "name": f"best so far ({direction})",
        "x": info.numbers,
        "y": plain(info.best_so_far),
        "line": {"shape": "hv", "color": "#b42318"},
        "hovertemplate": f"best after trial %{{x}}: {_VALUE}<extra></extra>",
    }
    layout = _layout("Optimisation history", "trial", metric, hovermode="closest", height=360)
    _integer_ticks(layout, info.numbers)
    return {"data": [points, best], "layout": layout}
