"""Trading metrics on hand-made return series, checked against values worked out by hand."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tradexp.evaluation.backtest import positions_from_predictions, run_backtest
from tradexp.evaluation.metrics import infer_periods_per_year, max_drawdown, return_moments, trading_metrics

# Four daily bars: simple returns +1%, -2%, +3%, +5%; positions long, long, short, flat; 10 bps per unit turnover.
SIMPLE = [0.01, -0.02, 0.03, 0.05]
POSITIONS = [1.0, 1.0, -1.0, 0.0]


def _hand_backtest():
    gross = [0.01, -0.02, -0.03, 0.0]
    turnover = [1, 0, 2, 1]  # enter long from flat, hold, long -> short, short -> flat
    costs = [t * 10 / 10_000 for t in turnover]
    net = [g - c for g, c in zip(gross, costs)]  # 0.009, -0.02, -0.032, -0.001
    return net, costs, turnover


def test_costs_returns_and_every_metric_match_hand_computation():
    bt = run_backtest(np.array(POSITIONS), np.log1p(SIMPLE), cost_bps=10, periods_per_year=252)
    net, costs, turnover = _hand_backtest()
    np.testing.assert_allclose(bt.costs, costs)
    np.testing.assert_allclose(bt.returns, net)
    m = trading_metrics(bt)

    equity_end = 1.009 * 0.98 * 0.968 * 0.999
    mean, std = statistics.mean(net), statistics.stdev(net)
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in net) / 4)
    annual_return = equity_end ** (252 / 4) - 1
    drawdown = 1 - equity_end / 1.009  # peak after the first bar, trough at the end
    assert m["total_return"] == pytest.approx(equity_end - 1)
    assert m["annual_return"] == pytest.approx(annual_return)
    assert m["annual_vol"] == pytest.approx(std * math.sqrt(252))
    assert m["sharpe"] == pytest.approx(mean / std * math.sqrt(252))
    assert m["sortino"] == pytest.approx(mean / downside * math.sqrt(252))
    assert m["max_drawdown"] == pytest.approx(drawdown)
    assert m["calmar"] == pytest.approx(annual_return / drawdown)
    assert m["hit_rate"] == pytest.approx(1 / 3)  # 3 bars with a position, one gained before costs
    assert m["turnover"] == pytest.approx(sum(turnover) / 4)
    assert m["annual_turnover"] == pytest.approx(252 * 1.0)
    assert m["exposure"] == pytest.approx(0.75)
    assert m["cost_total"] == pytest.approx(0.004)
    assert m["sharpe_per_period"] == pytest.approx(mean / std)


def test_annualisation_uses_the_steps_per_year_given():
    returns = np.log1p([0.01, -0.005, 0.02, 0.0, 0.003])
    daily = trading_metrics(run_backtest(np.ones(5), returns, periods_per_year=252))
    crypto = trading_metrics(run_backtest(np.ones(5), returns, periods_per_year=365))
    assert crypto["sharpe"] / daily["sharpe"] == pytest.approx(math.sqrt(365 / 252))
    assert crypto["annual_vol"] / daily["annual_vol"] == pytest.approx(math.sqrt(365 / 252))
    total = np.prod(1 + np.expm1(returns))
    assert crypto["annual_return"] == pytest.approx(total ** (365 / 5) - 1)


def test_horizon_above_one_uses_non_overlapping_steps():
    forward = np.log1p([0.02, 0.5, -0.01, 0.5, 0.03, 0.5])  # odd bars would double count overlapping moves
    bt = run_backtest(np.ones(6), forward, periods_per_year=252, horizon=2)
    np.testing.assert_allclose(bt.returns, [0.02, -0.01, 0.03])
    assert bt.periods_per_year == 126


def test_max_drawdown_of_a_known_path():
    # equity 1.1, 0.88, 0.968, 0.4840: the peak 1.1 falls to 0.484 -> 56 %
    assert max_drawdown(np.array([0.1, -0.2, 0.1, -0.5])) == pytest.approx(1 - 0.484 / 1.1)
    assert max_drawdown(np.array([0.01, 0.02])) == 0.0
    assert max_drawdown(np.array([-0.1])) == pytest.approx(0.1)  # the start counts as the first peak


def test_flat_strategy_reports_zero_ratios_not_nan():
    m = trading_metrics(run_backtest(np.zeros(5), np.log1p([0.01, -0.01, 0.02, 0.0, 0.01])))
    assert m["sharpe"] == 0.0 and m["sortino"] == 0.0 and m["calmar"] == 0.0 and m["hit_rate"] == 0.0
    assert all(np.isfinite(v) for v in m.values())


@pytest.mark.parametrize(
    "index, expected, words",
    [
        (pd.bdate_range("2020-01-01", periods=300), 252, "daily bars, no weekend"),
        (pd.date_range("2020-01-01", periods=300, freq="D"), 365, "7-day market"),
        (pd.date_range("2020-01-01", periods=24 * 60, freq="h"), 365 * 24, "intraday"),
        (pd.DatetimeIndex([t + pd.Timedelta(hours=h) for t in pd.bdate_range("2020-01-01", periods=60) for h in range(10, 17)]), 252 * 7, "7 per active day"),
        (pd.date_range("2020-01-03", periods=100, freq="W-FRI"), 52, "weekly"),
        (pd.date_range("2015-01-31", periods=60, freq="ME"), 12, "monthly"),
    ],
)
def test_bar_frequency_inferred_from_timestamps(index, expected, words):
    info = infer_periods_per_year(index.to_numpy())
    assert info.periods_per_year == expected
    assert words in info.rule


def test_annualisation_override_and_errors():
    assert infer_periods_per_year(pd.bdate_range("2020-01-01", periods=5), override=260).rule.startswith("given")
    with pytest.raises(ValueError, match="need at least 2 timestamps"):
        infer_periods_per_year(pd.DatetimeIndex(["2020-01-01"]))
    with pytest.raises(ValueError, match="`periods_per_year` must be > 0, got -1"):
        infer_periods_per_year(pd.bdate_range("2020-01-01", periods=5), override=-1)


def test_positions_from_probabilities_band_long_only_and_hold():
    p = np.array([0.9, 0.52, 0.5, 0.45, 0.1])
    np.testing.assert_array_equal(positions_from_predictions(p, "classification"), [1, 1, 0, -1, -1])
    np.testing.assert_array_equal(positions_from_predictions(p, "classification", no_trade_band=0.05), [1, 0, 0, 0, -1])
    np.testing.assert_array_equal(positions_from_predictions(p, "classification", long_only=True), [1, 1, 0, 0, 0])
    np.testing.assert_array_equal(positions_from_predictions(p, "classification", no_trade_band=0.05, in_band="hold"), [1, 1, 1, 1, -1])
    np.testing.assert_array_equal(positions_from_predictions(np.array([0.002, -0.001, 0.0]), "regression", no_trade_band=0.0015), [1, 0, 0])
    with pytest.raises(ValueError, match="`no_trade_band` must be >= 0, got -0.1"):
        positions_from_predictions(p, "classification", no_trade_band=-0.1)


def test_backtest_refuses_misaligned_or_unknown_returns():
    with pytest.raises(ValueError, match="must be 1-D of one length"):
        run_backtest(np.ones(3), np.zeros(4))
    with pytest.raises(ValueError, match="forward_returns contain NaN"):
        run_backtest(np.ones(2), np.array([0.0, np.nan]))


def test_return_moments_are_scipy_population_skew_and_pearson_kurtosis():
    returns = np.random.default_rng(1).standard_t(4, 500) * 0.01  # fat tails: kurtosis well above 3
    moments = return_moments(returns)
    assert moments.skew == pytest.approx(stats.skew(returns, bias=True), abs=1e-12)
    assert moments.kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False, bias=True), rel=1e-12)
    assert moments.kurtosis > 3.5
