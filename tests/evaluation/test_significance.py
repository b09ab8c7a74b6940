"""Binomial test, block bootstrap and (deflated) Sharpe ratios on inputs with known answers."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

from tradexp.evaluation.significance import (
    EULER_GAMMA,
    binomial_accuracy_test,
    block_bootstrap_indices,
    bootstrap_sharpe_interval,
    deflated_sharpe_ratio,
    probabilistic_sharpe_ratio,
)


def test_binomial_pvalue_and_intervals_match_the_binomial_distribution():
    result = binomial_accuracy_test(60, 100, 0.5)
    by_hand = sum(math.comb(100, k) for k in range(60, 101)) / 2**100  # P(X >= 60 | p = 0.5)
    assert result.pvalue == pytest.approx(by_hand)
    assert result.pvalue == pytest.approx(0.028444, abs=1e-6)
    assert (result.null_low, result.null_high) == (0.40, 0.60)  # 2.5 % and 97.5 % quantiles of Bin(100, 0.5) / 100
    assert result.ci_low < 0.6 < result.ci_high and result.ci_low > 0.5
    assert result.significant and result.verdict == "significant"


def test_binomial_at_chance_is_not_significant():
    result = binomial_accuracy_test(52, 100, 0.5)
    assert result.pvalue == pytest.approx(sum(math.comb(100, k) for k in range(52, 101)) / 2**100)
    assert result.verdict == "not significant"
    assert result.null_low <= result.accuracy <= result.null_high


def test_binomial_against_a_majority_rate_above_half():
    # 58 % right where 58 % of the bars went up: always-long does as well -> no skill shown
    assert binomial_accuracy_test(58, 100, 0.58).verdict == "not significant"


def test_binomial_refuses_bad_input():
    with pytest.raises(ValueError, match="need 0 <= correct <= n"):
        binomial_accuracy_test(11, 10, 0.5)
    with pytest.raises(ValueError, match=r"`reference_rate` must be in \(0, 1\), got 1.0"):
        binomial_accuracy_test(5, 10, 1.0)


def test_block_indices_run_consecutively_within_blocks():
    n, block = 50, 5
    idx = block_bootstrap_indices(n, 200, block, method="circular", seed=1)
    assert idx.shape == (200, n) and idx.min() >= 0 and idx.max() < n
    steps = (idx[:, 1:] - idx[:, :-1]) % n  # (B, n - 1)
    inside = np.arange(1, n) % block != 0
    assert (steps[:, inside] == 1).all()
    stationary = block_bootstrap_indices(n, 2000, block, method="stationary", seed=1)
    continued = ((stationary[:, 1:] - stationary[:, :-1]) % n == 1).mean()
    assert continued == pytest.approx(1 - 1 / block + 1 / (block * n), abs=0.02)  # a new block starts w.p. 1/L


def test_bootstrap_interval_covers_the_true_sharpe_with_the_expected_width():
    rng = np.random.default_rng(0)
    returns = 0.1 + rng.standard_normal(2000)  # true per-period Sharpe 0.1
    result = bootstrap_sharpe_interval(returns, periods_per_year=1, n_boot=1000, seed=0)
    assert result.ci_low < 0.1 < result.ci_high
    assert 0.06 < result.ci_high - result.ci_low < 0.12  # about 2 * 1.96 / sqrt(2000) = 0.088
    assert result.significant and result.verdict == "significant"
    noise = bootstrap_sharpe_interval(rng.standard_normal(500), periods_per_year=252, seed=0)
    assert noise.ci_low < 0 < noise.ci_high and noise.verdict == "not significant"


def test_blocks_widen_the_interval_of_autocorrelated_returns():
    rng = np.random.default_rng(3)
    shocks = rng.standard_normal(1500)
    returns = np.empty_like(shocks)
    returns[0] = shocks[0]
    for t in range(1, len(shocks)):  # AR(1), phi = 0.7: i.i.d. resampling understates the uncertainty
        returns[t] = 0.7 * returns[t - 1] + shocks[t]
    returns += 0.1
    iid = bootstrap_sharpe_interval(returns, block_length=1, seed=0)
    blocks = bootstrap_sharpe_interval(returns, block_length=30, seed=0)
    assert (blocks.ci_high - blocks.ci_low) > 1.5 * (iid.ci_high - iid.ci_low)


def test_probabilistic_sharpe_by_hand():
    sr, n = 0.1, 253
    z = sr * math.sqrt(n - 1) / math.sqrt(1 + (3 - 1) / 4 * sr**2)
    assert probabilistic_sharpe_ratio(sr, 0.0, n) == pytest.approx(NormalDist().cdf(z))
    with pytest.raises(ValueError, match="non-positive Sharpe variance"):
        probabilistic_sharpe_ratio(2.0, 0.0, 100, skew=5.0, kurtosis=3.0)


def test_deflated_sharpe_by_hand_and_falls_with_more_trials():
    sr, n = 0.1, 253
    trials = [0.1, 0.05, 0.0, -0.05]
    spread = float(np.std(trials, ddof=1))
    normal = NormalDist()
    expected_max = (1 - EULER_GAMMA) * normal.inv_cdf(1 - 1 / 4) + EULER_GAMMA * normal.inv_cdf(1 - 1 / (4 * math.e))
    z = (sr - spread * expected_max) * math.sqrt(n - 1) / math.sqrt(1 + 0.5 * sr**2)
    assert deflated_sharpe_ratio(sr, trials, n) == pytest.approx(normal.cdf(z))
    # one trial: nothing to deflate -> the probabilistic Sharpe ratio against 0
    assert deflated_sharpe_ratio(sr, [sr], n) == pytest.approx(probabilistic_sharpe_ratio(sr, 0.0, n))
    many = list(np.linspace(-0.05, 0.1, 100))
    assert deflated_sharpe_ratio(sr, many, n) < deflated_sharpe_ratio(sr, trials, n) < deflated_sharpe_ratio(sr, [sr], n)
    assert deflated_sharpe_ratio(sr, trials + [float("nan")], n) == pytest.approx(deflated_sharpe_ratio(sr, trials, n))
    with pytest.raises(ValueError, match="`n_obs` must be >= 2, got 1"):
        deflated_sharpe_ratio(sr, trials, 1)
