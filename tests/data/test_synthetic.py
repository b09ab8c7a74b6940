"""The synthetic market holds exactly the predictability it claims, seen through features and labels.

No model is fitted: the one-bar momentum rule `up next iff log_return_1 > 0` has a closed-form
accuracy on this market. The return of bar t carries `sqrt(1 - rho^2) * e_{t+1}` and the next return
`rho * e_{t+1}`, so sign(r_t) and sign(r_{t+1}) are signs of two unit Gaussians with correlation
`c = rho * sqrt(1 - rho^2)` (the GARCH scale of each bar does not change a sign):
`P(same sign) = 1/2 + arcsin(c) / pi` (Sheppard). Over h > 1 bars the later returns only add noise.
A feature that peeks at the label (or a label shifted by a bar) moves the accuracy far outside these
bounds; a random walk (rho = 0) must sit inside the binomial chance interval at every horizon.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tradexp.data import BarsDataModule, SyntheticMarket, best_direction_accuracy
from tradexp.data.features import DEFAULT_FEATURES
from tradexp.data.synthetic import bars_per_day, synthetic_bars
from tradexp.evaluation.metrics import infer_periods_per_year

SEEDS = [1, 2, 3, 4]
HORIZONS = [1, 3, 5]
STRENGTHS = [0.0, 0.3, 0.5]
# every check below is one of len(SEEDS) * len(HORIZONS) * len(STRENGTHS) two-sided tests: Bonferroni
ALPHA = 0.01 / (len(SEEDS) * len(HORIZONS) * len(STRENGTHS))


def momentum_accuracy(signal_strength: float) -> float:
    """Closed-form accuracy of `sign(r_t)` as a forecast of `sign(r_{t+1})` (negligible drift)."""
    c = signal_strength * np.sqrt(1 - signal_strength**2)
    return 0.5 + float(np.arcsin(c)) / np.pi


def _rule_hits(seed: int, horizon: int, strength: float) -> tuple[int, int]:
    dm = BarsDataModule(synthetic=SyntheticMarket(n_bars=3000, seed=seed, signal_strength=strength), features=list(DEFAULT_FEATURES), window=8, horizon=horizon)
    dm.setup()
    last_return = dm.raw_features[:, list(DEFAULT_FEATURES).index("log_return_1")]  # log(close_t / close_{t-1})
    usable = np.isfinite(dm.forward_returns)
    hits = (last_return[usable] > 0) == (dm.targets[usable] == 1)
    return int(hits.sum()), int(usable.sum())


def _interval(p: float, n: int) -> tuple[float, float]:
    """Two-sided binomial interval of the hit rate at level ALPHA.

    Under rho = 0 the hit indicators are pairwise uncorrelated even for overlapping h-bar labels:
    sign(r_t) is independent of every later return, so the binomial variance holds.
    """
    return stats.binom.ppf(ALPHA / 2, n, p) / n, stats.binom.isf(ALPHA / 2, n, p) / n


def test_closed_forms_agree_with_each_other():
    assert momentum_accuracy(0.0) == best_direction_accuracy(0.0) == 0.5
    for rho in (0.1, 0.3, 0.5, 0.9):
        assert 0.5 < momentum_accuracy(rho) < best_direction_accuracy(rho) < 1.0
    assert best_direction_accuracy(0.5) == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("horizon", HORIZONS)
def test_random_walk_gives_the_momentum_rule_chance_accuracy_at_every_horizon(seed, horizon):
    hits, n = _rule_hits(seed, horizon, 0.0)
    low, high = _interval(0.5, n)
    assert low <= hits / n <= high, (hits / n, low, high)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("strength", [0.3, 0.5])
def test_planted_signal_gives_the_closed_form_one_bar_accuracy(seed, strength):
    hits, n = _rule_hits(seed, 1, strength)
    low, high = _interval(momentum_accuracy(strength), n)
    assert low <= hits / n <= high, (hits / n, low, high, momentum_accuracy(strength))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("horizon", [3, 5])
def test_planted_signal_over_longer_horizons_is_above_chance_and_below_the_one_bar_accuracy(seed, horizon):
    strength = 0.5
    hits, n = _rule_hits(seed, horizon, strength)
    # only the first of the h returns is predictable: more than chance, at most the one-bar accuracy
    assert hits / n > _interval(0.5, n)[1], hits / n
    assert hits / n < _interval(momentum_accuracy(strength), n)[0], hits / n


# -- the bar frequency (`data.synthetic.freq`) ------------------------------------------------
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
