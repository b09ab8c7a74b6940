"""Log a fit's model to its MLflow run: `python_function` from code, weights as a plain state dict.

`LogTradexpModel` (a default callback of `tradexp fit`) calls `log_model` after the test of the best
checkpoint, so the logged weights are the tested ones and the LoggedModel is linked to the run's
test metrics. `--tracking.log_model false` removes it.
"""

from __future__ import annotations

import json
import logging
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Optional

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import torch
from lightning.pytorch.loggers import MLFlowLogger
from typing_extensions import override

from callbacks._run_output import ReportingCallback
from tradexp.evaluation.metrics import infer_periods_per_year
from tradexp.lifecycle.pipeline import OUTPUT_COLUMNS, UNIVERSE_OUTPUT_COLUMNS, BarPipeline, TradingRule, windows_per_pass
from tradexp.lifecycle.store_scope import tracking_uri_scope
from tradexp.lifecycle.pyfunc_model import PIPELINE_ARTIFACT, SYMBOL_ENCODER_PREFIX, WEIGHTS_ARTIFACT
from tradexp.models.module import net_name

__all__ = ["LogTradexpModel", "log_model", "pipeline_of", "MODEL_NAME", "REFERENCE_ROWS"]

log = logging.getLogger(__name__)

MODEL_NAME = "model"  # the run's model: `runs:/<run_id>/model`
REFERENCE_ROWS = 5000  # training feature rows kept for drift checks at prediction time
_EXAMPLE_EXTRA_ROWS = 5  # the input example gives this many output rows
_CODE = Path(__file__).with_name("model_code.py")


def _version(package: str) -> Optional[str]:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _requirements() -> list[str]:
    """The versions that trained the model (torch without its local `+cpu` tag)."""
    pins = []
    for package in ("tradexp", "mlflow", "torch", "lightning", "pandas", "numpy", "scipy"):
        version = _version(package)
        if version:
            pins.append(f"{package}=={version.split('+')[0]}")
    return pins


def pipeline_of(datamodule: Any, module: Any, trading: TradingRule) -> BarPipeline:
    """The `BarPipeline` of a set-up `BarsDataModule` and its `TradingModule` (a universe's too)."""
    annual = infer_periods_per_year(datamodule.timestamps)
    boundaries = datamodule.split_boundaries()
    symbols = getattr(datamodule, "symbols", None)
    first, last = (datamodule.bars.index[0], datamodule.bars.index[-1]) if symbols is None else (datamodule.timestamps.min(), datamodule.timestamps.max())
    embedding = module.hparams.get("symbol_embedding")
    name = net_name(module.net)
    return BarPipeline(
        net={"name": name, "init_args": dict(module.hparams["net"]["init_args"])},
        features=list(datamodule.features),
        window=int(datamodule.window),
        horizon=int(datamodule.horizon),
        task=str(datamodule.task),
        scaler=datamodule.scaler.state_dict(),
        use_adjusted=bool(datamodule.hparams.use_adjusted),
        trading=trading,
        bar_seconds=float(annual.bar_seconds),
        periods_per_year=float(annual.periods_per_year),
        dataset={
            "name": datamodule.dataset_name,
            "digest": datamodule.digest,
            "source": datamodule.source,
            "start": str(first),
            "end": str(last),
            **{k: str(v) for k, v in boundaries.items()},
        },
        symbols=None if symbols is None else list(symbols),
        symbol_embedding=None if embedding is None else int(embedding),
        windows_per_pass=windows_per_pass(name, int(datamodule.window), int(datamodule.n_features)),
    )


