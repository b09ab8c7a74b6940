"""`TradingEvaluation`: every tradexp test ends with a cost-aware backtest, baselines and significance."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import Any, Literal, Optional

import lightning.pytorch as pl
import numpy as np
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

from callbacks._run_output import jsonable
from tradexp.evaluation.backtest import positions_from_predictions, run_backtest
from tradexp.evaluation.metrics import ReturnMoments, infer_periods_per_year, return_moments, sharpe_ratio
from tradexp.evaluation.plots import _get_drawdown_info, _get_equity_info, _get_rolling_sharpe_info, draw_drawdown, draw_equity, draw_rolling_sharpe
from tradexp.evaluation.trading import TradingReport, TradingSettings, evaluate_predictions
from tradexp.evaluation.universe_evaluation import evaluate_universe
from tradexp.ranges import NonNegativeFloat, NoTradeBand, OpenUnitInterval, PositiveFloat, Resamples

__all__ = ["TradingEvaluation"]

log = logging.getLogger(__name__)

_ERRORS_TAG = "tradexp.callback_errors"


class TradingEvaluation(Callback):
    """Backtests the test predictions beside baselines and logs metrics, tables, tests and plots.

    After `trainer.test` it turns the collected predictions into positions, backtests them net of
    costs on the test bars (`datamodule.split_data("test")`: forward returns and timestamps, row by
    row with the in-order test loader), computes the baselines and the significance tests, and logs
    `test/trading/*`, `test/baseline/<name>/*`, `test/significance/*` metrics plus
    `evaluation/trading.json|csv`, `evaluation/significance.json`, `evaluation/equity.csv` and
    `plots/equity.png`, `plots/drawdown.png`, `plots/rolling_sharpe.png`. Each validation epoch it
    backtests the validation predictions the same way (cheap: no baselines, no bootstrap), logs
    `val/trading/sharpe` (annualised), `val/trading/sharpe_per_period`, `val/trading/n_periods`,
    `val/trading/skew` and `val/trading/kurtosis`, and keeps them in `validation_moments[epoch]`:
    the numbers HPO selects and deflates. On a universe it logs `val/xs/rank_ic_mean`, `val/xs/ic_mean`
    and `val/xs/long_short/sharpe` instead and keeps the moments of the per-date top/bottom-quantile
    long-short returns (`validation_basis` = "long_short"; "series" for one series). The last test
    result stays on `self.report`.

    Needs a datamodule with `split_data(name)`, `splits`, `task` and `horizon` (tradexp's
    `BarsDataModule`); otherwise it warns once and does nothing.

    Args:
        cost_bps: Cost in basis points per unit of turnover (|position change|), >= 0.
        long_only: Never short (a short signal means flat).
        no_trade_band: Half-width of the no-trade band around P(up) = 0.5 (or a predicted return of 0), in [0, 0.5).
        in_band: Inside the band: `flat`, or `hold` the previous position.
        periods_per_year: Annualisation; None infers it from the bar timestamps (recorded).
        alpha: Significance level, in (0, 1).
        n_bootstrap: Block-bootstrap resamples for the Sharpe interval (>= 10).
        seed: Seed of the random baseline and the bootstrap.
        validation_sharpe: Log `val/trading/sharpe` every validation epoch.
        plots: Draw the PNG plots.
        enabled: False turns the callback off (e.g. `--trainer.callbacks` in YAML keeps the entry).
        quantiles: A universe: prediction groups per date for the top/bottom long-short portfolio.
        max_symbol_metrics: A universe: log `test/by_symbol/<symbol>/*` for this many symbols (all are
            in `evaluation/by_symbol.csv`).
        strict: Re-raise errors instead of warning and recording them on the run.
    """

    def __init__(
        self,
        cost_bps: NonNegativeFloat = 1.0,
        long_only: bool = False,
        no_trade_band: NoTradeBand = 0.0,
        in_band: Literal["flat", "hold"] = "flat",
        periods_per_year: Optional[PositiveFloat] = None,
        alpha: OpenUnitInterval = 0.05,
        n_bootstrap: Resamples = 1000,
        seed: int = 0,
        validation_sharpe: bool = True,
        plots: bool = True,
        enabled: bool = True,
        quantiles: int = 5,
        max_symbol_metrics: int = 20,
        strict: bool = False,
    ) -> None:
        if quantiles < 2:
            raise ValueError(f"`quantiles` must be >= 2, got {quantiles}")
        if max_symbol_metrics < 0:
            raise ValueError(f"`max_symbol_metrics` must be >= 0, got {max_symbol_metrics}")
        self.quantiles = quantiles
        self.max_symbol_metrics = max_symbol_metrics
        self.settings = TradingSettings(
            cost_bps=cost_bps, long_only=long_only, no_trade_band=no_trade_band, in_band=in_band, periods_per_year=periods_per_year, alpha=alpha, n_bootstrap=n_bootstrap, seed=seed
        )
        self.validation_sharpe = validation_sharpe
        self.plots = plots
        self.enabled = enabled
        self.strict = strict
        self.report: Optional[TradingReport] = None
        self.universe_report = None  # the last universe test result (per symbol, cross-sectional)
        self.validation_moments: dict[int, ReturnMoments] = {}  # epoch -> the val backtest's per-step moments
        self.validation_basis = "series"  # what those returns are: one series' backtest, or a universe's "long_short"
        self._preds: list[np.ndarray] = []
        self._targets: list[np.ndarray] = []
        self._usable = True

    # -- setup ------------------------------------------------------------------------------------
    @override
    def setup(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", stage: str) -> None:
        datamodule = trainer.datamodule
        missing = [name for name in ("split_data", "splits", "task", "horizon") if not hasattr(datamodule, name)]
        self._usable = self.enabled and not missing and trainer.world_size == 1
        if self.enabled and missing:
            log.warning("TradingEvaluation: the datamodule lacks %s; trading evaluation is off for this run", missing)
        elif self.enabled and trainer.world_size > 1:
            log.warning(
                "TradingEvaluation: %d processes split the test set, so predictions no longer align with the bars; run the test on one device for trading metrics",
                trainer.world_size,
            )

    # -- collecting predictions -------------------------------------------------------------------
    def _collect(self, outputs: Any) -> None:
        if isinstance(outputs, dict) and "preds" in outputs:
            self._preds.append(outputs["preds"].detach().float().reshape(-1).cpu().numpy())  # (B,)
            target = outputs.get("target")
            if target is not None:
                self._targets.append(target.detach().float().reshape(-1).cpu().numpy())  # (B,)

    def _reset(self) -> None:
        self._preds, self._targets = [], []

    @override
    def on_validation_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._reset()

    @override
    def on_validation_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self._usable and self.validation_sharpe and not trainer.sanity_checking:
            self._collect(outputs)

    @override
    def on_validation_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not (self._usable and self.validation_sharpe) or trainer.sanity_checking or not self._preds:
            return
        try:
            data = self._aligned(trainer, "val")
            if data is None:
                return
            preds, split = data
            if "symbols" in split:  # a universe: how well it ranks symbols on each date
                universe = evaluate_universe(
                    preds, split, trainer.datamodule.task, 0.5, self.settings, int(trainer.datamodule.horizon), self.quantiles,
                    significance=False, by_symbol=False,
                )  # fmt: skip
                if universe.cross_section is not None:
                    metrics = universe.cross_section.flat_metrics("val")
                    pl_module.log_dict({k: metrics[k] for k in ("val/xs/rank_ic_mean", "val/xs/ic_mean", "val/xs/long_short/sharpe")})
                    self.validation_moments[trainer.current_epoch] = return_moments(universe.cross_section.long_short_returns)
                    self.validation_basis = "long_short"
                return
            positions = positions_from_predictions(preds, trainer.datamodule.task, self.settings.long_only, self.settings.no_trade_band, self.settings.in_band)
            annual = infer_periods_per_year(split["timestamps"], self.settings.periods_per_year)
            horizon = int(trainer.datamodule.horizon)
            backtest = run_backtest(positions, split["forward_returns"], self.settings.cost_bps, annual.periods_per_year, horizon)
            moments = return_moments(backtest.returns)
            self.validation_moments[trainer.current_epoch] = moments
            pl_module.log_dict(
                {
                    "val/trading/sharpe": float(sharpe_ratio(backtest.returns, backtest.periods_per_year)),
                    "val/trading/sharpe_per_period": moments.sharpe,
                    "val/trading/n_periods": float(moments.n_obs),
                    "val/trading/skew": moments.skew,
                    "val/trading/kurtosis": moments.kurtosis,
                }
            )
        except Exception as err:  # a reporting callback must not kill training (see `strict`)
            self._record_error(trainer, "validation", err)

    @override
    def on_test_epoch_start(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        self._reset()

    @override
    def on_test_batch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        if self._usable:
            self._collect(outputs)

    @override
    def on_test_epoch_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self._usable or not self._preds:
            return
        try:
            datamodule = trainer.datamodule
            split_name = "test" if len(datamodule.splits.test) else "val"  # the loader falls back to val
            data = self._aligned(trainer, split_name)
            if data is None:
                return
            preds, split = data
            if "symbols" in split:
                self._evaluate_universe(trainer, pl_module, preds, split)
                return
            report = evaluate_predictions(preds, split["forward_returns"], split["timestamps"], datamodule.task, _train_up_rate(datamodule), self.settings, int(datamodule.horizon))
            if float(getattr(datamodule, "dead_zone", 0.0) or 0.0) > 0:
                report.notes.append(
                    "data.dead_zone > 0 drops small-move bars using their FUTURE return; the backtest covers only the remaining bars and overstates what a live strategy would earn"
                )
            if split_name != "test":
                report.notes.append("no test split: evaluated on the validation split")
            self.report = report
            pl_module.log_dict({k: float(v) for k, v in report.flat_metrics("test").items()})
            if trainer.is_global_zero:
                self._write_artifacts(trainer, report)
        except Exception as err:  # a reporting callback must not kill training (see `strict`)
            self._record_error(trainer, "test", err)
        finally:
            self._reset()

    # -- helpers ----------------------------------------------------------------------------------
    def _evaluate_universe(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule", preds: np.ndarray, split: dict) -> None:
        """Per-symbol backtests and cross-sectional metrics of a universe's test predictions."""
        datamodule = trainer.datamodule
        universe = evaluate_universe(preds, split, datamodule.task, _train_up_rate(datamodule), self.settings, int(datamodule.horizon), self.quantiles)
        self.universe_report = universe
        pl_module.log_dict(universe.flat_metrics("test", self.max_symbol_metrics))
        if not trainer.is_global_zero:
            return
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "evaluation"
            root.mkdir()
            universe.by_symbol.to_csv(root / "by_symbol.csv", index=False)
            summary = {"notes": list(universe.notes), "quantiles": self.quantiles, "cost_bps": self.settings.cost_bps}
            if universe.cross_section is not None:
                universe.cross_section.by_date().to_csv(root / "xs_by_date.csv", index=False)
                summary["metrics"] = universe.cross_section.flat_metrics("test")
            (root / "cross_section.json").write_text(json.dumps(jsonable(summary), indent=2))
            self._publish(trainer, root.parent)

    def _aligned(self, trainer: "pl.Trainer", split_name: str) -> Optional[tuple[np.ndarray, dict]]:
        """Predictions and the split's data when they align row by row; None (with a warning) otherwise."""
        preds = np.concatenate(self._preds)  # (S,)
        split = trainer.datamodule.split_data(split_name)
        targets = np.asarray(split["targets"], dtype="float64")
        aligned = len(preds) == len(targets)
        if aligned and self._targets:
            collected = np.concatenate(self._targets)  # (S,)
            aligned = np.allclose(collected, targets, atol=1e-6)
        if not aligned:
            log.warning(
                "TradingEvaluation: %d predictions do not align with the %d `%s` rows (shuffled or limited loader?); no trading metrics for this pass",
                len(preds),
                len(targets),
                split_name,
            )
            return None
        return preds, split

    def _write_artifacts(self, trainer: "pl.Trainer", report: TradingReport) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "evaluation").mkdir()
            (root / "evaluation" / "trading.json").write_text(json.dumps(jsonable(report.summary_dict()), indent=2))
            report.table().to_csv(root / "evaluation" / "trading.csv", index=False)
            (root / "evaluation" / "significance.json").write_text(json.dumps(jsonable(report.significance_dict()), indent=2))
            report.equity_frame().to_csv(root / "evaluation" / "equity.csv", index=False)
            if self.plots:
                model = report.backtests["model"]
                draw_equity(_get_equity_info(report.backtests), root / "plots" / "equity.png")
                draw_drawdown(_get_drawdown_info(model), root / "plots" / "drawdown.png")
                draw_rolling_sharpe(_get_rolling_sharpe_info(model), root / "plots" / "rolling_sharpe.png")
            self._publish(trainer, root)

    def _publish(self, trainer: "pl.Trainer", root: Path) -> None:
        """Copy the files under `root` into the run (MLflow) or under `trainer.log_dir`."""
        mlflow_loggers = [lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger)]
        for logger in mlflow_loggers:
            logger.experiment.log_artifacts(logger.run_id, str(root))
        if not mlflow_loggers:
            target = Path(trainer.log_dir or trainer.default_root_dir)
            for path in root.rglob("*"):
                if path.is_file():
                    destination = target / path.relative_to(root)
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(path.read_bytes())

    def _record_error(self, trainer: "pl.Trainer", where: str, err: Exception) -> None:
        if self.strict:
            raise  # called from an `except` block: re-raises the error being handled
        message = f"TradingEvaluation ({where}): {type(err).__name__}: {err}"
        log.warning("%s; training goes on, trading metrics are missing for this pass", message)
        if not trainer.is_global_zero:
            return
        for logger in trainer.loggers:
            if isinstance(logger, MLFlowLogger):
                try:
                    previous = logger.experiment.get_run(logger.run_id).data.tags.get(_ERRORS_TAG, "")
                    logger.experiment.set_tag(logger.run_id, _ERRORS_TAG, (previous + "; " if previous else "") + message)
                except Exception as tag_err:  # the store failing too (server down) must not end the run either
                    log.error("could not record the TradingEvaluation error on run %s: %s", logger.run_id, tag_err)


def _train_up_rate(datamodule: Any) -> float:
    """Share of up moves in the training labels (what a base-rate model would have learned)."""
    forward, splits = getattr(datamodule, "forward_returns", None), getattr(datamodule, "splits", None)
    if forward is not None and splits is not None:  # no copy of the training features just for this
        return float((np.asarray(forward)[splits.train] > 0).mean())
    train = datamodule.split_data("train")
    return float((np.asarray(train["forward_returns"]) > 0).mean())
