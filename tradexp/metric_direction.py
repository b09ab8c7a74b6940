"""Whether a smaller or a larger value of a metric is better: the one rule every module uses.

    lower_is_better("val/loss")            -> True
    metric_mode("test/trading/sharpe")     -> "max"
    optuna_direction("val/acc")            -> "maximize"

The rule reads the last part of a metric name (`val/trading/max_drawdown` -> `max_drawdown`).
"""

from __future__ import annotations

from typing import Literal

__all__ = ["lower_is_better", "metric_mode", "optuna_direction", "METRIC_MODES"]

# Metric names tradexp logs, with the direction in which they improve.
METRIC_MODES: dict[str, Literal["min", "max"]] = {
    "loss": "min",
    "mse": "min",
    "mae": "min",
    "rmse": "min",
    "acc": "max",
    "balanced_acc": "max",
    "f1": "max",
    "auroc": "max",
    "ap": "max",
    "dir_acc": "max",
    "sharpe": "max",
    "sortino": "max",
    "calmar": "max",
    "annual_return": "max",
    "hit_rate": "max",
    "deflated_sharpe": "max",
    "ic_mean": "max",
    "rank_ic_mean": "max",
    "icir": "max",
}
# Words that mark a loss-like name not listed above (e.g. `val/trading/turnover`, `test/significance/pvalue`).
_LOWER_WORDS = ("loss", "mse", "mae", "rmse", "error", "pvalue", "p_value", "turnover", "drawdown", "psi", "ks")


def lower_is_better(metric: str) -> bool:
    """True when a smaller value of `metric` is better (losses, errors, p-values, drawdown, turnover)."""
    name = metric.rsplit("/", 1)[-1].lower()
    if name in METRIC_MODES:
        return METRIC_MODES[name] == "min"
    return any(word in name for word in _LOWER_WORDS)


def metric_mode(metric: str) -> Literal["min", "max"]:
    """`"min"` or `"max"`, as Lightning's `ModelCheckpoint` / `EarlyStopping` take it."""
    return "min" if lower_is_better(metric) else "max"


def optuna_direction(metric: str) -> Literal["minimize", "maximize"]:
    """`"minimize"` or `"maximize"`, as `optuna.create_study` takes it."""
    return "minimize" if lower_is_better(metric) else "maximize"
