"""The numbers behind the training and comparison reports, as pure functions (no HTML, no drawing).

Each `*_info` function turns collected run data into a NamedTuple that a figure function draws and
a test can check, in the manner of Optuna's `_get_*_info` helpers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Optional

import numpy as np
import pandas as pd

from callbacks._evaluation_info import PrInfo, RocInfo, _get_pr_info, _get_roc_info
from tradexp.evaluation.headline import Headline, headline_info
from tradexp.reporting.read_runs import MetricPoint, RunData

__all__ = [
    "Series",
    "CurvePanel",
    "MetricGroups",
    "RocInfo",
    "PrInfo",
    "MetricSpread",
    "SeedGroup",
    "learning_curve_info",
    "overlay_curve_info",
    "metric_groups",
    "roc_info",
    "pr_info",
    "prediction_curves",
    "equity_series",
    "differing_params",
    "seed_groups",
    "is_seed_key",
    "run_headline_info",
    "finite_float",
    "EquityCurves",
    "equity_curves_info",
]


class Series(NamedTuple):
    """One line: its label and points."""

    label: str
    x: list[Any]
    y: list[float]


class CurvePanel(NamedTuple):
    """One subplot of curves sharing an x axis."""

    title: str
    xlabel: str
    series: list[Series]


class MetricGroups(NamedTuple):
    """A run's final metrics split by what they measure."""

    test: dict[str, float]
    trading: dict[str, float]
    baselines: dict[str, dict[str, float]]
    significance: dict[str, float]
    validation: dict[str, float]
    other: dict[str, float]


class MetricSpread(NamedTuple):
    """Mean and spread of one metric over runs that differ only by seed (std uses ddof=1)."""

    n: int
    mean: float
    std: float
    min: float
    max: float


class SeedGroup(NamedTuple):
    """Runs that repeat one configuration with different seeds."""

    label: str
    run_ids: list[str]
    seeds: list[str]
    stats: dict[str, MetricSpread]


# -- learning curves -------------------------------------------------------------------------
def _epoch_of_step(histories: Mapping[str, list[MetricPoint]]) -> dict[int, float]:
    return {p.step: p.value for p in histories.get("epoch", [])}


def _split_key(key: str) -> tuple[str, str]:
    """`val/acc` -> (`acc`, `val`); `lr-AdamW` -> (`lr-AdamW`, ``)."""
    for prefix in ("train/", "val/"):
        if key.startswith(prefix):
            return key[len(prefix) :], prefix[:-1]
    return key, ""


def _xs(points: list[MetricPoint], epochs: dict[int, float]) -> tuple[list[float], bool]:
    if points and all(p.step in epochs for p in points):
        return [epochs[p.step] for p in points], True
    return [float(p.step) for p in points], False


def learning_curve_info(histories: Mapping[str, list[MetricPoint]], max_panels: int = 9) -> list[CurvePanel]:
    """Panels of train/val curves from a run's metric histories (x = epoch when it can be told).

    Test metrics, the `epoch` counter and `*_step` duplicates are left out; `train/x` and `val/x`
    share a panel; losses come first.
    """
    epochs = _epoch_of_step(histories)
    groups: dict[str, list[tuple[str, list[MetricPoint]]]] = defaultdict(list)
    for key in sorted(histories):
        points = histories[key]
        if key == "epoch" or key.startswith(("test/", "hpo/", "data/")) or key.endswith("_step") or not points:
            continue
        if not key.startswith(("train/", "val/")) and len(points) < 2:  # a value logged once is no curve
            continue
        base, _ = _split_key(key)
        base = base.removesuffix("_epoch")
        groups["loss" if base.startswith("loss") else base].append((key, points))
    order = sorted(groups, key=lambda b: (b != "loss", "trading" in b, b))[:max_panels]
    panels = []
    for base in order:
        series, all_epochs = [], True
        for key, points in groups[base]:
            x, by_epoch = _xs(points, epochs)
            all_epochs &= by_epoch
            series.append(Series(key, x, [p.value for p in points]))
        panels.append(CurvePanel(base, "epoch" if all_epochs else "step", series))
    return panels


def overlay_curve_info(runs: Sequence[RunData], keys: Sequence[str]) -> list[CurvePanel]:
    """One panel per metric key with a line per run (x = epoch when known, else step)."""
    panels = []
    for key in keys:
        series, all_epochs = [], True
        for run in runs:
            points = run.histories.get(key)
            if not points:
                continue
            x, by_epoch = _xs(points, _epoch_of_step(run.histories))
            if not by_epoch:  # without the epoch counter, number the logged points
                x = list(range(len(points)))
            all_epochs &= by_epoch
            series.append(Series(run.name, x, [p.value for p in points]))
        if series:
            panels.append(CurvePanel(key, "epoch" if all_epochs else "evaluation", series))
    return panels


