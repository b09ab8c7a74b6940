"""Evaluate a universe's predictions: each symbol as its own strategy, and the ranking across symbols.

Per symbol, the single-series evaluation (`evaluate_predictions`: costs, baselines, significance) runs on
that symbol's samples in time order; `UniverseReport.by_symbol` holds one row per symbol. Across
symbols, `cross_section_info` gives IC, rank IC, quantile returns and the long-short portfolio per date.
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple, Optional

import numpy as np
import pandas as pd

from tradexp.evaluation.cross_section import CrossSectionInfo, cross_section_info
from tradexp.evaluation.metrics import infer_periods_per_year
from tradexp.evaluation.trading import TradingSettings, evaluate_predictions

__all__ = ["UniverseReport", "evaluate_universe", "BY_SYMBOL_METRICS"]

# Per-symbol metrics logged as `<split>/by_symbol/<symbol>/<name>` (the CSV holds them all).
BY_SYMBOL_METRICS = ("acc", "acc_pvalue", "sharpe", "max_drawdown", "n")


class UniverseReport(NamedTuple):
    """Per-symbol and cross-sectional results of one split."""

    by_symbol: pd.DataFrame  # one row per symbol
    cross_section: Optional[CrossSectionInfo]  # None with fewer than 2 symbols on every date
    notes: tuple[str, ...]

    def flat_metrics(self, split: str = "test", max_symbols: int = 20) -> dict[str, float]:
        """`<split>/xs/*` and `<split>/by_symbol/<symbol>/<metric>` for the first `max_symbols` symbols."""
        out = self.cross_section.flat_metrics(split) if self.cross_section is not None else {}
        for row in self.by_symbol.head(max_symbols).itertuples(index=False):
            values = row._asdict()
            for name in BY_SYMBOL_METRICS:
                value = values.get(name)
                if value is not None and np.isfinite(value):
                    out[f"{split}/by_symbol/{values['symbol']}/{name}"] = float(value)
        return out


def evaluate_universe(
    preds: np.ndarray,
    split: dict[str, Any],
    task: Literal["classification", "regression"],
    train_up_rate: float,
    settings: TradingSettings,
    horizon: int,
    quantiles: int = 5,
    significance: bool = True,
    by_symbol: bool = True,
) -> UniverseReport:
    """Per-symbol backtests and the cross-sectional ranking of one split's predictions.

    Args:
        preds: Predictions aligned with the split's samples (S,).
        split: `split_data(name)` of a universe: `forward_returns`, `timestamps`, `symbols`, `targets`.
        task: `classification` or `regression`.
        train_up_rate: Share of up moves in the training labels.
        settings: The trading settings (costs, band, annualisation, bootstrap).
        horizon: Label horizon in bars.
        quantiles: Prediction groups per date for the long-short portfolio.
        significance: Run the per-symbol tests and the bootstrap (skip for a cheap per-epoch pass).
        by_symbol: Backtest each symbol too (False for the per-epoch validation pass, which logs only
            the cross-sectional metrics).

    Returns:
        UniverseReport.
    """
    preds = np.asarray(preds, dtype="float64")
    symbols = np.asarray(split["symbols"])
    stamps = pd.DatetimeIndex(split["timestamps"])
    forward = np.asarray(split["forward_returns"], dtype="float64")
    rows, notes = [], []
    for symbol in pd.unique(symbols) if by_symbol else ():
        mask = symbols == symbol
        order = np.argsort(stamps[mask].values, kind="stable")
        if mask.sum() < 3:
            notes.append(f"{symbol}: {int(mask.sum())} samples, too few to evaluate")
            continue
        report = evaluate_predictions(preds[mask][order], forward[mask][order], stamps[mask].values[order], task, train_up_rate, settings, horizon, significance)
        model = report.metrics["model"]
        row = {"symbol": str(symbol), "n": float(mask.sum())}
        row.update({name: float(model[name]) for name in ("sharpe", "annual_return", "max_drawdown", "hit_rate", "turnover")})
        row["buy_and_hold_sharpe"] = float(report.metrics["buy_and_hold"]["sharpe"])
        if report.accuracy is not None:
            row.update({"acc": report.accuracy.accuracy, "acc_pvalue": report.accuracy.pvalue, "acc_reference": report.accuracy.reference_rate})
        rows.append(row)
    by_symbol = pd.DataFrame(rows)
    frame = pd.DataFrame({"timestamp": stamps, "symbol": symbols, "pred": preds, "forward_return": forward})
    periods = infer_periods_per_year(np.unique(stamps.values), settings.periods_per_year).periods_per_year
    try:
        xs = cross_section_info(
            frame,
            horizon=horizon,
            periods_per_year=periods,
            quantiles=quantiles,
            cost_bps=settings.cost_bps,
            min_symbols=2,
            n_boot=settings.n_bootstrap if significance else 1,
            seed=settings.seed,
        )
    except ValueError as err:
        xs = None
        notes.append(f"no cross-sectional evaluation: {err}")
    return UniverseReport(by_symbol=by_symbol, cross_section=xs, notes=tuple(notes))
