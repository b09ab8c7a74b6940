"""The comparison's answer first: which run wins each headline metric, and is the difference more than luck?

    rows = winner_info(runs)          # one `Winner` per headline metric that two or more runs recorded

Significance is a paired test on the bars both runs were tested on: the per-bar net return of the
winner minus that of the runner-up (`evaluation/equity.csv`, column `model_return`; joined on
`timestamp`), resampled with `tradexp.evaluation.significance.block_bootstrap_indices` so runs of
consecutive bars (and their autocorrelation) stay together. For accuracy the paired quantity is
the per-bar difference in correct direction calls (`predictions/test_predictions.csv`). For a universe
the paired unit is the date (`evaluation/xs_by_date.csv`: rank IC and long-short return per date),
since dates, not symbol-bars, are the independent observations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple, Optional

import numpy as np
import pandas as pd

from tradexp.evaluation.metrics import sharpe_ratio
from tradexp.evaluation.significance import block_bootstrap_indices
from tradexp.metric_direction import lower_is_better
from tradexp.reporting.read_runs import RunData

__all__ = ["HEADLINE_METRICS", "Headline", "PairedTest", "Winner", "paired_bootstrap", "paired_returns", "paired_hits", "paired_by_date", "winner_info"]


class Headline(NamedTuple):
    """How one headline metric is compared between two runs."""

    label: str
    kind: str  # `sharpe`, `mean`, `hits`, `rank_ic`, `long_short`; "" = a path statistic, not tested
    compared: str  # what the paired test resamples, as the report says it
    unit: str = "bars"  # the paired observations: test bars, or dates for a universe


HEADLINE_METRICS: dict[str, Headline] = {
    "test/trading/sharpe": Headline("Sharpe after costs", "sharpe", "Sharpe of per-bar net returns"),
    "test/trading/annual_return": Headline("annual return after costs", "mean", "mean per-bar net return"),
    "test/trading/max_drawdown": Headline("max drawdown", "", ""),
    "test/acc": Headline("direction accuracy", "hits", "per-bar hits"),
    "test/xs/rank_ic_mean": Headline("mean rank IC (cross-sectional)", "rank_ic", "mean per-date rank IC", "dates"),
    "test/xs/long_short/sharpe": Headline("long-short Sharpe after costs", "long_short", "Sharpe of per-date long-short returns", "dates"),
}


class PairedTest(NamedTuple):
    """Block bootstrap of a statistic of (a - b) on common bars (two-sided)."""

    n_common: int
    statistic: str  # `sharpe` (difference of Sharpe ratios) or `mean` (mean per-bar difference)
    difference: float  # observed, per bar (Sharpe: per period, not annualised)
    ci_low: float
    ci_high: float
    pvalue: float
    significant: bool


class Winner(NamedTuple):
    """The best run on one headline metric, the runner-up, and the paired test between them."""

    metric: str
    label: str
    winner: str  # run name
    winner_value: float
    runner_up: Optional[str]
    runner_up_value: Optional[float]
    test: Optional[PairedTest]
    why_untested: str  # when `test` is None: the reason in words


def paired_bootstrap(
    a: np.ndarray, b: np.ndarray, statistic: str = "mean", n_boot: int = 2000, block_length: Optional[float] = None, alpha: float = 0.05, seed: int = 0
) -> PairedTest:
    """Two-sided paired block bootstrap of `stat(a) - stat(b)` over the same resampled bars.

    Args:
        a, b: Per-bar values of two runs on the same bars, aligned (N,).
        statistic: `mean` (mean of a - b) or `sharpe` (Sharpe of a minus Sharpe of b, per bar).
        n_boot: Resamples.
        block_length: Mean block length; None = ceil(N ** (1/3)) as `TradingEvaluation` uses.
        alpha: Level of the verdict and the (1 - alpha) percentile interval.
        seed: Random seed.

    Returns:
        PairedTest; the p-value is the share of resampled differences, centred on the observed one,
        at least as far from 0 as the observed difference ((k + 1) / (B + 1)).

    Raises:
        ValueError: On fewer than 3 common bars, unequal lengths or an unknown statistic.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 3:
        raise ValueError(f"need two aligned series of at least 3 bars, got {a.shape} and {b.shape}")
    if statistic not in ("mean", "sharpe"):
        raise ValueError(f"`statistic` must be `mean` or `sharpe`, got {statistic!r}")
    n = len(a)
    idx = block_bootstrap_indices(n, n_boot, block_length or math.ceil(n ** (1 / 3)), seed=seed)  # (B, N)
    if statistic == "mean":
        observed = float((a - b).mean())
        boot = (a - b)[idx].mean(axis=1)  # (B,)
    else:
        observed = sharpe_ratio(a) - sharpe_ratio(b)
        boot = sharpe_ratio(a[idx], axis=1) - sharpe_ratio(b[idx], axis=1)  # (B, N) resamples -> (B,)
    centred = boot - observed  # the resampled spread shifted onto the null of no difference
    pvalue = float((np.sum(np.abs(centred) >= abs(observed)) + 1) / (n_boot + 1))
    low, high = np.percentile(boot, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return PairedTest(n, statistic, observed, float(low), float(high), pvalue, pvalue < alpha)


def _frame(run: RunData, path: str, columns: Sequence[str]) -> Optional[pd.DataFrame]:
    frame = run.csv(path)
    if frame is None or not set(columns) <= set(frame.columns):
        return None
    return frame


def paired_returns(a: RunData, b: RunData) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Per-bar net returns of two runs on the bars both were tested on (`evaluation/equity.csv`)."""
    fa = _frame(a, "evaluation/equity.csv", ("timestamp", "model_return"))
    fb = _frame(b, "evaluation/equity.csv", ("timestamp", "model_return"))
    if fa is None or fb is None:
        return None
    both = fa[["timestamp", "model_return"]].merge(fb[["timestamp", "model_return"]], on="timestamp", suffixes=("_a", "_b")).dropna()
    return both["model_return_a"].to_numpy(float), both["model_return_b"].to_numpy(float)


def paired_hits(a: RunData, b: RunData) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Per-bar correct direction calls (1/0) of two classifiers on common bars (`predictions/test_predictions.csv`)."""
    frames = [_frame(r, "predictions/test_predictions.csv", ("timestamp", "target", "pred")) for r in (a, b)]
    if any(f is None for f in frames):
        return None
    hits = []
    for f in frames:
        target = pd.to_numeric(f["target"], errors="coerce")
        if not target.dropna().isin((0, 1)).all():
            return None  # regression targets: no direction calls to count
        keys = f[["symbol", "timestamp"]] if "symbol" in f.columns else f[["timestamp"]]  # a universe: one row per symbol and bar
        hits.append(keys.assign(hit=((f["pred"] > 0.5) == (target > 0.5)).astype(float)))
    on = ["symbol", "timestamp"] if all("symbol" in h.columns for h in hits) else ["timestamp"]
    both = (
        hits[0]
        .drop(columns=[c for c in ("symbol",) if c not in on and c in hits[0]])
        .merge(hits[1].drop(columns=[c for c in ("symbol",) if c not in on and c in hits[1]]), on=on, suffixes=("_a", "_b"))
    )
    return both["hit_a"].to_numpy(float), both["hit_b"].to_numpy(float)


def paired_by_date(a: RunData, b: RunData, column: str) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """One cross-sectional quantity per date (`evaluation/xs_by_date.csv`: `rank_ic`, `long_short_return`)
    of two universe runs, on the dates both were tested on."""
    frames = [_frame(r, "evaluation/xs_by_date.csv", ("timestamp", column)) for r in (a, b)]
    if frames[0] is None or frames[1] is None:
        return None
    both = frames[0][["timestamp", column]].merge(frames[1][["timestamp", column]], on="timestamp", suffixes=("_a", "_b")).dropna()
    return both[f"{column}_a"].to_numpy(float), both[f"{column}_b"].to_numpy(float)


def _pair(kind: str, a: RunData, b: RunData) -> Optional[tuple[np.ndarray, np.ndarray]]:
    if kind == "hits":
        return paired_hits(a, b)
    if kind in ("rank_ic", "long_short"):
        return paired_by_date(a, b, "rank_ic" if kind == "rank_ic" else "long_short_return")
    return paired_returns(a, b)


def winner_info(runs: Sequence[RunData], n_boot: int = 2000) -> list[Winner]:
    """For each headline metric recorded by two or more runs: the winner (direction from
    `tradexp.metric_direction`), the runner-up and a paired bootstrap between the two."""
    out = []
    for metric, (label, kind, _, unit) in HEADLINE_METRICS.items():
        scored = [(r, float(r.metrics[metric])) for r in runs if metric in r.metrics and math.isfinite(float(r.metrics[metric]))]
        if len(scored) < 2:
            continue
        scored.sort(key=lambda rv: rv[1], reverse=not lower_is_better(metric))
        (best, best_v), (second, second_v) = scored[0], scored[1]
        test, why = None, ""
        if not kind:
            why = "a path statistic: no per-bar paired test"
        else:
            pair = _pair(kind, best, second)
            if pair is None:
                why = "per-date data missing (evaluation/xs_by_date.csv)" if unit == "dates" else "per-bar data missing (evaluation/equity.csv or predictions/test_predictions.csv)"
            elif len(pair[0]) < 3:
                why = f"only {len(pair[0])} common test {unit}"
            else:
                test = paired_bootstrap(*pair, statistic="sharpe" if kind in ("sharpe", "long_short") else "mean", n_boot=n_boot)
        out.append(Winner(metric, label, best.name, best_v, second.name, second_v, test, why))
    return out