def _input_example(datamodule: Any, pipeline: BarPipeline) -> pd.DataFrame:
    """A few real training bars (enough for `_EXAMPLE_EXTRA_ROWS` output rows), time as ISO text.

    A universe: the first bars of two of its symbols, one long frame with a `symbol` column.
    """
    if pipeline.is_universe:
        head = datamodule.head_bars
        bars = head.groupby("symbol", sort=False).head(pipeline.min_bars + _EXAMPLE_EXTRA_ROWS - 1).reset_index()
        bars.insert(0, "symbol", bars.pop("symbol"))
    else:
        bars = datamodule.bars.iloc[: pipeline.min_bars + _EXAMPLE_EXTRA_ROWS - 1].reset_index()
    bars["timestamp"] = bars["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return bars


def _write_artifacts(root: Path, datamodule: Any, module: Any, report: Any) -> dict[str, str]:
    artifacts = {}
    weights = root / "weights.pt"
    state = {k: v.detach().cpu().clone() for k, v in module.net.state_dict().items()}  # tensors only
    if getattr(module, "symbol_encoder", None) is not None:  # a universe's symbol embedding, beside the net's weights
        state.update({SYMBOL_ENCODER_PREFIX + k: v.detach().cpu().clone() for k, v in module.symbol_encoder.state_dict().items()})
    torch.save(state, weights)
    artifacts[WEIGHTS_ARTIFACT] = str(weights)
    train = datamodule.split_data("train")
    rows = np.unique(np.linspace(0, len(train["features"]) - 1, min(REFERENCE_ROWS, len(train["features"]))).astype(int))
    reference = pd.DataFrame(train["features"][rows], columns=list(datamodule.features))
    reference.to_csv(root / "reference_features.csv", index=False)
    artifacts["reference_features"] = str(root / "reference_features.csv")
    if report is not None and "model" in getattr(report, "backtests", {}):
        model = report.backtests["model"]
        frame = pd.DataFrame({"position": model.positions, "forward_return": model.forward_returns, "return": model.returns})
        if model.timestamps is not None:
            frame.insert(0, "timestamp", pd.DatetimeIndex(model.timestamps).strftime("%Y-%m-%dT%H:%M:%S"))
        frame.to_csv(root / "backtest_test.csv", index=False)
        artifacts["backtest_test"] = str(root / "backtest_test.csv")
    return artifacts


def log_model(logger: MLFlowLogger, datamodule: Any, module: Any, trading: TradingRule, report: Any = None, step: Optional[int] = None) -> Any:
    """Log the model of a fitted and tested run to that run (models from code, no pickle).

    Args:
        logger: The run's MLflow logger (its tracking URI and run id are used).
        datamodule: The set-up `BarsDataModule` (features, scaler, window, bars).
        module: The `TradingModule` holding the tested weights.
        trading: The trading rule of the run.
        report: `TradingEvaluation.report` of the test (its model backtest is the reference of `tradexp predict`).
        step: Step of the test metrics to link to the LoggedModel (default: the run's last `test/loss` step).

    Returns:
        MLflow's `ModelInfo` (`model_id`, `model_uri`).
    """
    import mlflow
    from mlflow.models import Model, ModelSignature
    from mlflow.types import ColSpec, Schema

    client, run_id = logger.experiment, logger.run_id
    if callable(getattr(logger, "flush", None)):
        logger.flush()  # buffered test metrics must be in the store to be linked to the model
    if step is None:
        history = client.get_metric_history(run_id, "test/loss")
        step = history[-1].step if history else 0
    pipeline = pipeline_of(datamodule, module, trading)
    backtest = {}
    if report is not None:
        metrics = report.metrics.get("model", {})
        backtest = {k: float(metrics[k]) for k in ("hit_rate", "sharpe", "n_periods", "sharpe_per_period") if k in metrics}
    columns = [ColSpec("datetime", "timestamp"), ColSpec("double", "pred"), ColSpec("double", "position")]
    signature = ModelSignature(outputs=Schema(([ColSpec("string", "symbol")] if pipeline.is_universe else []) + columns))
    tags = {"tradexp.run_id": run_id, "tradexp.model": pipeline.net["name"], "tradexp.dataset.digest": str(datamodule.digest)}
    tags.update({f"tradexp.dataset.{k}": str(v) for k, v in pipeline.dataset.items() if k in ("name", "start", "end", "test_start", "test_end")})
    run = client.get_run(run_id)
    # Created here, in the run's experiment (`Model.log` would use the process's active experiment).
    logged = client.create_logged_model(
        experiment_id=run.info.experiment_id,
        name=MODEL_NAME,
        source_run_id=run_id,
        tags=tags,
        params={k: str(v)[:6000] for k, v in run.data.params.items()},
        model_type="tradexp-signals",
    )
    try:
        with tracking_uri_scope(client.tracking_uri), tempfile.TemporaryDirectory() as tmp:  # `Model.log` reads the global store
            artifacts = _write_artifacts(Path(tmp), datamodule, module, report)
            spec = Path(tmp) / "pipeline.json"
            spec.write_text(
                json.dumps(
                    {"pipeline": pipeline.to_dict(), "backtest": backtest, "output_columns": list(UNIVERSE_OUTPUT_COLUMNS if pipeline.is_universe else OUTPUT_COLUMNS)}, indent=2
                )
            )
            artifacts[PIPELINE_ARTIFACT] = str(spec)
            info = Model.log(
                artifact_path=None,
                name=MODEL_NAME,
                flavor=mlflow.pyfunc,
                run_id=run_id,
                model_id=logged.model_id,
                step=step,
                python_model=str(_CODE),
                artifacts=artifacts,
                signature=signature,
                input_example=_input_example(datamodule, pipeline),
                pip_requirements=_requirements(),
            )
        client.finalize_logged_model(logged.model_id, "READY")
        return info
    except BaseException:
        client.finalize_logged_model(logged.model_id, "FAILED")
        raise


class LogTradexpModel(ReportingCallback):
    """After the test (of the best checkpoint, in `tradexp fit`), log the run's MLflow model.

    The trading rule comes from the trainer's `TradingEvaluation` callback (defaults without one).
    A failure is warned about, recorded in `tradexp.callback_errors`, and the run goes on
    (`strict=True` re-raises). Without an MLflow logger it does nothing.

    Args:
        enabled: False turns it off (what `--tracking.log_model false` does).
        strict: Raise instead of recording a failure.
    """

    def __init__(self, enabled: bool = True, strict: bool = False) -> None:
        super().__init__(strict=strict)
        if not isinstance(enabled, bool):
            raise TypeError(f"`enabled` must be a bool, got {enabled!r}")
        self.enabled = enabled
        self.model_info: Any = None

    @override
    def on_test_end(self, trainer: "pl.Trainer", pl_module: "pl.LightningModule") -> None:
        if not self.enabled or trainer.sanity_checking or not trainer.is_global_zero:
            return
        loggers = [lg for lg in trainer.loggers if isinstance(lg, MLFlowLogger) and lg.run_id]
        datamodule = trainer.datamodule
        if not loggers or getattr(datamodule, "scaler", None) is None:
            return
        with self.reporting_errors(trainer, "on_test_end"):
            evaluation = next((cb for cb in trainer.callbacks if type(cb).__name__ == "TradingEvaluation"), None)
            trading = TradingRule()
            if evaluation is not None:
                s = evaluation.settings
                trading = TradingRule(cost_bps=float(s.cost_bps), no_trade_band=float(s.no_trade_band), long_only=bool(s.long_only), in_band=str(s.in_band))
            report = getattr(evaluation, "report", None)
            for logger in loggers:
                self.model_info = log_model(logger, datamodule, pl_module, trading, report)
                log.info("logged model %s of run %s", self.model_info.model_id, logger.run_id)
