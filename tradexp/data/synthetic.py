"""A seeded synthetic market: regimes, volatility clustering and a weak learnable signal.

Daily log returns follow

    r_t = mu[regime_t] + sigma_t * (rho * e_{t-1} + sqrt(1 - rho^2) * e_t)

with `e_t` i.i.d. standard normal shocks, a two-state Markov regime (calm/bull, stressed/bear),
GARCH(1,1) volatility `sigma_t`, and `rho` (`signal_strength`) the planted one-bar predictability:
the sign of the previous shock, which features such as `log_return_1` reveal, predicts the next
return. With `rho = 0` the series is a random walk in direction. `best_direction_accuracy` gives the
accuracy of the Bayes-optimal one-bar direction forecast, the ceiling for any model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SyntheticMarket", "synthetic_bars", "best_direction_accuracy"]


@dataclass
class SyntheticMarket:
    """Parameters of the built-in synthetic market.

    Args:
        n_bars: Number of daily bars.
        seed: Random seed; the same seed gives the same bars.
        signal_strength: Correlation `rho` between the previous shock and the next return (0 = none).
        start: First date (business days follow).
        annual_vol: Long-run annualised volatility.
        regime_persistence: Probability of staying in the current regime each bar.
        n_symbols: Symbols of the market (1 = one series; more = a universe with a common market
            factor and a planted signal rising from 0 to `signal_strength` across symbols, see
            `tradexp.data.synthetic_universe`).
    """

    n_bars: int = 3000
    seed: int = 7
    signal_strength: float = 0.15
    start: str = "2010-01-04"
    annual_vol: float = 0.18
    regime_persistence: float = 0.99
    n_symbols: int = 1

    def __post_init__(self) -> None:
        if self.n_bars < 100:
            raise ValueError(f"`data.synthetic.n_bars` must be >= 100, got {self.n_bars}")
        if not -1.0 < self.signal_strength < 1.0:
            raise ValueError(f"`data.synthetic.signal_strength` must be in (-1, 1), got {self.signal_strength}")
        if not 0.0 < self.regime_persistence < 1.0:
            raise ValueError(f"`data.synthetic.regime_persistence` must be in (0, 1), got {self.regime_persistence}")
        if self.n_symbols < 1:
            raise ValueError(f"`data.synthetic.n_symbols` must be >= 1, got {self.n_symbols}")
        if self.annual_vol <= 0:
            raise ValueError(f"`data.synthetic.annual_vol` must be > 0, got {self.annual_vol}")


def best_direction_accuracy(signal_strength: float) -> float:
    """Accuracy of the Bayes-optimal one-bar direction forecast when drift is negligible.

    With `r = sigma * (rho * e_prev + sqrt(1 - rho^2) * e)`, knowing `e_prev` the best guess is
    `sign(rho * e_prev)`, right with probability `Phi(|rho e_prev| / sqrt(1 - rho^2))`; averaged over
    `e_prev ~ N(0, 1)` this is `1/2 + arcsin(|rho|) / pi`.
    """
    return 0.5 + float(np.arcsin(abs(signal_strength))) / np.pi


def synthetic_bars(market: SyntheticMarket | None = None) -> pd.DataFrame:
    """Generate OHLCV bars for the synthetic market.

    Args:
        market: Parameters; defaults to `SyntheticMarket()`.

    Returns:
        Frame indexed by business-day `timestamp` with open, high, low, close, volume.
    """
    m = market or SyntheticMarket()
    rng = np.random.default_rng(m.seed)
    n = m.n_bars
    daily_var = (m.annual_vol**2) / 252.0
    alpha, beta = 0.08, 0.90
    omega = daily_var * (1 - alpha - beta)
    drift = np.array([0.0004, -0.0006])  # calm/bull, stressed/bear
    vol_boost = np.array([0.85, 1.5])
    shocks = rng.standard_normal(n + 1)
    switch = rng.random(n)
    regime = np.zeros(n, dtype=np.int64)
    variance = daily_var
    returns = np.empty(n)
    rho = m.signal_strength
    for t in range(n):
        if t > 0:
            regime[t] = regime[t - 1] if switch[t] < m.regime_persistence else 1 - regime[t - 1]
        sigma = np.sqrt(variance) * vol_boost[regime[t]]
        noise = rho * shocks[t] + np.sqrt(1 - rho**2) * shocks[t + 1]
        returns[t] = drift[regime[t]] + sigma * noise
        variance = omega + alpha * (returns[t] - drift[regime[t]]) ** 2 / vol_boost[regime[t]] ** 2 + beta * variance

    close = 100.0 * np.exp(np.cumsum(returns))
    previous = np.concatenate([[100.0], close[:-1]])
    gap = rng.normal(0.0, 0.1, n) * np.abs(returns)
    open_ = previous * np.exp(gap)
    spread = np.abs(rng.normal(0.0, 1.0, (2, n))) * np.sqrt(daily_var) * 0.6
    high = np.maximum(open_, close) * np.exp(spread[0])
    low = np.minimum(open_, close) * np.exp(-spread[1])
    volume = np.exp(13.0 + 8.0 * np.abs(returns) / np.sqrt(daily_var) * 0.1 + rng.normal(0.0, 0.3, n))
    index = pd.bdate_range(m.start, periods=n, name="timestamp")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": np.round(volume)}, index=index)
