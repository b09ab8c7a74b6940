"""The synthetic market's bar frequency: timestamps, annualisation, and a million bars."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from tradexp.data import BarsDataModule
from tradexp.data.synthetic import SyntheticMarket, bars_per_day, synthetic_bars
from tradexp.evaluation.metrics import infer_periods_per_year


@pytest.mark.parametrize(("freq", "per_year"), [("1D", 252.0), ("1h", 252.0 * 24), ("1min", 252.0 * 1440)])
def test_annualisation_inferred_from_the_bars_follows_the_frequency(freq: str, per_year: float) -> None:
    bars = synthetic_bars(SyntheticMarket(n_bars=20_000, freq=freq))
    assert infer_periods_per_year(bars.index.to_numpy()).periods_per_year == per_year
    assert (bars.index.dayofweek < 5).all() and bars.index.is_monotonic_increasing and bars.index.is_unique
    # The per-bar variance follows the frequency: the annualised volatility stays near its level.
    annual = float(np.log(bars["close"]).diff().std() * np.sqrt(per_year))
    assert 0.12 < annual < 0.35


def test_a_million_daily_bars_is_refused_with_the_fix_named() -> None:
    with pytest.raises(ValueError, match=r"run past pandas' last date.*`data.synthetic.freq` such as `1h` or `1min`"):
        SyntheticMarket(n_bars=1_000_000)


@pytest.mark.slow
def test_a_million_minute_bars_are_generated() -> None:
    start = time.perf_counter()
    bars = synthetic_bars(SyntheticMarket(n_bars=1_000_000, freq="1min"))
    elapsed = time.perf_counter() - start
    assert len(bars) == 1_000_000 and bars.index[1] - bars.index[0] == pd.Timedelta("1min")
    assert elapsed < 60.0  # ~1 s quiet; the < 2 s target is scripts/bench_data.py's, not a test's


@pytest.mark.parametrize("freq", ["7x", "25h", "7min", "0min"])
def test_a_frequency_that_does_not_divide_a_day_is_refused(freq: str) -> None:
    with pytest.raises(ValueError, match="`data.synthetic.freq`"):
        SyntheticMarket(freq=freq)


def test_bars_per_day() -> None:
    assert [bars_per_day(f) for f in ("1D", "4h", "1h", "15min", "1min")] == [1, 6, 24, 96, 1440]


def test_the_daily_default_and_the_source_are_unchanged() -> None:
    bars = synthetic_bars(SyntheticMarket(n_bars=300))
    assert bars.index[0] == pd.Timestamp("2010-01-04") and bars.index.freqstr == "B"
    assert BarsDataModule().source == "synthetic(seed=7, n_bars=3000, signal=0.15)"
    assert BarsDataModule(synthetic=SyntheticMarket(freq="1h")).source.endswith("freq=1h)")
