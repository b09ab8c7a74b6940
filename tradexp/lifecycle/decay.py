"""Does a model still behave like its backtest? Realised outcomes and drift of new bars, and a verdict.

The test (stated in every report): two one-sided tests that the new bars are WORSE than the
backtest's test split, Bonferroni-corrected:

- per-step net return (Welch's t-test of the means; the Sharpe ratio is that mean over its spread),
- hit rate (two-proportion z-test on the steps with a position).

`degraded` when either p-value is below `alpha / 2`, else `consistent with backtest`. With fewer
than `MIN_STEPS` realised steps the verdict is `too few realised bars`.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np
import pandas as pd
from scipy import stats

from callbacks._distribution_info import DriftRow, _get_drift_info
from tradexp.data.labels import forward_log_returns
from tradexp.evaluation.backtest import run_backtest
from tradexp.evaluation.metrics import sharpe_ratio, trading_metrics

__all__ = ["DecayInfo", "get_decay_info", "CONSISTENT", "DEGRADED", "TOO_FEW", "MIN_STEPS", "DECAY_TEST"]

CONSISTENT, DEGRADED, TOO_FEW = "consistent with backtest", "degraded", "too few realised bars"
MIN_STEPS = 10
DECAY_TEST = (
    "one-sided Welch t-test (new per-step net return < backtest test split) and one-sided two-proportion "
    "z-test (new hit rate < backtest), Bonferroni: degraded when either p < alpha/2"
)


class DecayInfo(NamedTuple):
    """Realised performance of the signals on the new bars beside the backtest's test values."""

    n_steps: int  # realised non-overlapping steps on the new bars
    hit_rate: Optional[float]
    sharpe: Optional[float]  # annualised, after costs
    backtest_hit_rate: Optional[float]
    backtest_sharpe: Optional[float]
    backtest_steps: int
    return_pvalue: Optional[float]
    hit_rate_pvalue: Optional[float]
    verdict: str
    alpha: float
    test: str
    drift: list[DriftRow]


def _hits(positions: np.ndarray, gross: np.ndarray) -> tuple[int, int]:
    active = positions != 0
    return int((gross[active] > 0).sum()), int(active.sum())


def _less_proportion_pvalue(hits_new: int, n_new: int, hits_ref: int, n_ref: int) -> Optional[float]:
    if n_new == 0 or n_ref == 0:
        return None
    pooled = (hits_new + hits_ref) / (n_new + n_ref)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_new + 1 / n_ref))
    if spread == 0:
        return None
    z = (hits_new / n_new - hits_ref / n_ref) / spread
    return float(stats.norm.cdf(z))


def get_decay_info(
    signals: pd.DataFrame,
    close: pd.Series,
    horizon: int,
    cost_bps: float,
    periods_per_year: float,
    reference_backtest: Optional[pd.DataFrame],
    new_features: Optional[np.ndarray],
    reference_features: Optional[pd.DataFrame],
    alpha: float = 0.05,
) -> DecayInfo:
    """Score the signals on the bars whose outcome is known, and the drift of their features.

    Args:
        signals: The model's output (`timestamp`, `pred`, `position`).
        close: Close prices of the new bars indexed by timestamp (the signals' bars among them).
        horizon: The model's label horizon (the last `horizon` bars have no outcome yet).
        cost_bps: The run's cost per unit of turnover.
        periods_per_year: The training bars' annualisation.
        reference_backtest: The model's test backtest (`position`, `forward_return`, `return`) or None.
        new_features: Raw features of the new bars (N, F), or None to skip drift.
        reference_features: Training features (columns = feature names), or None.
        alpha: Level of the decay test.
    """
    at_signals = close.reindex(pd.DatetimeIndex(signals["timestamp"]))
    forward = forward_log_returns(close.to_numpy(), horizon)  # (N,) over all bars, NaN for the last h
    forward = pd.Series(forward, index=close.index).reindex(at_signals.index).to_numpy()
    known = np.isfinite(forward)
    positions = signals["position"].to_numpy()[known]
    drift = []
    if new_features is not None and reference_features is not None and len(new_features):
        names = list(reference_features.columns)
        drift = _get_drift_info({"train": reference_features.to_numpy(dtype="float64"), "new": new_features}, names)
    ref = None if reference_backtest is None or not len(reference_backtest) else reference_backtest
    ref_hits, ref_active = _hits(ref["position"].to_numpy(), np.expm1(ref["forward_return"].to_numpy()) * ref["position"].to_numpy()) if ref is not None else (0, 0)
    ref_metrics = None
    if ref is not None:
        ref_returns = ref["return"].to_numpy()
        ref_metrics = (ref_hits / ref_active if ref_active else None, sharpe_ratio(ref_returns, periods_per_year / horizon))
    base = dict(
        backtest_hit_rate=None if ref_metrics is None else ref_metrics[0],
        backtest_sharpe=None if ref_metrics is None else ref_metrics[1],
        backtest_steps=0 if ref is None else len(ref),
        alpha=alpha,
        test=DECAY_TEST,
        drift=drift,
    )
    if known.sum() < 1:
        return DecayInfo(0, None, None, return_pvalue=None, hit_rate_pvalue=None, verdict=TOO_FEW, **base)
    backtest = run_backtest(positions, forward[known], cost_bps, periods_per_year, horizon, at_signals.index[known].to_numpy())
    metrics = trading_metrics(backtest)
    n = len(backtest.returns)
    hits, active = _hits(backtest.positions, backtest.gross_returns)
    return_p = hit_p = None
    if ref is not None and n >= 2:
        test = stats.ttest_ind(backtest.returns, ref["return"].to_numpy(), equal_var=False, alternative="less")
        return_p = float(test.pvalue) if np.isfinite(test.pvalue) else None
        hit_p = _less_proportion_pvalue(hits, active, ref_hits, ref_active)
    if n < MIN_STEPS or ref is None:
        verdict = TOO_FEW if n < MIN_STEPS else "no backtest to compare with"
    else:
        worse = [p for p in (return_p, hit_p) if p is not None and p < alpha / 2]
        verdict = DEGRADED if worse else CONSISTENT
    return DecayInfo(n_steps=n, hit_rate=metrics["hit_rate"] if active else None, sharpe=metrics["sharpe"], return_pvalue=return_p, hit_rate_pvalue=hit_p, verdict=verdict, **base)
