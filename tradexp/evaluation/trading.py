"""One call that evaluates predictions as a strategy: backtest, baselines, metrics and significance.

report = evaluate_predictions(preds, forward_returns, timestamps, task="classification",
                              train_up_rate=0.52, settings=TradingSettings(cost_bps=2))
report.metrics["model"]["sharpe"], report.accuracy.verdict, report.table()
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Optional

import numpy as np
import pandas as pd

from tradexp.evaluation.backtest import Backtest, InBand, non_overlapping, positions_from_predictions, run_backtest
from tradexp.evaluation.baselines import buy_and_hold_positions, majority_class_positions, random_positions
from tradexp.evaluation.metrics import Annualisation, infer_periods_per_year, trading_metrics
from tradexp.evaluation.significance import BinomialTest, SharpeInterval, binomial_accuracy_test, bootstrap_sharpe_interval, probabilistic_sharpe_ratio
from tradexp.ranges import NonNegativeFloat, NoTradeBand, OpenUnitInterval, PositiveFloat, Resamples, check_ranges

__all__ = ["TradingSettings", "TradingReport", "evaluate_predictions", "STRATEGIES"]

STRATEGIES = ("model", "buy_and_hold", "majority_class", "random")


@dataclass
class TradingSettings:
    """How predictions become a strategy and how it is judged.

    Args:
        cost_bps: Cost in basis points per unit of turnover (|position change|).
        long_only: Never short (a short signal means flat).
        no_trade_band: Half-width of the no-trade band around P(up) = 0.5 (or a return of 0).
        in_band: Inside the band: `flat`, or `hold` the previous position.
        periods_per_year: Annualisation; None infers it from the timestamps.
        alpha: Significance level of the tests.
        n_bootstrap: Resamples of the block bootstrap of the Sharpe ratio.
        block_length: Mean bootstrap block length; None = ceil(n ** (1/3)).
        bootstrap_method: `stationary` or `circular` block bootstrap.
        seed: Seed of the random baseline and the bootstrap.
    """

    cost_bps: NonNegativeFloat = 1.0
    long_only: bool = False
    no_trade_band: NoTradeBand = 0.0
    in_band: InBand = "flat"
    periods_per_year: Optional[PositiveFloat] = None
    alpha: OpenUnitInterval = 0.05
    n_bootstrap: Resamples = 1000
    block_length: Optional[PositiveFloat] = None
    bootstrap_method: Literal["stationary", "circular"] = "stationary"
    seed: int = 0

    def __post_init__(self) -> None:
        check_ranges(TradingSettings, {f.name: getattr(self, f.name) for f in fields(self)})


@dataclass
class TradingReport:
    """Everything computed for one split: per-strategy backtests and metrics, and significance."""

    annualisation: Annualisation
    horizon: int
    settings: TradingSettings
    backtests: dict[str, Backtest]
    metrics: dict[str, dict[str, float]]
    accuracy: Optional[BinomialTest]
    sharpe: Optional[SharpeInterval]
    probabilistic_sharpe: float
    notes: list[str] = field(default_factory=list)

    def flat_metrics(self, split: str = "test") -> dict[str, float]:
        """Metric names of the shared contract: `<split>/trading/*`, `<split>/baseline/<name>/*`,
        `<split>/significance/*`."""
        out = {f"{split}/trading/{k}": v for k, v in self.metrics["model"].items()}
        for name in STRATEGIES[1:]:
            out.update({f"{split}/baseline/{name}/{k}": v for k, v in self.metrics[name].items()})
        out[f"{split}/trading/periods_per_year"] = self.annualisation.periods_per_year  # bars per year
        out[f"{split}/trading/steps_per_year"] = self.backtests["model"].periods_per_year  # / horizon
        sig = f"{split}/significance"
        if self.accuracy is not None:
            a = self.accuracy
            out.update(
                {
                    f"{sig}/acc": a.accuracy,
                    f"{sig}/acc_n": float(a.n),
                    f"{sig}/acc_reference": a.reference_rate,
                    f"{sig}/acc_pvalue": a.pvalue,
                    f"{sig}/acc_ci_low": a.ci_low,
                    f"{sig}/acc_ci_high": a.ci_high,
                    f"{sig}/acc_null_low": a.null_low,
                    f"{sig}/acc_null_high": a.null_high,
                    f"{sig}/acc_significant": float(a.significant),
                }
            )
        if self.sharpe is not None:
            out.update({f"{sig}/sharpe_ci_low": self.sharpe.ci_low, f"{sig}/sharpe_ci_high": self.sharpe.ci_high, f"{sig}/sharpe_significant": float(self.sharpe.significant)})
        out[f"{sig}/probabilistic_sharpe"] = self.probabilistic_sharpe
        return out

    def table(self) -> pd.DataFrame:
        """One row per strategy (model and baselines), one column per metric."""
        frame = pd.DataFrame([{"strategy": name, **self.metrics[name]} for name in STRATEGIES])
        return frame

    def equity_frame(self) -> pd.DataFrame:
        """Per step: timestamp, model position, net return, and the equity of every strategy."""
        model = self.backtests["model"]
        columns: dict[str, Any] = {
            "timestamp": pd.DatetimeIndex(model.timestamps) if model.timestamps is not None else np.arange(len(model.returns)),
            "position": model.positions,
            "forward_return": model.forward_returns,
            "model_return": model.returns,
        }
        for name in STRATEGIES:
            columns[f"equity_{name}"] = self.backtests[name].equity
        return pd.DataFrame(columns)

    def significance_dict(self) -> dict[str, Any]:
        """What `evaluation/significance.json` holds (with the verdicts in words)."""
        out: dict[str, Any] = {"alpha": self.settings.alpha, "horizon": self.horizon}
        if self.accuracy is not None:
            out["accuracy"] = {**self.accuracy._asdict(), "test": "one-sided binomial test: accuracy > reference_rate (the majority-class rate of these bars)"}
        if self.sharpe is not None:
            out["sharpe"] = {**self.sharpe._asdict(), "test": "block-bootstrap percentile interval of the annualised Sharpe"}
        out["probabilistic_sharpe"] = self.probabilistic_sharpe
        verdicts = [part["verdict"] for part in (out.get("accuracy"), out.get("sharpe")) if part]
        out["verdict"] = "significant" if verdicts and all(v == "significant" for v in verdicts) else "not significant"
        out["notes"] = list(self.notes)
        return out

    def summary_dict(self) -> dict[str, Any]:
        """What `evaluation/trading.json` holds: settings, annualisation and every strategy's metrics."""
        return {
            "settings": asdict(self.settings),
            "annualisation": {**self.annualisation._asdict(), "steps_per_year": self.backtests["model"].periods_per_year},
            "horizon": self.horizon,
            "return_accounting": (
                "position at bar t earns exp(forward log return) - 1; cost_bps per unit |position change|; "
                "horizon h > 1: every h-th sample (non-overlapping steps), periods_per_year / h"
            ),
            "strategies": {name: self.metrics[name] for name in STRATEGIES},
            "notes": list(self.notes),
        }


