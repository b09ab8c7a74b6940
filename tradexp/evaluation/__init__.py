"""Trading evaluation: positions, cost-aware backtests, metrics, baselines, significance, walk-forward."""

from tradexp.lazy_exports import lazy_exports

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

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tradexp.evaluation.backtest": ("Backtest", "non_overlapping", "positions_from_predictions", "run_backtest"),
        "tradexp.evaluation.baselines": ("buy_and_hold_positions", "majority_class_positions", "random_positions"),
        "tradexp.evaluation.callback": ("TradingEvaluation",),
        "tradexp.evaluation.metrics": ("Annualisation", "infer_periods_per_year", "max_drawdown", "sharpe_ratio", "trading_metrics"),
        "tradexp.evaluation.significance": ("binomial_accuracy_test", "bootstrap_sharpe_interval", "deflated_sharpe_ratio", "probabilistic_sharpe_ratio"),
        "tradexp.evaluation.trading": ("TradingReport", "TradingSettings", "evaluate_predictions"),
    },
)
