"""Predict with a logged model on new bars, record a `prediction` run with lineage, score for decay.

result = predict("models:/spy-mlp@champion", "new_bars.csv", output="signals.csv")
result.signals, result.decay.verdict, result.run_id
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pandas as pd

from tradexp.data.features import extra_columns
from tradexp.data.loading import bars_digest, load_bars
from tradexp.data.universe import load_universe
from tradexp.evaluation.metrics import infer_periods_per_year
from tradexp.lifecycle.decay import DecayInfo, get_decay_info
from tradexp.lifecycle.prediction_report import PREDICTION_REPORT_FILE, render_prediction_report
from tradexp.lifecycle.registry import RegistryError, registered_names

__all__ = ["ResolvedModel", "PredictionResult", "resolve_model", "load_signal_model", "predict"]

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_FREQUENCY_TOLERANCE = 0.25  # relative difference of median bar spacing that earns a warning


@dataclass
class ResolvedModel:
    """A model URI with what the registry knows about it."""

    uri: str
    name: Optional[str] = None
    version: Optional[str] = None
    alias: Optional[str] = None
    source_run: Optional[str] = None


@dataclass
class PredictionResult:
    """What `predict` produced."""

    signals: pd.DataFrame
    model: ResolvedModel
    decay: Optional[DecayInfo]
    warnings: list[str] = field(default_factory=list)
    run_id: Optional[str] = None
    lineage: dict[str, Any] = field(default_factory=dict)


def resolve_model(spec: str, client: Any) -> ResolvedModel:
    """`models:/NAME@ALIAS`, `models:/NAME/VERSION`, `runs:/RUN_ID/model` or a bare RUN_ID.

    Raises:
        RegistryError: Unknown registered model (the message lists the registered ones), unknown alias
            or version, unknown run.
    """
    if _RUN_ID.match(spec):
        spec = f"runs:/{spec}/model"
    if spec.startswith("runs:/"):
        run_id = spec[len("runs:/") :].split("/", 1)[0]
        try:
            client.get_run(run_id)
        except Exception:  # noqa: BLE001 - MlflowException: one message
            raise RegistryError(f"--model: run {run_id!r} not found in {client.tracking_uri}") from None
        return ResolvedModel(uri=spec, source_run=run_id)
    if not spec.startswith("models:/"):
        raise ValueError(f"--model: {spec!r} is not models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model or a run id")
    rest = spec[len("models:/") :]
    name, alias, version = rest, None, None
    if "@" in rest:
        name, alias = rest.split("@", 1)
    elif "/" in rest:
        name, version = rest.split("/", 1)
    if name.startswith("m-") and alias is None and version is None:
        return ResolvedModel(uri=spec)  # a LoggedModel id
    known = registered_names(client)
    if name not in known:
        raise RegistryError(f"--model: no registered model {name!r}; registered: {', '.join(known) or 'none (tradexp register RUN_ID --name NAME)'}")
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, version or "latest")
    except Exception:  # noqa: BLE001
        aliases = sorted(client.get_registered_model(name).aliases or {})
        raise RegistryError(f"--model: {name!r} has no {'alias ' + repr(alias) if alias else 'version ' + repr(version)}; aliases: {aliases or 'none'}") from None
    return ResolvedModel(uri=spec, name=name, version=str(mv.version), alias=alias, source_run=mv.run_id)


def load_signal_model(uri: str, tracking_uri: str) -> Any:
    """`mlflow.pyfunc.load_model` on the given store (MLflow's global tracking URI is left as it was)."""
    import mlflow

    from tradexp.lifecycle.store_scope import tracking_uri_scope

    with tracking_uri_scope(tracking_uri):
        return mlflow.pyfunc.load_model(uri)


def _duration(seconds: Optional[float]) -> str:
    if seconds is None or not np.isfinite(seconds):
        return "unknown"
    for unit, size in (("days", 86_400), ("hours", 3_600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


def _frequency_warning(bars: pd.DataFrame, trained_seconds: Optional[float]) -> Optional[str]:
    if len(bars) < 2 or not trained_seconds:
        return None
    spacing = infer_periods_per_year(bars.index).bar_seconds
    if abs(spacing - trained_seconds) / trained_seconds > _FREQUENCY_TOLERANCE:
        return f"the new bars come every {_duration(spacing)} (median), the model was trained on bars every {_duration(trained_seconds)}"
    return None


def predict(
    model: str, data: str | Path, output: Optional[str | Path] = None, tracking_uri: Optional[str] = None, record: bool = True, stage: Optional[str] = None, alpha: float = 0.05
) -> PredictionResult:
    """Signals of a logged model on the bars of a file, scored on their realised outcomes.

    Args:
        model: `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `runs:/RUN_ID/model` or a RUN_ID.
        data: CSV/Parquet bars in any shape the loader accepts.
        output: Write the signals (`timestamp`, `pred`, `position`) to this CSV.
        tracking_uri: Store (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).
        record: Record a `prediction` run (lineage, decay metrics, drift, signals, HTML report).
        stage: Stage of the prediction run; default `production` for `@champion`, else `development`.
        alpha: Level of the decay test.

    Raises:
        RegistryError: Unknown model. DataValidationError: Unreadable bars or missing columns, or too few bars.
    """
    from tradexp.tracking.store import open_store

    client = open_store(tracking_uri)
    resolved = resolve_model(model, client)
    loaded = load_signal_model(resolved.uri, client.tracking_uri)
    inner = loaded.unwrap_python_model()
    pipeline = inner.pipeline
    artifacts = inner.artifact_paths
    reference_features = pd.read_csv(artifacts["reference_features"]) if "reference_features" in artifacts else None
    if pipeline.is_universe:
        bars, signals, decay, warnings, digest = _predict_universe(loaded, pipeline, data, reference_features, alpha)
    else:
        bars = load_bars(data, use_adjusted=pipeline.use_adjusted, extra_columns=extra_columns(pipeline.features))
        digest = bars_digest(bars)
        warnings = [w for w in [_frequency_warning(bars, pipeline.bar_seconds)] if w]
        signals = loaded.predict(bars.reset_index())
        reference_backtest = pd.read_csv(artifacts["backtest_test"]) if "backtest_test" in artifacts else None
        _, raw = pipeline.feature_matrix(bars)
        decay = get_decay_info(
            signals,
            bars["close"],
            pipeline.horizon,
            pipeline.trading.cost_bps,
            pipeline.periods_per_year or infer_periods_per_year(bars.index).periods_per_year,
            reference_backtest,
            raw,
            reference_features,
            alpha,
        )
    for text in warnings:
        log.warning(text)
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        signals.to_csv(output, index=False)
    lineage = {
        "model_uri": resolved.uri,
        "model_name": resolved.name or "",
        "model_version": resolved.version or "",
        "model_alias": resolved.alias or "",
        "source_run": resolved.source_run or "",
        "input_path": str(Path(data).resolve()),
        "input_digest": digest,
        "bars": len(bars),
        "start": str(bars.index.min()),
        "end": str(bars.index.max()),
        "signals": len(signals),
        "trained_on": f"{pipeline.dataset.get('name', '')} ({pipeline.dataset.get('digest', '')}, {pipeline.dataset.get('start', '')} .. {pipeline.dataset.get('end', '')})",
    }
    result = PredictionResult(signals, resolved, decay, warnings, None, lineage)
    if record:
        result.run_id = _record(client, result, Path(data).stem, stage or ("production" if resolved.alias == "champion" else "development"), pipeline.net["name"])
    return result


UNIVERSE_NOT_SCORED = "not scored: a universe (the realised-outcome test is per series); drift only"


def _predict_universe(
    loaded: Any, pipeline: Any, data: str | Path, reference_features: Optional[pd.DataFrame], alpha: float
) -> tuple[pd.DataFrame, pd.DataFrame, DecayInfo, list[str], str]:
    """A universe's model on a folder, glob or long file: (long bars indexed by time, signals, drift, warnings, digest).

    The decay test compares one series' realised trades with its backtest; a universe gets the feature
    drift of every symbol's bars pooled against the training rows, and the verdict says it was not scored.
    """
    universe = load_universe(data, use_adjusted=pipeline.use_adjusted, extra_columns=extra_columns(pipeline.features))
    warnings = [f"symbol {s}: {w}" for s, b in universe.bars.items() for w in [_frequency_warning(b, pipeline.bar_seconds)] if w][:1]
    bars = pd.concat([b.assign(symbol=s) for s, b in universe.bars.items()])  # long, indexed by timestamp
    signals = loaded.predict(bars.reset_index())
    raw = np.concatenate([pipeline.feature_matrix(b)[1] for b in universe.bars.values()])  # (N_total, F), pooled
    empty = signals.iloc[:0]
    decay = get_decay_info(
        empty, pd.Series([], dtype="float64", index=pd.DatetimeIndex([])), pipeline.horizon, pipeline.trading.cost_bps, 1.0, None, raw, reference_features, alpha
    )
    return bars, signals, decay._replace(verdict=UNIVERSE_NOT_SCORED), warnings, universe.digest


def _record(client: Any, result: PredictionResult, dataset: str, stage: str, model_name: str) -> str:
    """The `prediction` run: lineage params/tags, decay metrics, signals, drift and the HTML page."""
    from mlflow.entities import Metric, Param, RunTag

    from tradexp.tracking.naming import RunIdentity, experiment_name, identity_tags, run_name
    from tradexp.tracking.store import ensure_experiment

    identity = RunIdentity(model=model_name, dataset=dataset, stage=stage, type="prediction", purpose=result.model.name or "")
    experiment_id = ensure_experiment(client, experiment_name(identity), client.tracking_uri)
    lineage, decay = result.lineage, result.decay
    tags = {
        **identity_tags(identity),
        "tradexp.model_uri": lineage["model_uri"],
        "tradexp.model_version": lineage["model_version"],
        "tradexp.source_run": lineage["source_run"],
        "tradexp.input.digest": lineage["input_digest"],
        "tradexp.decay.verdict": decay.verdict,
    }
    if result.warnings:
        tags["tradexp.warnings"] = "; ".join(result.warnings)
    run = client.create_run(experiment_id, run_name=run_name(identity), tags=tags)
    run_id = run.info.run_id
    try:
        values = {
            "predict/hit_rate": decay.hit_rate,
            "predict/sharpe": decay.sharpe,
            "predict/n_steps": decay.n_steps,
            "backtest/hit_rate": decay.backtest_hit_rate,
            "backtest/sharpe": decay.backtest_sharpe,
            "decay/return_pvalue": decay.return_pvalue,
            "decay/hit_rate_pvalue": decay.hit_rate_pvalue,
            "drift/psi_max": max((r.psi for r in decay.drift), default=None),
        }
        now = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000)
        metrics = [Metric(k, float(v), now, 0) for k, v in values.items() if v is not None and np.isfinite(v)]
        params = [Param(f"prediction.{k}", str(v)[:6000]) for k, v in lineage.items()]
        client.log_batch(run_id, metrics=metrics, params=params, tags=[RunTag("tradexp.decay.test", decay.test)])
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "predictions").mkdir()
            (root / "prediction").mkdir()
            (root / "report").mkdir()
            result.signals.to_csv(root / "predictions" / "signals.csv", index=False)
            pd.DataFrame([r._asdict() for r in decay.drift]).to_csv(root / "prediction" / "drift.csv", index=False)
            (root / PREDICTION_REPORT_FILE).write_text(render_prediction_report(decay, lineage, result.warnings), encoding="utf-8")
            client.log_artifacts(run_id, str(root))
        client.set_terminated(run_id, "FINISHED")
    except BaseException as exc:
        client.set_tag(run_id, "tradexp.error", f"{type(exc).__name__}: {exc}"[:5000])
        client.set_terminated(run_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    return run_id
