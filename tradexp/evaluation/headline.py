"""The headline of a run: does it beat buy-and-hold after costs, and is that more than luck?

One definition, read by every place that shows it (the console after `fit`/`hpo`/`walkforward`/
`predict`, the verdict card of the run report, the MLflow run description, `_repr_html_` in a
notebook, the registry's promotion gate):

    info = headline_info(metrics)          # metrics: {"test/trading/sharpe": ..., ...} as MLflow holds them
    info.verdict, info.sharpe_pvalue, info.warnings

The verdict is the one-sided test that the per-step Sharpe ratio after costs exceeds 0, by the
probabilistic Sharpe ratio (Bailey & Lopez de Prado 2012): `p = 1 - PSR`, significant when
`p < alpha`. The block-bootstrap interval is shown beside it; an interval that spans zero is a warning.
"""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Optional

__all__ = ["Headline", "headline_info", "typical_cost_bps", "MIN_TEST_SAMPLES", "MIN_TEST_YEARS"]

MIN_TEST_SAMPLES = 250  # fewer non-overlapping test steps than this: the evidence is thin
MIN_TEST_YEARS = 1.0  # a test period shorter than this: one market regime at most
# The lowest cost per unit of turnover that is realistic, by what the bar calendar says the market is:
# ~252 daily bars a year trade on exchange days (equities, ETFs, futures: commission + half spread
# >= ~1 bp on the most liquid names); ~365 trade every day (crypto: exchange fees alone are 2-10 bp).
_TYPICAL_COSTS = ((240.0, 262.0, "equities (daily bars on exchange days)", 1.0), (350.0, 370.0, "crypto (daily bars on every calendar day)", 5.0))


class Headline(NamedTuple):
    """The numbers a quant asks for first, and what they mean (None where the run did not record it)."""

    split: str
    sharpe: Optional[float]  # annualised, after costs
    buy_hold_sharpe: Optional[float]
    max_drawdown: Optional[float]  # positive fraction
    sharpe_ci_low: Optional[float]
    sharpe_ci_high: Optional[float]
    sharpe_pvalue: Optional[float]  # one-sided, 1 - probabilistic Sharpe ratio
    accuracy: Optional[float]
    accuracy_pvalue: Optional[float]  # binomial test against the majority-class rate
    n_samples: Optional[int]  # non-overlapping test steps the Sharpe was measured on
    years: Optional[float]  # length of the test period in years of bars
    verdict: Optional[str]  # "significant" / "not significant" / None when nothing was evaluated
    beats_buy_and_hold: Optional[bool]
    warnings: tuple[str, ...]
    # a universe: how well it ranks the symbols on each date (None for one series)
    rank_ic_mean: Optional[float] = None
    rank_ic_pvalue: Optional[float] = None  # one-sided block bootstrap over dates, H0: mean rank IC <= 0
    long_short_sharpe: Optional[float] = None  # annualised, after costs: top minus bottom quantile, equal weight
    equal_weight_sharpe: Optional[float] = None  # buy-and-hold of the whole universe


def _get(metrics: Mapping[str, float], key: str) -> Optional[float]:
    value = metrics.get(key)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def typical_cost_bps(bars_per_year: Optional[float]) -> Optional[tuple[str, float]]:
    """(market the bar calendar points to, lowest realistic cost in bp), or None when it cannot be told."""
    if bars_per_year is None or not math.isfinite(bars_per_year):
        return None
    return next(((market, cost) for low, high, market, cost in _TYPICAL_COSTS if low <= bars_per_year <= high), None)


def headline_info(metrics: Mapping[str, float], split: str = "test", alpha: float = 0.05, *, cost_bps: Optional[float] = None, bars_per_year: Optional[float] = None) -> Headline:
    """The headline of a run from its metrics (`<split>/trading/*`, `<split>/baseline/*`, `<split>/significance/*`;
    a universe's `<split>/xs/*`).

    Args:
        metrics: Metric name -> value, as logged by `TradingEvaluation` (MLflow's `run.data.metrics`).
        split: `test` (the held-out split) or `val`.
        alpha: Level of the verdict.
        cost_bps: The backtest's cost per unit of turnover (`evaluation/trading.json` settings), if known.
        bars_per_year: Bars per year of the data (`evaluation/trading.json` annualisation), if known;
            with `cost_bps`, a cost below what the market charges is a warning.

    Returns:
        Headline: the numbers, the verdict and plain warnings when the evidence is thin.
    """
    sharpe = _get(metrics, f"{split}/trading/sharpe")
    buy_hold = _get(metrics, f"{split}/baseline/buy_and_hold/sharpe")
    psr = _get(metrics, f"{split}/significance/probabilistic_sharpe")
    pvalue = None if psr is None else min(1.0, max(0.0, 1.0 - psr))
    n_periods = _get(metrics, f"{split}/trading/n_periods")
    n_samples = None if n_periods is None else int(n_periods)
    steps_per_year = _get(metrics, f"{split}/trading/steps_per_year")
    years = n_samples / steps_per_year if n_samples is not None and steps_per_year else None
    ci_low = _get(metrics, f"{split}/significance/sharpe_ci_low")
    ci_high = _get(metrics, f"{split}/significance/sharpe_ci_high")
    verdict = None if pvalue is None else ("significant" if pvalue < alpha else "not significant")
    warnings = []
    if n_samples is not None and n_samples < MIN_TEST_SAMPLES:
        warnings.append(f"only {n_samples} test samples (fewer than {MIN_TEST_SAMPLES}): the evidence is thin")
    if ci_low is not None and ci_high is not None and ci_low <= 0 <= ci_high:
        warnings.append(f"the Sharpe interval ({ci_low:.2f}, {ci_high:.2f}) spans zero")
    if years is not None and years < MIN_TEST_YEARS:
        warnings.append(f"the test period covers {years:.2f} years of bars (less than {MIN_TEST_YEARS:g})")
    market = typical_cost_bps(bars_per_year)
    if cost_bps is not None and market is not None and cost_bps < market[1]:
        warnings.append(f"cost_bps {cost_bps:g} is below typical fees for {market[0]}, about {market[1]:g} bp or more: the Sharpe after costs is optimistic")
    return Headline(
        split=split,
        sharpe=sharpe,
        buy_hold_sharpe=buy_hold,
        max_drawdown=_get(metrics, f"{split}/trading/max_drawdown"),
        sharpe_ci_low=ci_low,
        sharpe_ci_high=ci_high,
        sharpe_pvalue=pvalue,
        accuracy=_get(metrics, f"{split}/significance/acc"),
        accuracy_pvalue=_get(metrics, f"{split}/significance/acc_pvalue"),
        n_samples=n_samples,
        years=years,
        verdict=verdict,
        beats_buy_and_hold=None if sharpe is None or buy_hold is None else sharpe > buy_hold,
        warnings=tuple(warnings),
        rank_ic_mean=_get(metrics, f"{split}/xs/rank_ic_mean"),
        rank_ic_pvalue=_get(metrics, f"{split}/xs/rank_ic_pvalue"),
        long_short_sharpe=_get(metrics, f"{split}/xs/long_short/sharpe"),
        equal_weight_sharpe=_get(metrics, f"{split}/xs/baseline/equal_weight/sharpe"),
    )
