"""The comparison's verdict: winners per headline metric and the paired block bootstrap on common bars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradexp.evaluation.metrics import sharpe_ratio
from tradexp.reporting.comparison_info import paired_bootstrap, winner_info
from tradexp.reporting.comparison_page import build_comparison_html
from tradexp.reporting.read_runs import RunData

TIMES = pd.date_range("2022-01-03", periods=400, freq="B").strftime("%Y-%m-%d")
MARKET = np.random.default_rng(0).normal(0, 0.01, 400)


def _run(name: str, drift: float, seed: int, keep: slice = slice(None)) -> RunData:
    rng = np.random.default_rng(seed)
    returns = MARKET + rng.normal(drift, 0.003, 400)
    equity = pd.DataFrame({"timestamp": TIMES, "model_return": returns}).iloc[keep]
    r = equity["model_return"].to_numpy()
    metrics = {"test/trading/sharpe": sharpe_ratio(r, 252), "test/trading/max_drawdown": 0.1 + seed / 100}
    return RunData(name, name, "1", "exp", "FINISHED", 0, 1, metrics=metrics, files={"evaluation/equity.csv": equity.to_csv(index=False).encode()})


def test_paired_bootstrap_finds_a_real_edge_and_none_between_a_series_and_itself():
    rng = np.random.default_rng(1)
    b = rng.normal(0, 0.01, 500)
    same = paired_bootstrap(b, b.copy())
    assert same.difference == 0 and same.pvalue == 1.0 and not same.significant
    edge = paired_bootstrap(b + 0.003 + rng.normal(0, 0.002, 500), b)
    assert edge.significant and edge.pvalue < 0.01 and edge.ci_low > 0 and edge.n_common == 500
    a = b + rng.normal(0, 0.002, 500)
    noise = paired_bootstrap(a, b, statistic="sharpe")
    assert not noise.significant and noise.ci_low < 0 < noise.ci_high
    assert noise.difference == pytest.approx(a.mean() / a.std(ddof=1) - b.mean() / b.std(ddof=1))  # per period
    with pytest.raises(ValueError, match="at least 3 bars"):
        paired_bootstrap(b[:2], b[:2])


def test_winner_per_headline_metric_tested_on_the_common_bars_only():
    runs = [_run("flat", 0.0, 2), _run("edge", 0.002, 3, keep=slice(50, None)), _run("other", 0.0, 4)]
    sharpe, drawdown = winner_info(runs)
    assert sharpe.winner == "edge" and sharpe.runner_up == max(("flat", "other"), key=lambda n: next(r for r in runs if r.name == n).metrics["test/trading/sharpe"])
    assert sharpe.test.n_common == 350 and sharpe.test.significant  # the 50 bars `edge` lacks are not compared
    assert drawdown.winner == "flat" and drawdown.test is None and "path statistic" in drawdown.why_untested  # lower is better
    html = build_comparison_html(runs)
    assert html.index('id="verdict"') < html.index('id="runs-and-metrics"')
    assert "edge wins Sharpe after costs" in html and "the difference is significant" in html


def _universe_run(name: str, ic_edge: float, seed: int) -> RunData:
    dates = pd.date_range("2022-01-03", periods=300, freq="B").strftime("%Y-%m-%d")
    rng = np.random.default_rng(seed)
    by_date = pd.DataFrame({"timestamp": dates, "n_symbols": 20, "rank_ic": rng.normal(ic_edge, 0.1, 300), "long_short_return": rng.normal(ic_edge / 20, 0.01, 300)})
    metrics = {
        "test/xs/rank_ic_mean": float(by_date["rank_ic"].mean()),
        "test/xs/long_short/sharpe": sharpe_ratio(by_date["long_short_return"].to_numpy(), 252),
        "test/xs/n_dates": 300.0,
    }
    return RunData(name, name, "1", "exp", "FINISHED", 0, 1, metrics=metrics, files={"evaluation/xs_by_date.csv": by_date.to_csv(index=False).encode()})


def test_universes_are_compared_cross_sectionally_with_dates_as_the_paired_unit():
    runs = [_universe_run("noise", 0.0, 5), _universe_run("ranker", 0.06, 6)]
    rank_ic, long_short = winner_info(runs)
    assert rank_ic.metric == "test/xs/rank_ic_mean" and rank_ic.winner == "ranker" and rank_ic.test.significant
    assert rank_ic.test.n_common == 300  # dates, not symbol-bars
    assert long_short.metric == "test/xs/long_short/sharpe" and long_short.winner == "ranker"
    html = build_comparison_html(runs)
    assert "ranker wins mean rank IC (cross-sectional)" in html and "300 common test dates" in html
    assert "mean per-date rank IC" in html and "cross-sectional" in html
