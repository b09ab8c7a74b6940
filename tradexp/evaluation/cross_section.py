"""Cross-sectional evaluation of a universe: does the model rank symbols well on each date?

Definitions (qlib's conventions; `pred[d, s]` and `fwd[d, s]` = forward log return over the horizon
of symbol s from date d, NaN where the symbol has no sample on that date):

- `ic[d]` = Pearson correlation of `pred[d, :]` and `fwd[d, :]` over the symbols present on date d;
  `rank_ic[d]` = the same on their ranks (Spearman). Dates with fewer than `min_symbols` symbols are
  left out.
- `ic_mean`, `ic_std` (ddof=1), `icir = ic_mean / ic_std`, `ic_tstat = icir * sqrt(n_dates)`;
  the same for `rank_ic`.
- Quantile portfolios: on each date the symbols are split by the rank of `pred` into `quantiles`
  groups of (nearly) equal size; `quantile_mean_returns[q]` is the mean over dates of the equal-weight
  simple return of group q (q = 0 lowest predictions).
- Long-short: equal weight long the top group and short the bottom group (weights +1/n_top and
  -1/n_bottom), rebalanced on every evaluated date; `cost_bps / 10_000` per unit of turnover
  `sum_s |w[d, s] - w[d-1, s]|` (the book starts flat).
- Baselines on the same dates: the equal-weight buy-and-hold of the universe (mean simple return of the
  symbols present) and a random ranking (a seeded permutation of the predictions on each date).
- Horizon h > 1: forward returns of consecutive dates overlap, so only every h-th date is evaluated
  (non-overlapping steps), annualised with `periods_per_year / h`.
- Significance: dates are the independent unit, not symbol-bars. A stationary block bootstrap over
  dates gives the one-sided p-value of `rank_ic_mean > 0` and the interval of the long-short Sharpe.

Data (`cross_section_info`) is kept apart from pictures and metric names (`CrossSectionInfo.flat_metrics`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd

from tradexp.evaluation.metrics import max_drawdown, sharpe_ratio
from tradexp.evaluation.significance import block_bootstrap_indices, bootstrap_sharpe_interval

__all__ = ["CrossSectionInfo", "cross_section_info", "per_date_correlation", "long_short_weights"]


class CrossSectionInfo(NamedTuple):
    """Everything computed for one split of a universe (arrays are per evaluated date)."""

    dates: np.ndarray  # (D,) datetime64
    symbols: tuple[str, ...]
    ic: np.ndarray  # (D,)
    rank_ic: np.ndarray  # (D,)
    n_symbols: np.ndarray  # (D,) symbols present on each date
    quantile_mean_returns: np.ndarray  # (Q,) mean equal-weight simple return of each prediction group
    long_short_returns: np.ndarray  # (D,) net of costs
    long_short_turnover: np.ndarray  # (D,)
    equal_weight_returns: np.ndarray  # (D,)
    random_long_short_returns: np.ndarray  # (D,) net of costs
    random_rank_ic: np.ndarray  # (D,)
    periods_per_year: float  # evaluated dates per year (bars per year / horizon)
    rank_ic_pvalue: float  # one-sided block bootstrap over dates, H0: mean rank IC <= 0
    long_short_sharpe_ci: tuple[float, float]

    def flat_metrics(self, split: str = "test") -> dict[str, float]:
        """Metric names of the contract: `<split>/xs/*`."""
        prefix = f"{split}/xs"
        out = {f"{prefix}/n_dates": float(len(self.dates)), f"{prefix}/n_symbols": float(len(self.symbols))}
        for name, series in (("ic", self.ic), ("rank_ic", self.rank_ic)):
            mean, std = _mean_std(series)
            ir = mean / std if std > 1e-15 else 0.0
            out.update(
                {
                    f"{prefix}/{name}_mean": mean,
                    f"{prefix}/{name}_std": std,
                    f"{prefix}/{'icir' if name == 'ic' else 'rank_icir'}": ir,
                    f"{prefix}/{name}_tstat": ir * math.sqrt(len(series)),
                }
            )
        out[f"{prefix}/rank_ic_pvalue"] = self.rank_ic_pvalue
        for q, value in enumerate(self.quantile_mean_returns):
            out[f"{prefix}/quantile_{q + 1}/mean_return"] = float(value)
        for name, returns in (("long_short", self.long_short_returns), ("baseline/equal_weight", self.equal_weight_returns), ("baseline/random", self.random_long_short_returns)):
            out.update(_portfolio_metrics(returns, self.periods_per_year, f"{prefix}/{name}"))
        out[f"{prefix}/long_short/turnover"] = float(self.long_short_turnover.mean()) if len(self.dates) else 0.0
        out[f"{prefix}/long_short/sharpe_ci_low"], out[f"{prefix}/long_short/sharpe_ci_high"] = self.long_short_sharpe_ci
        out[f"{prefix}/baseline/random/rank_ic_mean"] = _mean_std(self.random_rank_ic)[0]
        return out

    def by_date(self) -> pd.DataFrame:
        """One row per evaluated date (what `evaluation/xs_by_date.csv` holds)."""
        return pd.DataFrame(
            {
                "timestamp": self.dates,
                "n_symbols": self.n_symbols,
                "ic": self.ic,
                "rank_ic": self.rank_ic,
                "long_short_return": self.long_short_returns,
                "equal_weight_return": self.equal_weight_returns,
            }
        )


def _mean_std(series: np.ndarray) -> tuple[float, float]:
    if len(series) == 0:
        return 0.0, 0.0
    return float(series.mean()), float(series.std(ddof=1)) if len(series) > 1 else 0.0


def _portfolio_metrics(returns: np.ndarray, periods_per_year: float, prefix: str) -> dict[str, float]:
    n = len(returns)
    total = float(np.prod(1.0 + returns) - 1.0) if n else 0.0
    annual = float((1.0 + total) ** (periods_per_year / n) - 1.0) if n and total > -1 else (0.0 if not n else -1.0)
    return {f"{prefix}/sharpe": sharpe_ratio(returns, periods_per_year), f"{prefix}/annual_return": annual, f"{prefix}/max_drawdown": max_drawdown(returns) if n else 0.0}


def per_date_correlation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of `x` with the same row of `y`, over the entries present in both.

    Args:
        x: (D, N) with NaN where absent.
        y: (D, N) with NaN where absent.

    Returns:
        (D,) correlations; NaN for a row with fewer than 2 common entries or no variation.
    """
    present = np.isfinite(x) & np.isfinite(y)  # (D, N)
    count = present.sum(axis=1)  # (D,)
    xs = np.where(present, x, 0.0)
    ys = np.where(present, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = xs.sum(axis=1) / count  # (D,)
        ym = ys.sum(axis=1) / count
        xc = np.where(present, xs - xm[:, None], 0.0)  # (D, N) centred, 0 where absent
        yc = np.where(present, ys - ym[:, None], 0.0)
        corr = (xc * yc).sum(axis=1) / np.sqrt((xc**2).sum(axis=1) * (yc**2).sum(axis=1))
    corr[count < 2] = np.nan
    return corr


def _row_ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1..n) within each row over the finite entries; NaN stays NaN.  (D, N) -> (D, N)"""
    return pd.DataFrame(values).rank(axis=1, method="average").to_numpy()


def long_short_weights(preds: np.ndarray, quantiles: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal weights long the top and short the bottom prediction group of each date, and each symbol's group.

    Args:
        preds: (D, N) predictions, NaN where a symbol is absent.
        quantiles: Number of groups (>= 2).

    Returns:
        weights (D, N) (+1/n_top, -1/n_bottom, 0 elsewhere and where absent) and groups (D, N) in
        0..quantiles-1 (-1 where absent).
    """
    ranks = _row_ranks(preds)  # (D, N) 1..n
    count = np.isfinite(preds).sum(axis=1, keepdims=True)  # (D, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        group = np.floor((ranks - 1) * quantiles / count)  # (D, N) 0..Q-1
    group = np.where(np.isfinite(group), group, -1).astype(np.int64)
    top = group == quantiles - 1
    bottom = (group == 0) & np.isfinite(preds)
    n_top = np.maximum(top.sum(axis=1, keepdims=True), 1)
    n_bottom = np.maximum(bottom.sum(axis=1, keepdims=True), 1)
    weights = top / n_top - bottom / n_bottom  # (D, N)
    return weights, group


