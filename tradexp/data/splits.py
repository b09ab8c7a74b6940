"""Chronological train/val/test splits of window-end positions, with an embargo between splits.

A sample is the window ending at bar t: it reads bars [t - window + 1, t] and its label reads bar
t + horizon. Splits are made over these positions in time order; the last `embargo` positions of
each earlier split are dropped (purged), and `embargo >= horizon + window - 1` guarantees that no
bar used by one split (window or label) is used by a later one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Optional

import numpy as np
import pandas as pd

from tradexp.errors import ConfigError

__all__ = ["SplitSettings", "SplitPositions", "embargo_bars", "chronological_split", "split_at_dates", "purge_between_splits"]


def embargo_bars(window: int, horizon: int, embargo: Optional[int] = None) -> int:
    """The embargo in bars: `horizon + window - 1` unless a larger one is asked for.

    Raises:
        ConfigError: When `embargo` is given and smaller than `horizon + window - 1`.
    """
    minimum = horizon + window - 1
    if embargo is None:
        return minimum
    if embargo < minimum:
        raise ConfigError(f"data.embargo: {embargo} bars is too small; at least horizon + window - 1 = {minimum} bars keep windows and labels of one split away from the next")
    return embargo


@dataclass(frozen=True)
class SplitSettings:
    """Where the splits fall: fractions or dates, optional bounds on the window ends, the embargo.

    The fields are the `data.*` keys of the same names (`BarsDataModule` takes them flat; `of` collects them).

    Args:
        val_fraction: Share of window ends for validation (ignored when `val_start` is given).
        test_fraction: Share of window ends for test (ignored when `test_start` is given).
        val_start: First timestamp of the validation split (ISO date); overrides the fraction.
        test_start: First timestamp of the test split (ISO date); overrides the fraction.
        train_start: No window may end before it (walk-forward: rolling train window).
        test_end: No window may end at or after it (walk-forward: the end of a fold's test block).
            Both bound the window ends before the split; fractions then apply to what remains.
        embargo: Bars purged between splits; default and minimum `horizon + window - 1`.
    """

    val_fraction: float = 0.15
    test_fraction: float = 0.15
    val_start: Optional[str] = None
    test_start: Optional[str] = None
    train_start: Optional[str] = None
    test_end: Optional[str] = None
    embargo: Optional[int] = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> "SplitSettings":
        """The settings among `values` by name (e.g. a `BarsDataModule`'s hparams); other keys are ignored."""
        return cls(**{f.name: values[f.name] for f in fields(cls)})

    def within_bounds(self, times: pd.DatetimeIndex) -> np.ndarray:
        """Mask over the window ends `times`: at or after `train_start` and before `test_end`."""
        keep = np.ones(len(times), dtype=bool)
        if self.train_start is not None:
            keep &= times >= pd.Timestamp(self.train_start)
        if self.test_end is not None:
            keep &= times < pd.Timestamp(self.test_end)
        return keep


@dataclass
class SplitPositions:
    """Window-end positions (indices into the feature rows) of each split, in time order."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    embargo: int
    window: int
    horizon: int
    extra: dict = field(default_factory=dict)

    def items(self):
        return (("train", self.train), ("val", self.val), ("test", self.test))

    def bar_range(self, name: str) -> tuple[int, int]:
        """First and last feature row (inclusive) that the split's windows and labels read."""
        positions = getattr(self, name)
        return int(positions[0]) - self.window + 1, int(positions[-1]) + self.horizon

    def boundaries(self, index: pd.DatetimeIndex) -> dict[str, str]:
        """ISO timestamps of the first and last window end of every non-empty split."""
        out = {}
        for name, positions in self.items():
            if len(positions):
                out[f"{name}_start"] = index[int(positions[0])].isoformat()
                out[f"{name}_end"] = index[int(positions[-1])].isoformat()
        return out


def _purge(earlier: np.ndarray, later: np.ndarray, embargo: int) -> np.ndarray:
    if len(earlier) == 0 or len(later) == 0:
        return earlier
    return earlier[earlier < later[0] - embargo]


def split_at_dates(positions: np.ndarray, times: pd.DatetimeIndex, val_at: Optional[pd.Timestamp], test_at: Optional[pd.Timestamp]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train = window ends before `val_at` (or `test_at`), test = at or after `test_at`, val = between.

    Args:
        positions: Window-end positions in time order (S,).
        times: Their timestamps (S,).
        val_at: First validation timestamp, or None (no validation split by date).
        test_at: First test timestamp, or None.

    Returns:
        (train, val, test) positions, not yet purged.
    """
    end_train = times < val_at if val_at is not None else times < test_at
    in_test = times >= test_at if test_at is not None else np.zeros(len(times), bool)
    return positions[end_train], positions[~end_train & ~in_test], positions[in_test]


def purge_between_splits(train: np.ndarray, val: np.ndarray, test: np.ndarray, embargo: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop the last `embargo` positions before each later split (positions of one series)."""
    val = _purge(val, test, embargo)
    train = _purge(train, val if len(val) else test, embargo)
    return train, val, test


def chronological_split(
    n_rows: int, window: int, horizon: int, split: SplitSettings = SplitSettings(), *, index: Optional[pd.DatetimeIndex] = None, usable: Optional[np.ndarray] = None
) -> SplitPositions:
    """Split window-end positions chronologically by fractions or by dates.

    Args:
        n_rows: Number of feature rows.
        window: Bars per window.
        horizon: Label horizon in bars.
        split: Fractions or dates, bounds and embargo (see `SplitSettings`).
        index: Timestamps of the rows; needed for date boundaries and bounds.
        usable: Optional mask over rows; positions where it is False are dropped (e.g. dead zone).

    Returns:
        SplitPositions with train, val and test window-end positions.

    Raises:
        ConfigError: When the split leaves the training set empty or the dates are out of order.
    """
    gap = embargo_bars(window, horizon, split.embargo)
    positions = np.arange(window - 1, n_rows - horizon)
    train_start, test_end, val_start, test_start = split.train_start, split.test_end, split.val_start, split.test_start
    if train_start is not None or test_end is not None:
        if index is None:
            raise ConfigError("data.train_start/test_end need timestamps on the bars")
        if train_start is not None and test_end is not None and not pd.Timestamp(train_start) < pd.Timestamp(test_end):
            raise ConfigError(f"data.train_start ({train_start}) must be before data.test_end ({test_end})")
        positions = positions[split.within_bounds(index[positions])]
    if val_start is not None or test_start is not None:
        if index is None:
            raise ConfigError("data.val_start/test_start need timestamps on the bars")
        times = index[positions]
        val_at = pd.Timestamp(val_start) if val_start is not None else None
        test_at = pd.Timestamp(test_start) if test_start is not None else None
        if val_at is not None and test_at is not None and not val_at < test_at:
            raise ConfigError(f"data.val_start ({val_start}) must be before data.test_start ({test_start})")
        train, val, test = split_at_dates(positions, times, val_at, test_at)
    else:
        count = len(positions)
        n_test = int(round(count * split.test_fraction))
        n_val = int(round(count * split.val_fraction))
        train = positions[: max(count - n_val - n_test, 0)]
        val = positions[len(train) : count - n_test]
        test = positions[count - n_test :]
    train, val, test = purge_between_splits(train, val, test, gap)
    if usable is not None:
        train, val, test = (p[usable[p]] for p in (train, val, test))
    if len(train) == 0 or len(val) == 0:
        raise ConfigError(
            f"data: the split leaves {len(train)} train and {len(val)} val samples from {n_rows} rows "
            f"(window {window}, horizon {horizon}, embargo {gap}); use more bars or smaller fractions/window"
        )
    return SplitPositions(train=train, val=val, test=test, embargo=gap, window=window, horizon=horizon)
