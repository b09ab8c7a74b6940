"""A seeded synthetic market: regimes, volatility clustering and a weak learnable signal.

Per-bar log returns follow

    r_t = mu[regime_t] + sigma_t * (rho * e_{t-1} + sqrt(1 - rho^2) * e_t)

with `e_t` i.i.d. standard normal shocks, a two-state Markov regime (calm/bull, stressed/bear),
GARCH(1,1) volatility `sigma_t`, and `rho` (`signal_strength`) the planted one-bar predictability:
the sign of the previous shock, which features such as `log_return_1` reveal, predicts the next
return. With `rho = 0` the series is a random walk in direction. `best_direction_accuracy` gives the
accuracy of the Bayes-optimal one-bar direction forecast, the ceiling for any model.

Bars are daily (`freq="1D"`, business days) or intraday (`freq="1h"`, `"1min"`, ...: round-the-clock
bars on business days, as an FX market trades). Drift and variance per bar follow the frequency, so
the annualised volatility and drift are the same at every frequency and the evaluation's
annualisation, inferred from the timestamps (252 business days x bars per day), agrees with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["SyntheticMarket", "synthetic_bars", "best_direction_accuracy", "bars_per_day"]

_TRADING_DAYS = 252
_DAY = pd.Timedelta("1D")


def bars_per_day(freq: str) -> int:
    """Bars in one business day at a bar frequency: 1 for `1D`, 24 for `1h`, 1440 for `1min`.

    Raises:
        ValueError: When `freq` is not a pandas frequency that divides a day (or is `1D`).
    """
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"`data.synthetic.freq` must be a bar frequency such as `1D`, `1h`, `15min`, `1min`; got {freq!r}") from exc
    if step <= pd.Timedelta(0) or step > _DAY or _DAY % step != pd.Timedelta(0):
        raise ValueError(f"`data.synthetic.freq` must divide one day (`1D`, `4h`, `1h`, `15min`, `1min`, ...); got {freq!r}")
    return int(_DAY // step)


@dataclass
class SyntheticMarket:
    """Parameters of the built-in synthetic market.

    Args:
        n_bars: Number of bars.
        seed: Random seed; the same seed gives the same bars.
        signal_strength: Correlation `rho` between the previous shock and the next return (0 = none).
        start: First date (business days follow).
        annual_vol: Long-run annualised volatility.
        regime_persistence: Probability of staying in the current regime each bar.
        n_symbols: Symbols of the market (1 = one series; more = a universe with a common market
            factor and a planted signal rising from 0 to `signal_strength` across symbols, see
            `tradexp.data.synthetic_universe`).
        freq: Bar frequency: `1D` (one bar per business day) or one that divides a day (`1h`,
            `15min`, `1min`: bars round the clock on business days). A million bars need an
            intraday frequency (a million business days run past pandas' last date, 2262).
    """

    n_bars: int = 3000
    seed: int = 7
    signal_strength: float = 0.15
    start: str = "2010-01-04"
    annual_vol: float = 0.18
    regime_persistence: float = 0.99
    n_symbols: int = 1
    freq: str = "1D"

    @property
    def source(self) -> str:
        """What a run records as its data source (`tradexp.dataset.source`): the market's parameters."""
        extra = "" if self.freq == "1D" else f", freq={self.freq}"
        extra += f", n_symbols={self.n_symbols}" if self.n_symbols > 1 else ""
        return f"synthetic(seed={self.seed}, n_bars={self.n_bars}, signal={self.signal_strength}{extra})"

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
        per_day = bars_per_day(self.freq)
        days = -(-self.n_bars // per_day)  # business days spanned (ceil)
        try:
            last = pd.Timestamp(self.start) + pd.offsets.BDay(days)
        except (OverflowError, pd.errors.OutOfBoundsDatetime):
            last = None
        if last is None or last >= pd.Timestamp.max - _DAY:
            raise ValueError(
                f"`data.synthetic.n_bars` {self.n_bars} bars at `freq` {self.freq!r} from {self.start} run past "
                f"pandas' last date ({pd.Timestamp.max.date()}); use fewer bars or an intraday "
                "`data.synthetic.freq` such as `1h` or `1min`"
            )


def best_direction_accuracy(signal_strength: float) -> float:
    """Accuracy of the Bayes-optimal one-bar direction forecast when drift is negligible.

    With `r = sigma * (rho * e_prev + sqrt(1 - rho^2) * e)`, knowing `e_prev` the best guess is
    `sign(rho * e_prev)`, right with probability `Phi(|rho e_prev| / sqrt(1 - rho^2))`; averaged over
    `e_prev ~ N(0, 1)` this is `1/2 + arcsin(|rho|) / pi`.
    """
    return 0.5 + float(np.arcsin(abs(signal_strength))) / np.pi


def _garch_returns(noise: list[float], drift: list[float], boost: list[float], bar_var: float, alpha: float, beta: float) -> np.ndarray:
    """The GARCH(1,1) recursion over Python floats (the one sequential part; ~0.5 us a bar)."""
    omega = bar_var * (1 - alpha - beta)
    variance = bar_var
    sqrt = math.sqrt
    returns = [0.0] * len(noise)
    for t, (e, mu, b) in enumerate(zip(noise, drift, boost)):
        r = mu + sqrt(variance) * b * e
        returns[t] = r
        variance = omega + alpha * (r - mu) ** 2 / b**2 + beta * variance
    return np.array(returns)


def _timestamps(start: str, n: int, freq: str) -> pd.DatetimeIndex:
    """`n` bar times: business days, each split into `bars_per_day(freq)` bars round the clock."""
    per_day = bars_per_day(freq)
    if per_day == 1:
        return pd.bdate_range(start, periods=n, name="timestamp")
    days = pd.bdate_range(start, periods=-(-n // per_day)).to_numpy()  # (D,) datetime64[ns]
    offsets = np.arange(per_day) * pd.Timedelta(freq).to_timedelta64()  # (P,) timedelta64
    times = (days[:, None] + offsets[None, :]).reshape(-1)[:n]  # (D, P) -> (D * P,) -> (n,)
    return pd.DatetimeIndex(times, name="timestamp")


def synthetic_bars(market: SyntheticMarket | None = None) -> pd.DataFrame:
    """Generate OHLCV bars for the synthetic market.

    Args:
        market: Parameters; defaults to `SyntheticMarket()`.

    Returns:
        Frame indexed by `timestamp` (business days, or intraday bars on business days) with open,
        high, low, close, volume.
    """
    m = market or SyntheticMarket()
    rng = np.random.default_rng(m.seed)
    n = m.n_bars
    per_day = bars_per_day(m.freq)
    bar_var = (m.annual_vol**2) / (_TRADING_DAYS * per_day)
    drift = np.array([0.0004, -0.0006]) / per_day  # calm/bull, stressed/bear
    vol_boost = np.array([0.85, 1.5])
    shocks = rng.standard_normal(n + 1)
    switch = rng.random(n)
    rho = m.signal_strength
    # The regime flips where the draw leaves it; regime[t] = parity of the flips up to t.
    flips = np.concatenate([[0], (switch[1:] >= m.regime_persistence).astype(np.int64)])
    regime = np.cumsum(flips) % 2  # (n,) 0 calm/bull, 1 stressed/bear
    noise = rho * shocks[:-1] + np.sqrt(1 - rho**2) * shocks[1:]  # (n,)
    returns = _garch_returns(noise.tolist(), drift[regime].tolist(), vol_boost[regime].tolist(), bar_var, 0.08, 0.90)

    close = 100.0 * np.exp(np.cumsum(returns))
    previous = np.concatenate([[100.0], close[:-1]])
    gap = rng.normal(0.0, 0.1, n) * np.abs(returns)
    open_ = previous * np.exp(gap)
    spread = np.abs(rng.normal(0.0, 1.0, (2, n))) * np.sqrt(bar_var) * 0.6
    high = np.maximum(open_, close) * np.exp(spread[0])
    low = np.minimum(open_, close) * np.exp(-spread[1])
    volume = np.exp(13.0 + 8.0 * np.abs(returns) / np.sqrt(bar_var) * 0.1 + rng.normal(0.0, 0.3, n))
    index = _timestamps(m.start, n, m.freq)
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": np.round(volume)}, index=index)
