"""Reference strategies computed on the same bars as the model: each metric gets a yardstick.

- `buy_and_hold`: long every bar (one entry cost).
- `majority_class`: always the direction that was the majority in the TRAINING labels (what a
  model that learned nothing but the base rate would do); flat instead of short when long-only.
- `random`: a seeded random signal over the model's own position values whose expected turnover
  equals the model's, so a cost-heavy strategy is compared with noise that pays the same costs.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["BASELINES", "buy_and_hold_positions", "majority_class_positions", "random_positions"]

BASELINES = ("buy_and_hold", "majority_class", "random")


def buy_and_hold_positions(length: int) -> np.ndarray:
    """Long on every bar (S,)."""
    return np.ones(length)


def majority_class_positions(length: int, train_up_rate: float, long_only: bool = False) -> np.ndarray:
    """Always the training majority direction: +1 when `train_up_rate >= 0.5`, else -1 (0 if long-only).

    Args:
        length: Number of bars.
        train_up_rate: Share of up labels (or positive returns) in the training split.
        long_only: Flat instead of short.
    """
    if not 0.0 <= train_up_rate <= 1.0:
        raise ValueError(f"`train_up_rate` must be in [0, 1], got {train_up_rate}")
    direction = 1.0 if train_up_rate >= 0.5 else (0.0 if long_only else -1.0)
    return np.full(length, direction)


def random_positions(length: int, turnover: float, values: Sequence[float], seed: int = 0) -> np.ndarray:
    """A random signal with the given expected turnover per bar (mean |position change|).

    A Markov chain over `values`: the first position is drawn uniformly; at each later bar, with
    probability `q` the position jumps to a different value drawn uniformly. The expected jump size
    is the mean |v_i - v_j| over distinct pairs, so `q = turnover / that` (capped at 1).

    Args:
        length: Number of bars.
        turnover: Target mean |position change| per bar.
        values: Position values to draw from, e.g. (-1, 1), (0, 1) or (-1, 0, 1); fewer than two
            distinct values fall back to (-1, 1).
        seed: Random seed (the same seed gives the same signal).

    Returns:
        Positions (S,).
    """
    if length == 0:
        return np.zeros(0)
    if turnover < 0:
        raise ValueError(f"`turnover` must be >= 0, got {turnover}")
    choices = np.unique(np.asarray(values, dtype="float64"))
    if len(choices) < 2:
        choices = np.array([-1.0, 1.0])
    rng = np.random.default_rng(seed)
    pair_gaps = np.abs(choices[:, None] - choices[None, :])  # (V, V)
    mean_jump = float(pair_gaps.sum() / (len(choices) * (len(choices) - 1)))
    jump_probability = min(turnover / mean_jump, 1.0)
    jumps = rng.random(length) < jump_probability
    offsets = rng.integers(1, len(choices), length)  # a jump moves to one of the OTHER values
    state = np.empty(length, dtype=np.int64)
    state[0] = rng.integers(len(choices))
    for t in range(1, length):  # sequential: each state depends on the previous one
        state[t] = (state[t - 1] + offsets[t]) % len(choices) if jumps[t] else state[t - 1]
    return choices[state]
