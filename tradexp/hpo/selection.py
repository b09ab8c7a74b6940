"""Honest selection: each trial's validation Sharpe, and the deflated Sharpe of the best trial.

A trial's Sharpe is the validation backtest `TradingEvaluation` runs (costs, no-trade band,
long-only, non-overlapping steps when `data.horizon > 1`) at the epoch the study selects: the very
numbers logged as `val/trading/sharpe_per_period`, `n_periods`, `skew` and `kurtosis`.

Picking the best of N trials inflates its Sharpe ratio; the deflated Sharpe ratio (Bailey & Lopez de
Prado, 2014) is the probability that the best trial's true Sharpe is above zero once the number of
trials and the spread of their Sharpes are taken into account.

On a universe there is no single series to backtest: the Sharpe a trial records (and the study
deflates) is that of the per-date top/bottom-quantile long-short portfolio after costs on the
validation dates (`val_sharpe_basis` = "long_short", the `val/xs/long_short/sharpe` backtest), whatever
metric the study selects on (e.g. `val/xs/rank_ic_mean`); the study records that basis as
`deflated_sharpe_basis` (tag `tradexp.hpo.deflated_sharpe_basis`).
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional, Sequence

import optuna

from tradexp.evaluation.callback import TradingEvaluation
from tradexp.evaluation.metrics import ReturnMoments
from tradexp.evaluation.significance import deflated_sharpe_ratio

__all__ = ["selection_evaluation", "selection_attrs", "deflated_sharpe_of_best"]

log = logging.getLogger(__name__)


def selection_evaluation(callbacks: Sequence[Any]) -> Optional[TradingEvaluation]:
    """The trial's `TradingEvaluation` that backtests every validation epoch (None when there is none)."""
    for callback in callbacks:
        if isinstance(callback, TradingEvaluation) and callback.enabled and callback.validation_sharpe:
            return callback
    return None


def selection_attrs(moments: Optional[ReturnMoments], basis: str = "series") -> dict[str, Any]:
    """The trial record's `val_sharpe*` entries: what `deflated_sharpe_of_best` reads.

    Args:
        moments: The validation returns' moments at the selected epoch (None: nothing to record).
        basis: What those returns are: "series" (one series' backtest) or "long_short" (a universe's
            top/bottom-quantile portfolio per date).
    """
    if moments is None:
        return {}
    return {"val_sharpe_basis": basis, "val_sharpe": moments.sharpe, "val_sharpe_n_obs": moments.n_obs, "val_sharpe_skew": moments.skew, "val_sharpe_kurtosis": moments.kurtosis}


def deflated_sharpe_of_best(study: optuna.Study) -> Optional[dict[str, Any]]:
    """The deflated Sharpe of the best trial against every trial tried (COMPLETE and PRUNED).

    Returns None when fewer than two trials carry a validation Sharpe.
    """
    try:
        best = study.best_trial
    except ValueError:
        return None
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    records = [t.user_attrs.get("record") or {} for t in study.get_trials(deepcopy=False, states=finished)]
    sharpes: Sequence[float] = [float(r["val_sharpe"]) for r in records if r.get("val_sharpe") is not None]
    attrs = best.user_attrs.get("record") or {}
    if attrs.get("val_sharpe") is None or len(sharpes) < 2:
        return None
    try:
        value = float(
            deflated_sharpe_ratio(
                float(attrs["val_sharpe"]),
                sharpes,
                int(attrs.get("val_sharpe_n_obs", 0)),
                skew=float(attrs.get("val_sharpe_skew", 0.0)),
                kurtosis=float(attrs.get("val_sharpe_kurtosis", 3.0)),
            )
        )
    except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
        log.warning("deflated Sharpe could not be computed: %s", exc)
        return None
    return {
        "deflated_sharpe": value if math.isfinite(value) else float("nan"),
        "best_val_sharpe": float(attrs["val_sharpe"]),
        "deflated_sharpe_n_trials": float(len(sharpes)),
        "deflated_sharpe_basis": str(attrs.get("val_sharpe_basis", "series")),
    }
