"""A seeded synthetic universe: many symbols sharing a market factor, each with its own volatility and signal.

`SyntheticMarket(n_symbols=N, ...)` describes it (`data.synthetic.n_symbols` in a config). Symbol i's
log return is its own synthetic market (see `tradexp.data.synthetic`: regimes, GARCH volatility, planted
one-bar signal of strength `rho_i`, the market's `freq`) plus `beta_i` times a common market factor:

    r_i,t = idio_i,t(rho_i, vol_i) + beta_i * m_t,      m_t ~ N(0, market_vol^2 / bars per year)

`rho_i` runs evenly from 0 (symbol 0: a random walk in direction) to `signal_strength` (the last
symbol), so the right answers are known (`symbol_strengths`); idiosyncratic volatilities spread from
0.6x to 1.6x of `annual_vol`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from tradexp.data.synthetic import SyntheticMarket, bars_per_day, synthetic_bars

__all__ = ["symbol_names", "symbol_strengths", "synthetic_universe"]


def symbol_names(market: SyntheticMarket) -> list[str]:
    """`SYN000`, `SYN001`, ... one per symbol of the market."""
    return [f"SYN{i:03d}" for i in range(market.n_symbols)]


def symbol_strengths(market: SyntheticMarket) -> dict[str, float]:
    """The planted signal strength `rho_i` of every symbol: evenly from 0 to `signal_strength`."""
    n = market.n_symbols
    return {s: (market.signal_strength * i / (n - 1) if n > 1 else market.signal_strength) for i, s in enumerate(symbol_names(market))}


def synthetic_universe(market: SyntheticMarket, market_vol: float = 0.15) -> dict[str, pd.DataFrame]:
    """Generate every symbol's OHLCV bars on the market's one calendar.

    Args:
        market: The market's parameters (validated by `SyntheticMarket`); `n_symbols` symbols.
        market_vol: Annualised volatility of the common market factor (>= 0).

    Returns:
        symbol -> frame indexed by `timestamp` with open, high, low, close, volume (symbols sorted).

    Raises:
        ValueError: When `market_vol` is negative.
    """
    if market_vol < 0:
        raise ValueError(f"`market_vol` must be >= 0, got {market_vol}")
    rng = np.random.default_rng(market.seed)
    per_year = 252.0 * bars_per_day(market.freq)
    factor = rng.normal(0.0, market_vol / np.sqrt(per_year), market.n_bars)  # (T,) common factor log returns
    vol_scale = np.linspace(0.6, 1.6, market.n_symbols) if market.n_symbols > 1 else np.ones(1)
    betas = rng.uniform(0.6, 1.4, market.n_symbols)
    out = {}
    for i, (symbol, strength) in enumerate(symbol_strengths(market).items()):
        own = replace(market, n_symbols=1, seed=market.seed * 1000 + i + 1, signal_strength=strength, annual_vol=market.annual_vol * vol_scale[i])
        bars = synthetic_bars(own)
        level = np.exp(np.cumsum(betas[i] * factor))[:, None]  # (T, 1) the factor's price path, > 0
        prices = bars[["open", "high", "low", "close"]].to_numpy() * level  # (T, 4): one factor keeps high >= low
        frame = pd.DataFrame(prices, index=bars.index, columns=["open", "high", "low", "close"])
        frame["volume"] = bars["volume"].to_numpy()
        out[symbol] = frame
    return out
