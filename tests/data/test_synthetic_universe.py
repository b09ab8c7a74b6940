"""The synthetic universe plants a known signal per symbol on one calendar with a common market factor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradexp.data.synthetic import SyntheticMarket
from tradexp.data.synthetic_universe import symbol_strengths, synthetic_universe
from tradexp.data.validation import validate_bars


def _lag1(frame) -> float:
    r = np.diff(np.log(frame["close"].to_numpy()))
    return float(np.corrcoef(r[:-1], r[1:])[0, 1])


def test_signal_only_where_planted_and_a_common_factor():
    spec = SyntheticMarket(n_symbols=4, n_bars=4000, signal_strength=0.4, seed=3, annual_vol=0.25)
    bars = synthetic_universe(spec)
    assert list(bars) == ["SYN000", "SYN001", "SYN002", "SYN003"]
    for frame in bars.values():
        validate_bars(frame, "synthetic")
    assert len({tuple(f.index) for f in bars.values()}) == 1  # one calendar
    chance = 3.5 / math.sqrt(4000)
    assert abs(_lag1(bars["SYN000"])) < chance  # strength 0: a random walk in direction
    assert _lag1(bars["SYN003"]) > 2 * chance  # strength 0.4 (diluted by the market factor)
    returns = np.array([np.diff(np.log(f["close"].to_numpy())) for f in bars.values()])  # (N, T-1)
    pairwise = np.corrcoef(returns)[np.triu_indices(4, 1)]
    assert (pairwise > chance).all()  # the market factor is shared (independent symbols: |corr| < chance)
    assert symbol_strengths(spec)["SYN000"] == 0.0 and symbol_strengths(spec)["SYN003"] == pytest.approx(0.4)


def test_same_seed_same_universe_and_bad_values_named():
    a = synthetic_universe(SyntheticMarket(n_symbols=2, n_bars=200, annual_vol=0.25))
    b = synthetic_universe(SyntheticMarket(n_symbols=2, n_bars=200, annual_vol=0.25))
    assert all(a[s].equals(b[s]) for s in a)
    with pytest.raises(ValueError, match="`data.synthetic.n_symbols` must be >= 1, got 0"):
        SyntheticMarket(n_symbols=0)
