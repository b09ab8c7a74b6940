"""Causal features computed from bars, chosen by name in YAML.

A feature name is `<kind>` or `<kind>_<n>` where `n` is the lag or lookback in bars, e.g.
`log_return_5`, `volatility_20`, `rsi_14`, `macd`, `bollinger_20`, `volume_z_20`, `hl_range`.
`col_<name>` passes an extra file column through (e.g. `col_taker_buy_volume`). Every feature at
bar t uses bars <= t only.
"""

from __future__ import annotations

import re
from typing import Callable

import numpy as np
import pandas as pd

from tradexp.errors import ConfigError

__all__ = ["compute_features", "compute_feature", "parse_feature", "feature_warmup", "FEATURE_KINDS", "DEFAULT_FEATURES", "extra_columns"]

DEFAULT_FEATURES = ("log_return_1", "log_return_5", "log_return_20", "volatility_20", "rsi_14", "macd", "bollinger_20", "volume_z_20", "hl_range")


def _log_close(bars: pd.DataFrame) -> pd.Series:
    return np.log(bars["close"])


def _log_return(bars: pd.DataFrame, n: int) -> pd.Series:
    return _log_close(bars).diff(n)


def _volatility(bars: pd.DataFrame, n: int) -> pd.Series:
    return _log_close(bars).diff().rolling(n).std()


def _rsi(bars: pd.DataFrame, n: int) -> pd.Series:
    change = bars["close"].diff()
    gain = change.clip(lower=0).ewm(alpha=1 / n, adjust=False, min_periods=n).mean()
    loss = (-change.clip(upper=0)).ewm(alpha=1 / n, adjust=False, min_periods=n).mean()
    return 100.0 - 100.0 / (1.0 + gain / loss.replace(0.0, np.nan)).fillna(100.0)


def _macd(bars: pd.DataFrame, n: int) -> pd.Series:
    # MACD histogram (12/26/9 EMAs) normalised by price so it is comparable across price levels.
    close = bars["close"]
    line = close.ewm(span=12, adjust=False, min_periods=26).mean() - close.ewm(span=26, adjust=False, min_periods=26).mean()
    signal = line.ewm(span=9, adjust=False, min_periods=9).mean()
    return (line - signal) / close


def _bollinger(bars: pd.DataFrame, n: int) -> pd.Series:
    close = bars["close"]
    mean = close.rolling(n).mean()
    std = close.rolling(n).std()
    return (close - (mean - 2 * std)) / (4 * std).replace(0.0, np.nan)


def _volume_z(bars: pd.DataFrame, n: int) -> pd.Series:
    volume = np.log1p(bars["volume"])
    std = volume.rolling(n).std().replace(0.0, np.nan)
    return ((volume - volume.rolling(n).mean()) / std).fillna(0.0).where(volume.rolling(n).count() >= n)


def _hl_range(bars: pd.DataFrame, n: int) -> pd.Series:
    return np.log(bars["high"] / bars["low"])


# kind -> (function, default lookback, warm-up bars as a function of the lookback)
FEATURE_KINDS: dict[str, tuple[Callable[[pd.DataFrame, int], pd.Series], int, Callable[[int], int]]] = {
    "log_return": (_log_return, 1, lambda n: n),
    "volatility": (_volatility, 20, lambda n: n),
    "rsi": (_rsi, 14, lambda n: n),
    "macd": (_macd, 0, lambda n: 34),
    "bollinger": (_bollinger, 20, lambda n: n - 1),
    "volume_z": (_volume_z, 20, lambda n: n - 1),
    "hl_range": (_hl_range, 0, lambda n: 0),
}

_NAME = re.compile(r"^(?P<kind>[a-z_]+?)(?:_(?P<n>\d+))?$")


def parse_feature(name: str) -> tuple[str, int]:
    """Split a feature name into its kind and lookback.

    Args:
        name: e.g. `rsi_14`, `macd`, `col_taker_buy_volume`.

    Returns:
        `(kind, n)`; for a `col_<name>` feature, `("col", 0)`.

    Raises:
        ConfigError: Unknown kind or a lookback < 1.
    """
    if name.startswith("col_") and len(name) > 4:
        return "col", 0
    match = _NAME.match(name)
    kind = match.group("kind") if match else name
    if not match or kind not in FEATURE_KINDS:
        allowed = ", ".join(sorted(FEATURE_KINDS)) + ", col_<column>"
        raise ConfigError(f"data.features: unknown feature `{name}`; known kinds: {allowed} (e.g. `rsi_14`, `log_return_5`)")
    default = FEATURE_KINDS[kind][1]
    n = int(match.group("n")) if match.group("n") else default
    if default and n < 1:
        raise ConfigError(f"data.features: `{name}` needs a lookback >= 1")
    return kind, n


def extra_columns(names: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """File columns that `col_<name>` features need."""
    return tuple(name[4:] for name in names if parse_feature(name)[0] == "col")


def feature_warmup(names: tuple[str, ...] | list[str]) -> int:
    """Bars at the start of a series for which some feature is undefined."""
    warmups = [0]
    for name in names:
        kind, n = parse_feature(name)
        if kind != "col":
            warmups.append(FEATURE_KINDS[kind][2](n))
    return max(warmups)


def compute_features(bars: pd.DataFrame, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Compute the named causal features; rows before the warm-up are NaN.

    Args:
        bars: Validated bars (open, high, low, close, volume [+ extra columns]).
        names: Feature names (see module docstring).

    Returns:
        Float frame with one column per name, aligned to `bars.index`.
    """
    return pd.DataFrame({name: compute_feature(bars, name) for name in names}, index=bars.index)


def compute_feature(bars: pd.DataFrame, name: str) -> pd.Series:
    """Compute one named causal feature (float64, aligned to `bars.index`; NaN before its warm-up).

    One column at a time lets a caller scale each into a preallocated matrix instead of holding
    the whole float64 feature frame (1M bars x 32 features: 256 MB).
    """
    kind, n = parse_feature(name)
    if kind == "col":
        return bars[name[4:]].astype("float64")
    return FEATURE_KINDS[kind][0](bars, n).astype("float64")
