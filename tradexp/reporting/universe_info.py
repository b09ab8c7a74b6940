"""The numbers of a universe run's report: the per-symbol table, IC over time, quantile returns.

info = universe_info(run.csv("evaluation/by_symbol.csv"), run.csv("evaluation/xs_by_date.csv"), run.metrics)
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional

import numpy as np
import pandas as pd

from tradexp.reporting.run_info import Series

__all__ = ["UniverseInfo", "universe_info"]


class UniverseInfo(NamedTuple):
    """What the report shows of a universe (None where the run did not record it)."""

    by_symbol: pd.DataFrame  # one row per symbol, as `evaluation/by_symbol.csv`
    ic: list[Series]  # rank IC per date and its running mean
    quantile_returns: list[tuple[str, float]]  # (quantile, mean simple return per step)
    headline: dict[str, float]  # `test/xs/*` headline metrics


_HEADLINE = (
    "ic_mean",
    "rank_ic_mean",
    "icir",
    "rank_ic_tstat",
    "rank_ic_pvalue",
    "long_short/sharpe",
    "long_short/sharpe_ci_low",
    "long_short/sharpe_ci_high",
    "baseline/equal_weight/sharpe",
    "baseline/random/sharpe",
    "n_dates",
    "n_symbols",
)


def universe_info(by_symbol: Optional[pd.DataFrame], by_date: Optional[pd.DataFrame], metrics: Mapping[str, float], split: str = "test") -> Optional[UniverseInfo]:
    """The report's universe numbers; None for a run that is not a universe."""
    if by_symbol is None:
        return None
    ic: list[Series] = []
    if by_date is not None and len(by_date):
        x = pd.to_datetime(by_date["timestamp"]).dt.strftime("%Y-%m-%d").tolist()
        rank_ic = by_date["rank_ic"].to_numpy(dtype="float64")
        running = np.cumsum(rank_ic) / np.arange(1, len(rank_ic) + 1)
        ic = [Series("rank IC per date", x, rank_ic.tolist()), Series("running mean", x, running.tolist())]
    prefix = f"{split}/xs/"
    quantiles = sorted((k[len(prefix) :].split("/")[0], v) for k, v in metrics.items() if k.startswith(f"{prefix}quantile_") and k.endswith("/mean_return"))
    quantiles.sort(key=lambda item: int(item[0].split("_")[1]))
    headline = {name: float(metrics[prefix + name]) for name in _HEADLINE if prefix + name in metrics}
    return UniverseInfo(by_symbol=by_symbol, ic=ic, quantile_returns=quantiles, headline=headline)