def _portfolio_returns(weights: np.ndarray, simple: np.ndarray, cost: float) -> tuple[np.ndarray, np.ndarray]:
    gross = np.nansum(weights * np.nan_to_num(simple), axis=1)  # (D,)
    turnover = np.abs(np.diff(weights, axis=0, prepend=0.0)).sum(axis=1)  # (D,) starts flat
    return gross - cost * turnover, turnover


def cross_section_info(
    frame: pd.DataFrame, horizon: int = 1, periods_per_year: float = 252.0, quantiles: int = 5, cost_bps: float = 1.0, min_symbols: int = 2, n_boot: int = 1000, seed: int = 0
) -> CrossSectionInfo:
    """IC, rank IC, quantile returns and a top/bottom long-short portfolio of one split of a universe.

    Args:
        frame: Long table with columns `timestamp`, `symbol`, `pred` (P(up) or the predicted return)
            and `forward_return` (the forward log return over the horizon), one row per symbol-bar.
        horizon: Label horizon in bars; every `horizon`-th date is evaluated (non-overlapping).
        periods_per_year: Bars per year of the universe's calendar.
        quantiles: Prediction groups per date (top vs bottom for the long-short portfolio).
        cost_bps: Cost per unit of turnover, in basis points.
        min_symbols: Dates with fewer symbols present are left out (at least `quantiles` is sensible).
        n_boot: Bootstrap resamples over dates.
        seed: Seed of the random-ranking baseline and the bootstrap.

    Returns:
        CrossSectionInfo.

    Raises:
        ValueError: On missing columns, horizon < 1, quantiles < 2, or no date with enough symbols.
    """
    missing = [c for c in ("timestamp", "symbol", "pred", "forward_return") if c not in frame.columns]
    if missing:
        raise ValueError(f"cross-sectional evaluation needs columns {missing}; got {list(frame.columns)}")
    if horizon < 1:
        raise ValueError(f"`horizon` must be >= 1, got {horizon}")
    if quantiles < 2:
        raise ValueError(f"`quantiles` must be >= 2, got {quantiles}")
    preds = frame.pivot_table(index="timestamp", columns="symbol", values="pred", aggfunc="first")  # (D, N)
    fwd = frame.pivot_table(index="timestamp", columns="symbol", values="forward_return", aggfunc="first")
    fwd = fwd.reindex(index=preds.index, columns=preds.columns)
    preds = preds.iloc[::horizon]  # non-overlapping dates
    fwd = fwd.iloc[::horizon]
    enough = (np.isfinite(preds.to_numpy()) & np.isfinite(fwd.to_numpy())).sum(axis=1) >= min_symbols
    preds, fwd = preds[enough], fwd[enough]
    if len(preds) == 0:
        raise ValueError(f"no date has at least {min_symbols} symbols with a prediction and a forward return")
    p = preds.to_numpy(dtype="float64")  # (D, N)
    f = fwd.to_numpy(dtype="float64")
    p = np.where(np.isfinite(f), p, np.nan)  # a symbol counts on a date only with both values
    simple = np.expm1(f)  # (D, N) simple returns
    cost = cost_bps / 10_000.0
    steps_per_year = periods_per_year / horizon

    ic = per_date_correlation(p, f)
    rank_ic = per_date_correlation(_row_ranks(p), _row_ranks(f))
    weights, group = long_short_weights(p, quantiles)
    long_short, turnover = _portfolio_returns(weights, simple, cost)
    group_returns = np.array([np.nanmean(np.where(group == q, simple, np.nan), axis=1) for q in range(quantiles)])  # (Q, D)
    with np.errstate(invalid="ignore"):
        quantile_means = np.array([float(np.nanmean(row)) if np.isfinite(row).any() else 0.0 for row in group_returns])
    equal_weight = np.nanmean(np.where(np.isfinite(p), simple, np.nan), axis=1)

    rng = np.random.default_rng(seed)
    shuffled = np.full_like(p, np.nan)
    for d in range(len(p)):  # a seeded permutation of the predictions among the symbols present
        present = np.flatnonzero(np.isfinite(p[d]))
        shuffled[d, present] = p[d, rng.permutation(present)]
    random_weights, _ = long_short_weights(shuffled, quantiles)
    random_long_short, _ = _portfolio_returns(random_weights, simple, cost)
    random_rank_ic = per_date_correlation(_row_ranks(shuffled), _row_ranks(f))

    keep = np.isfinite(rank_ic) & np.isfinite(ic)  # dates where a correlation exists (variation in both)
    rank_ic_kept = rank_ic[keep]
    pvalue = _bootstrap_mean_pvalue(rank_ic_kept, n_boot, seed)
    if len(long_short) >= 3:
        interval = bootstrap_sharpe_interval(long_short, steps_per_year, n_boot=n_boot, seed=seed)
        sharpe_ci = (interval.ci_low, interval.ci_high)
    else:
        sharpe_ci = (float("nan"), float("nan"))
    return CrossSectionInfo(
        dates=preds.index.to_numpy()[keep],
        symbols=tuple(str(s) for s in preds.columns),
        ic=ic[keep],
        rank_ic=rank_ic_kept,
        n_symbols=np.isfinite(p).sum(axis=1)[keep],
        quantile_mean_returns=quantile_means,
        long_short_returns=long_short[keep],
        long_short_turnover=turnover[keep],
        equal_weight_returns=equal_weight[keep],
        random_long_short_returns=random_long_short[keep],
        random_rank_ic=np.nan_to_num(random_rank_ic[keep]),
        periods_per_year=steps_per_year,
        rank_ic_pvalue=pvalue,
        long_short_sharpe_ci=sharpe_ci,
    )


def _bootstrap_mean_pvalue(series: np.ndarray, n_boot: int, seed: int) -> float:
    """One-sided p-value of mean > 0 by a stationary block bootstrap of the centred series over dates."""
    n = len(series)
    if n < 3:
        return 1.0
    length = float(math.ceil(n ** (1 / 3)))
    centred = series - series.mean()
    means = centred[block_bootstrap_indices(n, n_boot, length, "stationary", seed)].mean(axis=1)  # (B,)
    return float((1 + np.sum(means >= series.mean())) / (1 + n_boot))