# -- metrics ---------------------------------------------------------------------------------
def metric_groups(metrics: Mapping[str, float]) -> MetricGroups:
    """Split `test/...`, `test/trading/...`, `test/baseline/<b>/...`, `test/significance/...`, `val/...`."""
    test, trading, significance, validation, other = {}, {}, {}, {}, {}
    baselines: dict[str, dict[str, float]] = defaultdict(dict)
    for key in sorted(metrics):
        value = metrics[key]
        if key.startswith("test/trading/"):
            trading[key.removeprefix("test/trading/")] = value
        elif key.startswith("test/baseline/"):
            name, _, metric = key.removeprefix("test/baseline/").partition("/")
            baselines[name][metric or name] = value
        elif key.startswith("test/significance/"):
            significance[key.removeprefix("test/significance/")] = value
        elif key.startswith("test/"):
            test[key] = value
        elif key.startswith("val/"):
            validation[key] = value
        elif key != "epoch":
            other[key] = value
    return MetricGroups(test, trading, dict(baselines), significance, validation, other)


# -- ROC / PR from predictions ---------------------------------------------------------------
# The same computation the EvaluationPlots callback draws with, so a report and the run's plots agree.
def _binary(target: Any, score: Any) -> Optional[tuple[np.ndarray, np.ndarray]]:
    t = np.asarray(target, dtype=float)
    s = np.asarray(score, dtype=float)
    keep = np.isfinite(t) & np.isfinite(s)
    t, s = t[keep], s[keep]
    if len(t) == 0 or not np.isin(t, (0.0, 1.0)).all() or t.min() == t.max():
        return None
    return t, s


def roc_info(target: Any, score: Any) -> Optional[RocInfo]:
    """ROC curve and AUC of scores for 0/1 targets; None unless both classes are present."""
    data = _binary(target, score)
    return None if data is None else _get_roc_info(*data)


def pr_info(target: Any, score: Any) -> Optional[PrInfo]:
    """Precision-recall curve and average precision (step-wise, as scikit-learn defines it)."""
    data = _binary(target, score)
    return None if data is None else _get_pr_info(*data)


def prediction_curves(predictions: Optional[pd.DataFrame]) -> tuple[Optional[RocInfo], Optional[PrInfo]]:
    """ROC and PR of `predictions/test_predictions.csv` (columns `target`, `pred`) for classification."""
    if predictions is None or not {"target", "pred"} <= set(predictions.columns):
        return None, None
    return roc_info(predictions["target"], predictions["pred"]), pr_info(predictions["target"], predictions["pred"])


# -- equity ----------------------------------------------------------------------------------
_TIME_COLUMNS = ("timestamp", "date", "datetime", "time")
_EQUITY_COLUMNS = ("equity_model", "equity", "model", "strategy", "net_equity", "cumulative_return")
_LABEL_COLUMNS = ("strategy", "name", "series", "label")


def equity_series(frame: Optional[pd.DataFrame], label: str = "model") -> Optional[Series]:
    """The model's equity curve from `evaluation/equity.csv` (wide or long format), else None."""
    if frame is None or frame.empty:
        return None
    df = frame
    time_col = next((c for c in df.columns if str(c).lower() in _TIME_COLUMNS), None)
    label_col = next((c for c in df.columns if str(c).lower() in _LABEL_COLUMNS and not pd.api.types.is_numeric_dtype(df[c])), None)
    if label_col is not None:  # long format: one row per (time, strategy)
        names = df[label_col].astype(str)
        df = df[names == "model"] if (names == "model").any() else df[names == names.iloc[0]]
    numeric = [c for c in df.columns if c not in (time_col, label_col) and pd.api.types.is_numeric_dtype(df[c])]
    lowered = {str(c).lower(): c for c in numeric}
    value_col = next((lowered[n] for n in _EQUITY_COLUMNS if n in lowered), None)
    value_col = value_col or next((c for c in numeric if "equity" in str(c).lower()), numeric[0] if numeric else None)
    if value_col is None:
        return None
    x: list[Any] = list(range(len(df)))
    if time_col is not None:
        times = pd.to_datetime(df[time_col], errors="coerce", format="ISO8601")
        if times.notna().all():
            x = list(times.to_numpy())
    return Series(label, x, [float(v) for v in df[value_col]])


class EquityCurves(NamedTuple):
    """Every strategy's equity on the test steps and the model's drawdown below its running peak."""

    curves: list[Series]  # model first, then the baselines
    drawdown: Optional[Series]  # 1 - equity / running peak (the start counts as a peak of 1)
    max_drawdown: Optional[float]


