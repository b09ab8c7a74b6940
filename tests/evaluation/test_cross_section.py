"""Cross-sectional evaluation: IC, rank IC, quantile and long-short returns against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tradexp.evaluation.cross_section import cross_section_info, long_short_weights, per_date_correlation


def _long(preds: np.ndarray, fwd: np.ndarray, symbols=None) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=preds.shape[0])
    symbols = symbols or [f"S{i}" for i in range(preds.shape[1])]
    rows = [{"timestamp": d, "symbol": s, "pred": preds[i, j], "forward_return": fwd[i, j]} for i, d in enumerate(dates) for j, s in enumerate(symbols) if np.isfinite(preds[i, j])]
    return pd.DataFrame(rows)


def test_perfect_and_inverted_rankings_give_ic_one_and_minus_one():
    rng = np.random.default_rng(0)
    fwd = rng.normal(0, 0.01, (20, 6))
    perfect = cross_section_info(_long(fwd * 3 + 1, fwd), quantiles=2, n_boot=200)
    inverted = cross_section_info(_long(-fwd, fwd), quantiles=2, n_boot=200)
    assert np.allclose(perfect.ic, 1.0) and np.allclose(perfect.rank_ic, 1.0)
    assert np.allclose(inverted.ic, -1.0) and np.allclose(inverted.rank_ic, -1.0)
    metrics = perfect.flat_metrics("test")
    assert metrics["test/xs/rank_ic_mean"] == pytest.approx(1.0)
    assert metrics["test/xs/rank_ic_pvalue"] < 0.01
    assert metrics["test/xs/n_dates"] == 20 and metrics["test/xs/n_symbols"] == 6


def test_pearson_matches_numpy_per_date_with_absent_symbols():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 7))
    y = x * 0.3 + rng.normal(size=(5, 7))
    x[2, [0, 3]] = np.nan  # two symbols absent on date 2
    got = per_date_correlation(x, y)
    for d in range(5):
        keep = np.isfinite(x[d])
        assert got[d] == pytest.approx(np.corrcoef(x[d, keep], y[d, keep])[0, 1])


def test_long_short_returns_and_costs_by_hand():
    # 2 dates, 4 symbols, quantiles=2: top half long (1/2 each), bottom half short (-1/2 each).
    preds = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    fwd = np.log1p(np.array([[0.01, 0.02, 0.03, 0.04], [0.05, 0.0, -0.01, 0.02]]))
    info = cross_section_info(_long(preds, fwd), quantiles=2, cost_bps=10.0, n_boot=50)
    cost = 10 / 10_000
    # date 0: long S2,S3 (0.03, 0.04), short S0,S1 (0.01, 0.02): gross 0.035 - 0.015 = 0.02; turnover 2
    # date 1: long S0,S1 (0.05, 0.0), short S2,S3 (-0.01, 0.02): gross 0.025 - 0.005 = 0.02; turnover 4
    assert info.long_short_turnover.tolist() == pytest.approx([2.0, 4.0])
    assert info.long_short_returns.tolist() == pytest.approx([0.02 - 2 * cost, 0.02 - 4 * cost])
    assert info.equal_weight_returns.tolist() == pytest.approx([0.025, 0.015])
    assert info.quantile_mean_returns.tolist() == pytest.approx([(0.015 + 0.005) / 2, (0.035 + 0.025) / 2])


def test_weights_are_dollar_neutral_and_skip_absent_symbols():
    preds = np.array([[0.5, np.nan, 0.1, 0.9, 0.3]])
    weights, group = long_short_weights(preds, quantiles=2)
    assert weights.sum() == pytest.approx(0.0)
    assert weights[0, 1] == 0.0 and group[0, 1] == -1
    assert weights[0, 3] > 0 and weights[0, 2] < 0


def test_horizon_keeps_every_hth_date():
    rng = np.random.default_rng(2)
    fwd = rng.normal(0, 0.01, (30, 5))
    info = cross_section_info(_long(fwd, fwd), horizon=3, periods_per_year=252, n_boot=50)
    assert len(info.dates) == 10
    assert info.periods_per_year == pytest.approx(84.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_predictions_stay_within_chance_bounds(seed):
    rng = np.random.default_rng(seed)
    n_dates, n_symbols = 250, 30
    fwd = rng.normal(0, 0.02, (n_dates, n_symbols))
    info = cross_section_info(_long(rng.normal(size=fwd.shape), fwd), n_boot=300, seed=seed)
    # Under H0 each date's rank IC has sd ~ 1/sqrt(N-1); their mean over D dates ~ 1/sqrt((N-1) D).
    bound = 4.0 / math.sqrt((n_symbols - 1) * n_dates)
    assert abs(info.flat_metrics()["test/xs/rank_ic_mean"]) < bound


def test_planted_signal_is_found_and_significant():
    rng = np.random.default_rng(3)
    fwd = rng.normal(0, 0.02, (250, 30))
    preds = fwd + rng.normal(0, 0.04, fwd.shape)  # corr ~ 0.45 per date
    metrics = cross_section_info(_long(preds, fwd), n_boot=300, cost_bps=1.0).flat_metrics()
    assert 0.3 < metrics["test/xs/rank_ic_mean"] < 0.6
    assert metrics["test/xs/rank_ic_pvalue"] < 0.01
    assert metrics["test/xs/long_short/sharpe"] > metrics["test/xs/baseline/random/sharpe"] + 1.0
    assert metrics["test/xs/long_short/sharpe_ci_low"] > 0


def test_bad_input_is_named():
    with pytest.raises(ValueError, match=r"needs columns \['forward_return'\]"):
        cross_section_info(pd.DataFrame({"timestamp": [], "symbol": [], "pred": []}))
    with pytest.raises(ValueError, match="`quantiles` must be >= 2"):
        cross_section_info(_long(np.ones((3, 3)), np.ones((3, 3))), quantiles=1)
