"""Trading metrics of a backtest and the annualisation inferred from the bar timestamps.

Definitions (risk-free rate 0; `r` = net simple returns per step, `n` steps, `P` steps per year):

- `total_return` = prod(1 + r) - 1; `annual_return` = (1 + total_return) ** (P / n) - 1 (geometric).
- `annual_vol` = std(r, ddof=1) * sqrt(P); `sharpe` = mean(r) / std(r, ddof=1) * sqrt(P).
- `sortino` = mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(P) (downside deviation below 0 over all steps).
- `max_drawdown` = max over t of 1 - equity_t / max(1, equity_0..t), a positive fraction.
- `calmar` = annual_return / max_drawdown.
- `hit_rate` = share of steps with a position whose gross return is > 0.
- `turnover` = mean |position change| per step (the first entry from flat counts);
  `annual_turnover` = turnover * P. `exposure` = mean |position|.
A ratio whose denominator is 0 (no variation, no drawdown, no trade) is reported as 0.
"""

from __future__ import annotations

from typing import NamedTuple, Optional, Union

import numpy as np
import pandas as pd

from tradexp.evaluation.backtest import Backtest

__all__ = ["Annualisation", "ReturnMoments", "infer_periods_per_year", "trading_metrics", "return_moments", "sharpe_ratio", "max_drawdown", "METRIC_NAMES"]

METRIC_NAMES = (
    "total_return",
    "annual_return",
    "annual_vol",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "turnover",
    "annual_turnover",
    "exposure",
    "cost_total",
    "n_periods",
    "sharpe_per_period",
    "skew",
    "kurtosis",
)


class Annualisation(NamedTuple):
    """How per-bar figures were annualised (recorded with the metrics)."""

    periods_per_year: float
    bar_seconds: float
    rule: str


_DAY = 86_400.0


def infer_periods_per_year(timestamps: np.ndarray, override: Optional[float] = None) -> Annualisation:
    """Bars per year from the spacing of the timestamps.

    Daily bars: 252 when no bar falls on a weekend (equities), 365 when weekend bars exist (crypto,
    7-day markets). Intraday bars: bars per active day times 252 or 365 by the same weekend rule.
    Weekly bars: 52; monthly: 12.

    Args:
        timestamps: Bar times (S,), sortable datetime64 or anything `pd.DatetimeIndex` accepts.
        override: Use this instead of inferring (recorded as `given`).

    Returns:
        Annualisation(periods_per_year, median bar spacing in seconds, a sentence saying why).

    Raises:
        ValueError: When fewer than 2 timestamps are given and no override.
    """
    index = pd.DatetimeIndex(timestamps)
    spacing = float(np.median(np.diff(index.values) / np.timedelta64(1, "s"))) if len(index) > 1 else float("nan")
    if override is not None:
        if override <= 0:
            raise ValueError(f"`periods_per_year` must be > 0, got {override}")
        return Annualisation(float(override), spacing, f"given: {override} periods per year")
    if len(index) < 2:
        raise ValueError("need at least 2 timestamps to infer the bar frequency; pass `periods_per_year`")
    weekend = bool((index.dayofweek >= 5).mean() > 0.02)
    days, market = (365, "weekend bars present: 7-day market") if weekend else (252, "no weekend bars: trading days")
    if spacing >= 25 * _DAY:
        return Annualisation(12.0, spacing, f"monthly bars (median spacing {spacing / _DAY:.1f} days): 12 per year")
    if spacing >= 5 * _DAY:
        return Annualisation(52.0, spacing, f"weekly bars (median spacing {spacing / _DAY:.1f} days): 52 per year")
    if spacing >= 0.75 * _DAY:
        return Annualisation(float(days), spacing, f"daily bars, {market}: {days} per year")
    bars_per_day = float(pd.Series(1, index=index.normalize()).groupby(level=0).size().median())
    return Annualisation(days * bars_per_day, spacing, f"intraday bars every {spacing:.0f} s, {bars_per_day:g} per active day x {days} days ({market})")


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator > 1e-15 else 0.0


