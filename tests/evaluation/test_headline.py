"""`headline_info`: the warning for a cost setting below what the market the bars come from charges."""

from tradexp.evaluation.headline import headline_info, typical_cost_bps

METRICS = {"test/trading/sharpe": 0.8, "test/trading/n_periods": 500.0, "test/trading/steps_per_year": 252.0}


def _cost_warnings(**kwargs) -> list[str]:
    return [w for w in headline_info(METRICS, **kwargs).warnings if "cost_bps" in w]


def test_a_cost_below_typical_fees_for_the_detected_market_is_a_warning():
    assert typical_cost_bps(252.0) == ("equities (daily bars on exchange days)", 1.0)
    assert typical_cost_bps(365.0) == ("crypto (daily bars on every calendar day)", 5.0)
    assert typical_cost_bps(8760.0) is None and typical_cost_bps(None) is None  # hourly: the market cannot be told
    (warning,) = _cost_warnings(cost_bps=0.5, bars_per_year=252.0)
    assert warning.startswith("cost_bps 0.5 is below typical fees for equities (daily bars on exchange days), about 1 bp")
    assert _cost_warnings(cost_bps=1.0, bars_per_year=252.0) == []
    assert len(_cost_warnings(cost_bps=1.0, bars_per_year=365.0)) == 1  # 1 bp is cheap for crypto
    assert _cost_warnings(cost_bps=0.0, bars_per_year=8760.0) == [] and _cost_warnings() == []


def test_a_universe_headline_shows_the_rank_ic_and_the_long_short_sharpe():
    from tradexp.console import headline_lines

    metrics = {"test/xs/rank_ic_mean": 0.0312, "test/xs/rank_ic_pvalue": 0.04, "test/xs/long_short/sharpe": 1.234,
               "test/xs/baseline/equal_weight/sharpe": 0.5}  # fmt: skip
    info = headline_info(metrics)
    assert (info.rank_ic_mean, info.rank_ic_pvalue, info.long_short_sharpe, info.equal_weight_sharpe) == (0.0312, 0.04, 1.234, 0.5)
    lines = headline_lines(metrics, look=None)
    assert "  mean rank IC        0.0312  (p = 0.04, bootstrap over dates)" in lines
    assert "  long-short Sharpe   1.23  vs equal weight 0.50" in lines
    assert not any("rank IC" in line for line in headline_lines(METRICS, look=None))  # one series: no such rows
