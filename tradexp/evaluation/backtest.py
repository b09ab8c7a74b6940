"""Positions from model predictions and a cost-aware backtest of them on forward returns.

Conventions (the same for the model and every baseline):

- A position taken at bar t (-1 short, 0 flat, +1 long) earns the simple return of the label's
  forward log return: `position_t * (exp(r_t) - 1)`.
- Costs: `cost_bps / 10_000` per unit of turnover `|position_t - position_{t-1}|`; the book starts
  flat, so entering the first position costs too; the final exit is not charged.
- Horizon h > 1: the forward returns of consecutive bars overlap (each covers h bars), so summing
  them would count every bar's move h times. The backtest keeps every h-th sample instead
  (non-overlapping steps: rebalance every h bars) and annualises with `periods_per_year / h`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

import numpy as np

__all__ = ["Backtest", "positions_from_predictions", "non_overlapping", "run_backtest"]

InBand = Literal["flat", "hold"]


@dataclass
class Backtest:
    """Per-step outcome of a strategy.

    Attributes:
        positions: Position held over each step (S,).
        gross_returns: Simple return before costs (S,).
        costs: Cost paid at the start of each step (S,), a positive fraction of equity.
        returns: Net simple return `gross_returns - costs` (S,).
        forward_returns: The forward log returns the positions earned (S,).
        timestamps: Bar time of each step (S,) or None.
        periods_per_year: Steps per year used to annualise.
    """

    positions: np.ndarray
    gross_returns: np.ndarray
    costs: np.ndarray
    returns: np.ndarray
    forward_returns: np.ndarray
    timestamps: Optional[np.ndarray]
    periods_per_year: float

    @property
    def equity(self) -> np.ndarray:
        """Equity curve starting from 1 before the first step, (S,) values after each step."""
        return np.cumprod(1.0 + self.returns)

    @property
    def turnover(self) -> np.ndarray:
        """Per-step turnover `|position_t - position_{t-1}|`, starting from flat (S,)."""
        return np.abs(np.diff(self.positions, prepend=0.0))


def positions_from_predictions(
    preds: np.ndarray, task: Literal["classification", "regression"], long_only: bool = False, no_trade_band: float = 0.0, in_band: InBand = "flat"
) -> np.ndarray:
    """Turn predictions into positions in {-1, 0, +1}.

    Classification (`preds` = P(up)): long when `P > 0.5 + band`, short when `P < 0.5 - band`
    (flat when `long_only`). Regression (`preds` = predicted return): the sign of the prediction
    outside `(-band, band)`. Inside the band the position is flat, or kept from the previous bar
    with `in_band="hold"` (hysteresis that saves turnover).

    Args:
        preds: Model outputs (S,), in time order.
        task: `classification` or `regression`.
        long_only: Never short; a short signal means flat.
        no_trade_band: Half-width of the band around 0.5 (classification) or 0 (regression).
        in_band: `flat` or `hold` inside the band.

    Returns:
        float64 positions (S,).

    Raises:
        ValueError: On an unknown task or band mode, or a negative band.
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"`task` must be `classification` or `regression`, got {task!r}")
    if no_trade_band < 0:
        raise ValueError(f"`no_trade_band` must be >= 0, got {no_trade_band}")
    if in_band not in ("flat", "hold"):
        raise ValueError(f"`in_band` must be `flat` or `hold`, got {in_band!r}")
    score = np.asarray(preds, dtype="float64") - (0.5 if task == "classification" else 0.0)
    signal = np.where(score > no_trade_band, 1.0, np.where(score < -no_trade_band, -1.0, 0.0))
    if long_only:
        signal = np.maximum(signal, 0.0)
    if in_band == "hold":
        in_band_mask = np.abs(score) <= no_trade_band  # under long_only a short signal is "flat", not "hold"
        positions = signal.copy()
        for t in np.flatnonzero(in_band_mask):  # sequential by nature: each bar keeps the previous one
            positions[t] = positions[t - 1] if t > 0 else 0.0
        return positions
    return signal


def non_overlapping(horizon: int, length: int) -> np.ndarray:
    """Indices of the steps kept for a horizon-h backtest: 0, h, 2h, ... below `length`."""
    if horizon < 1:
        raise ValueError(f"`horizon` must be >= 1, got {horizon}")
    return np.arange(0, length, horizon)


def run_backtest(
    positions: np.ndarray, forward_returns: np.ndarray, cost_bps: float = 0.0, periods_per_year: float = 252.0, horizon: int = 1, timestamps: Optional[np.ndarray] = None
) -> Backtest:
    """Backtest positions on forward log returns, net of costs, on non-overlapping steps.

    Args:
        positions: Position decided at each bar (S,), in time order.
        forward_returns: Forward log return over the horizon from each bar (S,).
        cost_bps: Cost in basis points per unit of turnover.
        periods_per_year: Bars per year (annualisation of one-bar steps).
        horizon: Label horizon in bars; every h-th bar is traded (see the module docstring).
        timestamps: Bar times (S,), kept for curves and tables.

    Returns:
        Backtest on the kept steps, with `periods_per_year / horizon` steps per year.

    Raises:
        ValueError: On mismatched lengths, non-finite returns or a negative cost.
    """
    positions = np.asarray(positions, dtype="float64")
    forward_returns = np.asarray(forward_returns, dtype="float64")
    if positions.shape != forward_returns.shape or positions.ndim != 1:
        raise ValueError(f"positions {positions.shape} and forward_returns {forward_returns.shape} must be 1-D of one length")
    if cost_bps < 0:
        raise ValueError(f"`cost_bps` must be >= 0, got {cost_bps}")
    if not np.isfinite(forward_returns).all():
        raise ValueError("forward_returns contain NaN/inf; backtest only bars whose label is known")
    keep = non_overlapping(horizon, len(positions))
    positions, forward_returns = positions[keep], forward_returns[keep]
    stamps = None if timestamps is None else np.asarray(timestamps)[keep]
    gross = positions * np.expm1(forward_returns)
    costs = np.abs(np.diff(positions, prepend=0.0)) * cost_bps / 10_000.0
    return Backtest(
        positions=positions,
        gross_returns=gross,
        costs=costs,
        returns=gross - costs,
        forward_returns=forward_returns,
        timestamps=stamps,
        periods_per_year=float(periods_per_year) / horizon,
    )