def sharpe_ratio(returns: np.ndarray, periods_per_year: float = 1.0, axis: int = -1) -> Union[float, np.ndarray]:
    """Mean over sample standard deviation (ddof=1), times sqrt(periods_per_year); 0 without variation.

    Args:
        returns: Per-step returns (S,), or several series along `axis` (e.g. (B, S) bootstrap samples
            or (N, W) rolling windows).
        periods_per_year: Steps per year (1 = per-step Sharpe).
        axis: The time axis.

    Returns:
        A float for one series, else an array without `axis`.
    """
    returns = np.asarray(returns, dtype="float64")
    if returns.shape[axis] < 2:
        out = np.zeros(np.delete(returns.shape, axis % returns.ndim)) if returns.ndim > 1 else np.zeros(())
    else:
        spread = returns.std(axis=axis, ddof=1)
        varies = spread > 1e-15
        out = np.where(varies, returns.mean(axis=axis) / np.where(varies, spread, 1.0), 0.0) * float(np.sqrt(periods_per_year))
    return float(out) if out.ndim == 0 else out


class ReturnMoments(NamedTuple):
    """What the probabilistic and deflated Sharpe ratios need of a return series (per step, not annualised)."""

    sharpe: float  # mean / std (ddof=1)
    n_obs: int
    skew: float  # population skewness
    kurtosis: float  # Pearson, non-excess (normal = 3)


def return_moments(returns: np.ndarray) -> ReturnMoments:
    """Per-step Sharpe, count, skewness and (non-excess) kurtosis; (0, n, 0, 3) with < 3 steps or no variation."""
    returns = np.asarray(returns, dtype="float64")
    n = int(returns.size)
    if n < 3 or float(returns.std()) <= 1e-15:
        return ReturnMoments(float(sharpe_ratio(returns)) if n else 0.0, n, 0.0, 3.0)
    deviations = returns - returns.mean()
    m2, m3, m4 = (float(np.mean(deviations**k)) for k in (2, 3, 4))  # central moments, population (bias=True)
    skew, kurtosis = m3 / m2**1.5, m4 / m2**2
    return ReturnMoments(float(sharpe_ratio(returns)), n, skew, kurtosis)


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough loss of the equity curve of `returns`, starting from 1 (a positive fraction)."""
    equity = np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(returns, dtype="float64"))])
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks))


def trading_metrics(backtest: Backtest) -> dict[str, float]:
    """All metrics of METRIC_NAMES for one backtest (see the module docstring for definitions)."""
    r = backtest.returns
    n = len(r)
    periods = backtest.periods_per_year
    if n == 0:
        return {name: 0.0 for name in METRIC_NAMES}
    total = float(np.prod(1.0 + r) - 1.0)
    annual_return = float((1.0 + total) ** (periods / n) - 1.0) if total > -1 else -1.0
    std = float(r.std(ddof=1)) if n > 1 else 0.0
    downside = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    drawdown = max_drawdown(r)
    active = backtest.positions != 0
    turnover = float(backtest.turnover.mean())
    moments = return_moments(r)
    return {
        "total_return": total,
        "annual_return": annual_return,
        "annual_vol": std * float(np.sqrt(periods)),
        "sharpe": sharpe_ratio(r, periods),
        "sortino": _ratio(float(r.mean()), downside) * float(np.sqrt(periods)),
        "max_drawdown": drawdown,
        "calmar": _ratio(annual_return, drawdown),
        "hit_rate": float((backtest.gross_returns[active] > 0).mean()) if active.any() else 0.0,
        "turnover": turnover,
        "annual_turnover": turnover * periods,
        "exposure": float(np.abs(backtest.positions).mean()),
        "cost_total": float(backtest.costs.sum()),
        "n_periods": float(n),
        "sharpe_per_period": moments.sharpe,
        "skew": moments.skew,
        "kurtosis": moments.kurtosis,
    }
