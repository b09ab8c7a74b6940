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