def equity_curves_info(frame: Optional[pd.DataFrame]) -> Optional[EquityCurves]:
    """The curves of `evaluation/equity.csv` (`timestamp`, `equity_<strategy>` columns), else None.

    The drawdown is the one `TradingEvaluation` plots and whose maximum it logs as
    `test/trading/max_drawdown` (`tradexp.evaluation.plots._get_drawdown_info`).
    """
    if frame is None or frame.empty:
        return None
    names = [c for c in frame.columns if str(c).startswith("equity_")]
    if not names:
        return None
    names.sort(key=lambda c: c != "equity_model")
    x: list[Any] = list(range(len(frame)))
    if "timestamp" in frame.columns:
        times = pd.to_datetime(frame["timestamp"], errors="coerce", format="ISO8601")
        if times.notna().all():
            x = list(times.to_numpy())
    curves = [Series(str(c).removeprefix("equity_"), x, [float(v) for v in frame[c]]) for c in names]
    drawdown = max_dd = None
    if "equity_model" in frame.columns:
        equity = frame["equity_model"].to_numpy(dtype=float)
        drawn = 1.0 - equity / np.maximum.accumulate(np.maximum(equity, 1.0))  # (S,)
        drawdown, max_dd = Series("model", x, drawn.tolist()), float(np.nanmax(drawn)) if len(drawn) else None
    return EquityCurves(curves, drawdown, max_dd)


# -- configurations --------------------------------------------------------------------------
_NOT_CONFIG = ("tracking.run_name", "tracking.run_id")


def is_seed_key(key: str) -> bool:
    """`seed_everything`, `data.seed`, `data.synthetic.seed`, `...random_seed`."""
    last = key.rsplit(".", 1)[-1].lower()
    return last == "seed_everything" or last == "seed" or last.endswith("_seed")


def differing_params(params: Sequence[Mapping[str, str]]) -> list[str]:
    """Config keys whose value is not the same in every run (a missing key counts as a value)."""
    keys = sorted({k for p in params for k in p if k not in _NOT_CONFIG})
    return [k for k in keys if len({p.get(k) for p in params}) > 1]


def _spread(values: list[float]) -> MetricSpread:
    arr = np.asarray(values, dtype=float)
    std = float(arr.std(ddof=1)) if len(arr) > 1 else math.nan
    return MetricSpread(len(arr), float(arr.mean()), std, float(arr.min()), float(arr.max()))


def seed_groups(runs: Sequence[RunData], metrics: Sequence[str]) -> list[SeedGroup]:
    """Groups of >= 2 runs whose config is equal except for seed keys, with mean/std per metric.

    `tracking.*` keys (names, tags, purpose) are ignored when comparing configs.
    """
    grouped: dict[tuple, list[RunData]] = defaultdict(list)
    for run in runs:
        key = tuple(sorted((k, v) for k, v in run.params.items() if not is_seed_key(k) and not k.startswith("tracking.")))
        grouped[key].append(run)
    differing = [k for k in differing_params([r.params for r in runs]) if not is_seed_key(k) and not k.startswith("tracking.")]
    groups = []
    for members in grouped.values():
        varying = [k for k in differing_params([r.params for r in members]) if is_seed_key(k)]
        seeds = [", ".join(f"{k}={r.params.get(k)}" for k in varying) for r in members]
        if len(members) < 2 or len(set(seeds)) < 2:
            continue
        first = members[0]
        label = ", ".join(f"{k}={first.params.get(k)}" for k in differing) or first.tags.get("tradexp.model", "same config")
        stats = {}
        for metric in metrics:
            values = [r.metrics[metric] for r in members if metric in r.metrics]
            if values:
                stats[metric] = _spread(values)
        groups.append(SeedGroup(label, [r.run_id for r in members], seeds, stats))
    return groups


# -- headline ------------------------------------------------------------------------------
def finite_float(value: Any) -> Optional[float]:
    """`value` as a finite float, else None (text, None, NaN, inf)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def run_headline_info(run: RunData) -> Headline:
    """`tradexp.evaluation.headline.headline_info` of a run, with the cost setting and bar calendar
    that `evaluation/trading.json` records (so a cost below the market's fees is a warning)."""
    summary = run.json("evaluation/trading.json")
    summary = summary if isinstance(summary, dict) else {}
    settings = summary.get("settings") if isinstance(summary.get("settings"), dict) else {}
    annual = summary.get("annualisation") if isinstance(summary.get("annualisation"), dict) else {}
    return headline_info(run.metrics, cost_bps=finite_float(settings.get("cost_bps")), bars_per_year=finite_float(annual.get("periods_per_year")))
