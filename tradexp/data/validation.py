"""Rules every bar frame must satisfy before anything is computed from it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tradexp.errors import DataValidationError

__all__ = ["validate_bars", "require_rows", "format_rows"]

_PRICES = ("open", "high", "low", "close")


def format_rows(positions: np.ndarray, limit: int = 5) -> str:
    """Format 0-based frame positions as 1-based data rows (row 1 = first line after the header)."""
    shown = ", ".join(str(int(p) + 1) for p in positions[:limit])
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return f"{shown}{more}"


def validate_bars(frame: pd.DataFrame, source: str = "bars") -> None:
    """Check the rules that make bars usable; raise one message naming the first broken rule and rows.

    Rules: timestamps strictly increasing (sorted, unique); all values finite; prices > 0;
    `high >= low`; volume >= 0. Rows are counted from 1 = first data row (the line after a header).

    Args:
        frame: Bars indexed by timestamp with columns open, high, low, close, volume.
        source: Name used in the message (e.g. the file name).

    Raises:
        DataValidationError: On the first broken rule.
    """
    if len(frame) == 0:
        raise DataValidationError(f"{source}: no rows")
    stamps = frame.index.asi8
    steps = np.diff(stamps)
    duplicated = np.flatnonzero(steps == 0) + 1
    if len(duplicated):
        first = frame.index[duplicated[0]]
        raise DataValidationError(f"{source}: duplicated timestamps at rows {format_rows(duplicated)} (first: {first}); each bar needs a unique time")
    backwards = np.flatnonzero(steps < 0) + 1
    if len(backwards):
        raise DataValidationError(
            f"{source}: timestamps not sorted ascending at rows {format_rows(backwards)} ({frame.index[backwards[0] - 1]} then {frame.index[backwards[0]]}); sort the file by time"
        )
    values = frame.to_numpy(dtype="float64")
    not_finite = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if len(not_finite):
        columns = [c for c in frame.columns if not np.isfinite(frame[c].iloc[not_finite[0]])]
        raise DataValidationError(f"{source}: missing or non-finite values (NaN/inf) at rows {format_rows(not_finite)} (first row: columns {columns}); fill or drop those rows")
    prices = frame[list(_PRICES)].to_numpy(dtype="float64")
    non_positive = np.flatnonzero((prices <= 0).any(axis=1))
    if len(non_positive):
        raise DataValidationError(f"{source}: prices must be > 0; rows {format_rows(non_positive)} have a price <= 0")
    inverted = np.flatnonzero(frame["high"].to_numpy() < frame["low"].to_numpy())
    if len(inverted):
        raise DataValidationError(f"{source}: `high` below `low` at rows {format_rows(inverted)}; high >= low is required")
    negative_volume = np.flatnonzero(frame["volume"].to_numpy() < 0)
    if len(negative_volume):
        raise DataValidationError(f"{source}: volume must be >= 0; rows {format_rows(negative_volume)} are negative")


def require_rows(available: int, needed: int, source: str, detail: str) -> None:
    """Raise when fewer usable rows exist than the window, horizon and splits need.

    Args:
        available: Usable rows (after feature warm-up).
        needed: Minimum rows for the configuration.
        source: Name used in the message.
        detail: How `needed` was computed, shown to the user.

    Raises:
        DataValidationError: When `available < needed`.
    """
    if available < needed:
        raise DataValidationError(f"{source}: too short: {available} usable rows, at least {needed} needed ({detail}); use more bars or a smaller window/horizon/embargo")
