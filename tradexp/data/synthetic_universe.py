"""A seeded synthetic universe: many symbols sharing a market factor, each with its own volatility and signal.

Symbol i's log return is its own synthetic market (see `tradexp.data.synthetic`: regimes, GARCH
volatility, planted one-bar signal of strength `rho_i`) plus `beta_i` times a common market factor:

    r_i,t = idio_i,t(rho_i, vol_i) + beta_i * m_t,      m_t ~ N(0, market_vol^2 / 252)

`rho_i` runs evenly from 0 (symbol 0: a random walk in direction) to `signal_strength` (the last
symbol), so the right answers are known: per-symbol accuracy can only exceed chance where `rho_i > 0`,
and the ranking of symbols by their planted strength is recorded in `SyntheticUniverse.strengths`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradexp.data.synthetic import SyntheticMarket, synthetic_bars

__all__ = ["SyntheticUniverse", "synthetic_universe"]


@dataclass
class SyntheticUniverse:
    """Parameters of the synthetic universe.

    Args:
        n_symbols: Number of symbols (>= 1); names `SYN000`, `SYN001`, ...
        n_bars: Bars per symbol.
        seed: Random seed; the same seed gives the same universe.
        signal_strength: Planted strength of the last symbol; symbol i gets `signal_strength * i / (n - 1)`.
        annual_vol: Median idiosyncratic annualised volatility; symbols spread from 0.6x to 1.6x of it.
        market_vol: Annualised volatility of the common market factor.
        start: First date (business days follow).
    """

    n_symbols: int = 10
    n_bars: int = 1500
    seed: int = 7
    signal_strength: float = 0.15
    annual_vol: float = 0.25
    market_vol: float = 0.15
    start: str = "2010-01-04"

    def __post_init__(self) -> None:
        if self.n_symbols < 1:
            raise ValueError(f"`data.synthetic.n_symbols` must be >= 1, got {self.n_symbols}")
        if not -1.0 < self.signal_strength < 1.0:
            raise ValueError(f"`data.synthetic.signal_strength` must be in (-1, 1), got {self.signal_strength}")
        if self.market_vol < 0 or self.annual_vol <= 0:
            raise ValueError(f"volatilities must be positive, got annual_vol={self.annual_vol}, market_vol={self.market_vol}")

    @property
    def symbols(self) -> list[str]:
        return [f"SYN{i:03d}" for i in range(self.n_symbols)]

    @property
    def strengths(self) -> dict[str, float]:
        """The planted signal strength `rho_i` of every symbol."""
        n = self.n_symbols
        return {s: (self.signal_strength * i / (n - 1) if n > 1 else self.signal_strength) for i, s in enumerate(self.symbols)}


def synthetic_universe(universe: SyntheticUniverse | None = None) -> dict[str, pd.DataFrame]:
    """Generate every symbol's OHLCV bars on one business-day calendar.

    Returns:
        symbol -> frame indexed by `timestamp` with open, high, low, close, volume (symbols sorted).
    """
    u = universe or SyntheticUniverse()
    rng = np.random.default_rng(u.seed)
    market = rng.normal(0.0, u.market_vol / np.sqrt(252.0), u.n_bars)  # (T,) common factor log returns
    vol_scale = np.linspace(0.6, 1.6, u.n_symbols) if u.n_symbols > 1 else np.ones(1)
    betas = rng.uniform(0.6, 1.4, u.n_symbols)
    out = {}
    for i, (symbol, strength) in enumerate(u.strengths.items()):
        own = SyntheticMarket(
            n_bars=u.n_bars, seed=u.seed * 1000 + i + 1, signal_strength=strength, start=u.start, annual_vol=u.annual_vol * vol_scale[i]
        )
        bars = synthetic_bars(own)
        level = np.exp(np.cumsum(betas[i] * market))[:, None]  # (T, 1) the factor's price path, > 0
        prices = bars[["open", "high", "low", "close"]].to_numpy() * level  # (T, 4): same factor keeps high >= low
        frame = pd.DataFrame(prices, index=bars.index, columns=["open", "high", "low", "close"])
        frame["volume"] = bars["volume"].to_numpy()
        out[symbol] = frame
    return out
