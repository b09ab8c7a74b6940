"""Honest selection: each trial's per-bar validation Sharpe, and the deflated Sharpe of the best trial.

Picking the best of N trials inflates its Sharpe ratio; the deflated Sharpe ratio (Bailey & Lopez de
Prado, 2014) is the probability that the best trial's true Sharpe is above zero once the number of
trials and the spread of their Sharpes are taken into account.
"""

from __future__ import annotations

import logging
import math
from typing import Any, NamedTuple, Optional, Sequence

import lightning.pytorch as pl
import numpy as np
import optuna
from lightning.pytorch.callbacks import Callback
from typing_extensions import override

__all__ = ["ValidationSharpe", "SharpeStats", "sharpe_stats", "strategy_returns", "deflated_sharpe_of_best"]

log = logging.getLogger(__name__)


class SharpeStats(NamedTuple):
    """Per-bar Sharpe (not annualised) of a return series and the moments the deflation needs."""

    sharpe: float
    n_obs: int
    skew: float
    kurtosis: float  # Pearson (normal = 3)


def strategy_returns(preds: np.ndarray, forward_returns: np.ndarray, task: str) -> np.ndarray:
    """Returns of trading the sign of each prediction: long when P(up) > 0.5 (or predicted return > 0).

    Args:
        preds: (S,) P(up) for classification or predicted return for regression.
        forward_returns: (S,) the forward log return of each sample.
        task: `classification` or `regression`.
    """
    centred = preds - 0.5 if task == "classification" else preds
    return np.sign(centred) * forward_returns  # (S,)


def sharpe_stats(returns: np.ndarray) -> SharpeStats:
    """Mean over standard deviation per bar, with skewness and (Pearson) kurtosis of `returns`."""
    returns = np.asarray(returns, dtype=float)
    returns = returns[np.isfinite(returns)]
    n = int(returns.size)
    std = float(returns.std(ddof=1)) if n > 1 else 0.0
    if n < 3 or std == 0.0:
        return SharpeStats(0.0, n, 0.0, 3.0)
    centred = returns - returns.mean()
    m2 = float((centred**2).mean())
    skew = float((centred**3).mean() / m2**1.5)
    kurtosis = float((centred**4).mean() / m2**2)
    return SharpeStats(float(returns.mean() / std), n, skew, kurtosis)


class ValidationSharpe(Callback):
    """Collects validation predictions each epoch and keeps the per-bar Sharpe of trading their sign.

    Needs a datamodule with `task` and `split_data("val")["forward_returns"]` (tradexp's `BarsDataModule`)
    and a `validation_step` that returns `{"preds": ...}` in time order; otherwise it records nothing.
    """

    def __init__(self) -> None:
        self.per_epoch: dict[int, SharpeStats] = {}
        self._preds: list[np.ndarray] = []
        self._forward: Optional[np.ndarray] = None
        self._task = "classification"

    @override
    def on_fit_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        datamodule = trainer.datamodule
        try:
            self._forward = np.asarray(datamodule.split_data("val")["forward_returns"], dtype=float)
            self._task = str(datamodule.task)
        except (AttributeError, KeyError, TypeError) as exc:
            log.info("no validation forward returns on this datamodule (%s): no per-trial Sharpe", exc)
            self._forward = None

    @override
    def on_validation_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._preds = []

    @override
    def on_validation_batch_end(
        self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if trainer.sanity_checking or self._forward is None or not isinstance(outputs, dict) or "preds" not in outputs:
            return
        self._preds.append(outputs["preds"].detach().float().cpu().numpy().reshape(-1))

    @override
    def on_validation_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if trainer.sanity_checking or self._forward is None or not self._preds:
            return
        preds = np.concatenate(self._preds)  # (S,) in time order
        if preds.size != self._forward.size:
            log.info("validation predictions (%d) do not align with forward returns (%d)", preds.size, self._forward.size)
            return
        self.per_epoch[trainer.current_epoch] = sharpe_stats(strategy_returns(preds, self._forward, self._task))


def deflated_sharpe_of_best(study: optuna.Study) -> Optional[dict[str, float]]:
    """The deflated Sharpe of the best trial against every trial tried (COMPLETE and PRUNED).

    Uses `tradexp.evaluation.significance.deflated_sharpe_ratio` when it is installed; returns None
    when it is absent or the trials carry no validation Sharpe.
    """
    try:
        from tradexp.evaluation.significance import deflated_sharpe_ratio
    except ImportError as exc:
        log.info("deflated Sharpe skipped: %s", exc)
        return None
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
    }