def evaluate_predictions(
    preds: np.ndarray,
    forward_returns: np.ndarray,
    timestamps: Optional[np.ndarray],
    task: Literal["classification", "regression"],
    train_up_rate: float,
    settings: Optional[TradingSettings] = None,
    horizon: int = 1,
    significance: bool = True,
) -> TradingReport:
    """Backtest the model's predictions beside the baselines and test their significance.

    Args:
        preds: P(up) (classification) or predicted return (regression), (S,), time order.
        forward_returns: Forward log return over the horizon from each sample's bar (S,).
        timestamps: Bar time of each sample (S,); used for the annualisation and the curves.
        task: `classification` or `regression`.
        train_up_rate: Share of up moves in the training labels (for the majority-class baseline).
        settings: Positions, costs, annualisation and test settings.
        horizon: Label horizon in bars (non-overlapping steps when > 1).
        significance: Also run the binomial test and the bootstrap (skip for cheap per-epoch use).

    Returns:
        TradingReport.
    """
    settings = settings or TradingSettings()
    preds = np.asarray(preds, dtype="float64")
    forward_returns = np.asarray(forward_returns, dtype="float64")
    if preds.shape != forward_returns.shape:
        raise ValueError(f"preds {preds.shape} and forward_returns {forward_returns.shape} must align row by row")
    if timestamps is not None or settings.periods_per_year is not None:
        annualisation = infer_periods_per_year(timestamps if timestamps is not None else [], settings.periods_per_year)
    else:
        annualisation = Annualisation(252.0, float("nan"), "no timestamps: assumed 252 daily bars per year")
    positions = positions_from_predictions(preds, task, settings.long_only, settings.no_trade_band, settings.in_band)
    n = len(preds)
    kept_positions = positions[non_overlapping(horizon, n)]
    turnover = float(np.abs(np.diff(kept_positions, prepend=0.0)).mean()) if len(kept_positions) else 0.0
    values = (0.0, 1.0) if settings.long_only else (-1.0, 0.0, 1.0) if settings.no_trade_band > 0 else (-1.0, 1.0)
    all_positions = {
        "model": positions,
        "buy_and_hold": buy_and_hold_positions(n),
        "majority_class": majority_class_positions(n, train_up_rate, settings.long_only),
        "random": _random_on_bars(n, horizon, turnover, values, settings.seed),
    }
    backtests = {name: run_backtest(p, forward_returns, settings.cost_bps, annualisation.periods_per_year, horizon, timestamps) for name, p in all_positions.items()}
    metrics = {name: trading_metrics(bt) for name, bt in backtests.items()}
    model = backtests["model"]
    notes = []
    if horizon > 1:
        notes.append(f"horizon {horizon}: backtest and accuracy test use one sample in {horizon} (non-overlapping steps)")
    accuracy = sharpe = None
    psr = float("nan")
    if significance and len(model.returns) >= 3:
        up = model.forward_returns > 0
        threshold = 0.5 if task == "classification" else 0.0
        called_up = preds[non_overlapping(horizon, n)] > threshold  # the direction call, band or not
        up_rate = float(up.mean())
        reference = min(max(up_rate, 1.0 - up_rate), 1.0 - 1e-9)
        accuracy = binomial_accuracy_test(int((called_up == up).sum()), len(up), reference, settings.alpha)
        sharpe = bootstrap_sharpe_interval(
            model.returns, model.periods_per_year, settings.n_bootstrap, settings.block_length, settings.alpha, settings.bootstrap_method, settings.seed
        )
        m = metrics["model"]
        try:
            psr = probabilistic_sharpe_ratio(m["sharpe_per_period"], 0.0, len(model.returns), m["skew"], m["kurtosis"])
        except ValueError as err:
            notes.append(f"probabilistic Sharpe undefined: {err}")
    return TradingReport(annualisation, horizon, settings, backtests, metrics, accuracy, sharpe, psr, notes)


def _random_on_bars(n: int, horizon: int, turnover: float, values: tuple, seed: int) -> np.ndarray:
    """Random positions whose turnover on the kept (non-overlapping) steps matches the model's."""
    kept = non_overlapping(horizon, n)
    positions = np.zeros(n)
    positions[kept] = random_positions(len(kept), turnover, values, seed)
    return positions
