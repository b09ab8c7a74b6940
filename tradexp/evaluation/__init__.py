"""Trading evaluation: positions, cost-aware backtests, metrics, baselines, significance, walk-forward."""

from tradexp.evaluation.backtest import Backtest, non_overlapping, positions_from_predictions, run_backtest
from tradexp.evaluation.baselines import buy_and_hold_positions, majority_class_positions, random_positions
from tradexp.evaluation.callback import TradingEvaluation
from tradexp.evaluation.metrics import Annualisation, infer_periods_per_year, max_drawdown, sharpe_ratio, trading_metrics
from tradexp.evaluation.significance import (
    binomial_accuracy_test,
    bootstrap_sharpe_interval,
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
)
from tradexp.evaluation.trading import TradingReport, TradingSettings, evaluate_predictions

__all__ = [
    "Annualisation",
    "Backtest",
    "TradingEvaluation",
    "TradingReport",
    "TradingSettings",
    "binomial_accuracy_test",
    "bootstrap_sharpe_interval",
    "buy_and_hold_positions",
    "deflated_sharpe_ratio",
    "evaluate_predictions",
    "infer_periods_per_year",
    "majority_class_positions",
    "max_drawdown",
    "non_overlapping",
    "positions_from_predictions",
    "probabilistic_sharpe_ratio",
    "random_positions",
    "run_backtest",
    "sharpe_ratio",
    "trading_metrics",
]
