"""Trading plots: equity of model and baselines, drawdown, rolling Sharpe, per-fold results.

Each plot is a pure `_get_*_info(...) -> NamedTuple` (what tests assert on) and a `draw_*` that
renders it to a PNG file. Figures are standalone `matplotlib.figure.Figure`s (no pyplot): drawing
never switches the user's backend, never joins their open figures and sets no global style.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np
from matplotlib.figure import Figure

from callbacks._figures import subplots
from tradexp.evaluation.backtest import Backtest
from tradexp.evaluation.metrics import sharpe_ratio

__all__ = [
    "EquityInfo",
    "DrawdownInfo",
    "RollingSharpeInfo",
    "FoldsInfo",
    "_get_equity_info",
    "_get_drawdown_info",
    "_get_rolling_sharpe_info",
    "_get_folds_info",
    "draw_equity",
    "draw_drawdown",
    "draw_rolling_sharpe",
    "draw_folds",
]


class EquityInfo(NamedTuple):
    x: np.ndarray  # (S,) timestamps or step numbers
    curves: dict[str, np.ndarray]  # strategy -> equity (S,), starting after the first step


class DrawdownInfo(NamedTuple):
    x: np.ndarray
    drawdown: np.ndarray  # (S,) 1 - equity / running peak (peak starts at 1)
    max_drawdown: float


class RollingSharpeInfo(NamedTuple):
    x: np.ndarray
    sharpe: np.ndarray  # (S,) annualised Sharpe over the trailing window, NaN before it fills
    window: int


class FoldsInfo(NamedTuple):
    folds: list[str]
    metrics: dict[str, np.ndarray]  # metric -> value per fold


def _x(backtest: Backtest) -> np.ndarray:
    return backtest.timestamps if backtest.timestamps is not None else np.arange(len(backtest.returns))


def _get_equity_info(backtests: dict[str, Backtest]) -> EquityInfo:
    """Equity curves of every strategy on the model's steps."""
    first = next(iter(backtests.values()))
    return EquityInfo(x=_x(first), curves={name: bt.equity for name, bt in backtests.items()})


def _get_drawdown_info(backtest: Backtest) -> DrawdownInfo:
    """Drawdown of one strategy below its running peak (the start counts as a peak of 1)."""
    equity = backtest.equity
    peaks = np.maximum.accumulate(np.maximum(equity, 1.0))
    drawdown = 1.0 - equity / peaks
    return DrawdownInfo(x=_x(backtest), drawdown=drawdown, max_drawdown=float(drawdown.max()) if len(drawdown) else 0.0)


def _get_rolling_sharpe_info(backtest: Backtest, window: Optional[int] = None) -> RollingSharpeInfo:
    """Annualised Sharpe over a trailing window (default a quarter of a year, at least 10 steps)."""
    window = int(window or max(10, round(backtest.periods_per_year / 4)))
    window = min(window, max(len(backtest.returns), 2))
    returns = backtest.returns
    sharpe = np.full(len(returns), np.nan)
    if len(returns) >= window:
        windows = np.lib.stride_tricks.sliding_window_view(returns, window)  # (S,) -> (S - W + 1, W) view, no copy
        sharpe[window - 1 :] = sharpe_ratio(windows, backtest.periods_per_year, axis=1)  # (S - W + 1,)
    return RollingSharpeInfo(x=_x(backtest), sharpe=sharpe, window=window)


def _get_folds_info(rows: Sequence[dict], metrics: Sequence[str] = ("sharpe", "acc", "max_drawdown")) -> FoldsInfo:
    """Per-fold values of a few metrics from `folds.csv` rows (keys `fold` and the metric names)."""
    names = [f"fold {row['fold']}" for row in rows]
    values = {m: np.array([float(row.get(m, np.nan)) for row in rows]) for m in metrics if any(m in row for row in rows)}
    return FoldsInfo(folds=names, metrics=values)


def draw_equity(info: EquityInfo, path: str | Path, title: str = "Equity (net of costs)") -> Path:
    fig, ax = subplots(figsize=(9, 4.5))
    for name, curve in info.curves.items():
        ax.plot(info.x, curve, label=name, linewidth=2.0 if name == "model" else 1.0, alpha=1.0 if name == "model" else 0.75)
    ax.axhline(1.0, color="grey", linewidth=0.5)
    ax.set_title(title)
    ax.set_ylabel("equity (start = 1)")
    ax.legend(loc="best")
    fig.autofmt_xdate()
    return _save(fig, path)


def draw_drawdown(info: DrawdownInfo, path: str | Path, title: str = "Drawdown of the model") -> Path:
    fig, ax = subplots(figsize=(9, 3.5))
    ax.fill_between(info.x, -info.drawdown, 0.0, color="tab:red", alpha=0.4)
    ax.set_title(f"{title} (max {info.max_drawdown:.1%})")
    ax.set_ylabel("drawdown")
    fig.autofmt_xdate()
    return _save(fig, path)


def draw_rolling_sharpe(info: RollingSharpeInfo, path: str | Path) -> Path:
    fig, ax = subplots(figsize=(9, 3.5))
    ax.plot(info.x, info.sharpe, color="tab:blue")
    ax.axhline(0.0, color="grey", linewidth=0.5)
    ax.set_title(f"Rolling Sharpe (annualised, {info.window}-step window)")
    fig.autofmt_xdate()
    return _save(fig, path)


def draw_folds(info: FoldsInfo, path: str | Path) -> Path:
    count = max(len(info.metrics), 1)
    fig, axes = subplots(1, count, figsize=(4 * count, 3.5), squeeze=False)
    for ax, (name, values) in zip(axes[0], info.metrics.items()):
        ax.bar(info.folds, values, color="tab:blue")
        mean = np.nanmean(values) if np.isfinite(values).any() else np.nan
        ax.axhline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.3f}")
        ax.set_title(name)
        ax.legend(loc="best")
    fig.suptitle("Walk-forward: per-fold test results")
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
