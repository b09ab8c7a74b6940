"""Targets over a forward horizon: direction (classification) or log return (regression)."""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["forward_log_returns", "make_labels", "Task"]

Task = Literal["classification", "regression"]


def forward_log_returns(close: np.ndarray, horizon: int) -> np.ndarray:
    """Log return from bar t to bar t + horizon; NaN for the last `horizon` bars.

    Args:
        close: Close prices, shape (N,).
        horizon: Bars ahead, >= 1.

    Returns:
        Array of shape (N,).
    """
    log_close = np.log(np.asarray(close, dtype="float64"))
    forward = np.full(len(log_close), np.nan)
    forward[:-horizon] = log_close[horizon:] - log_close[:-horizon]
    return forward


def make_labels(forward: np.ndarray, task: Task, dead_zone: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Turn forward log returns into targets and a mask of usable bars.

    Args:
        forward: Forward log returns, shape (N,), NaN where undefined.
        task: `classification` (1 = up, 0 = down) or `regression` (the forward log return).
        dead_zone: Classification only: bars with |forward| <= dead_zone are left out (mask False).

    Returns:
        `(targets float32 (N,), usable bool (N,))`.
    """
    usable = np.isfinite(forward)
    if task == "classification":
        targets = (forward > 0).astype("float32")
        if dead_zone > 0:
            usable &= np.abs(np.nan_to_num(forward)) > dead_zone
    else:
        targets = np.nan_to_num(forward).astype("float32")
    return targets, usable
