"""Walk-forward evaluation: K consecutive test blocks, one fit per fold, nested MLflow runs, aggregates.

    tradexp walkforward --config configs/mlp.yaml --folds 4 --mode expanding --trainer.max_epochs 5

Sample positions (window ends) are laid out in time: the first `min_train_fraction` of them is
history only; the rest is cut into K equal test blocks. Fold k tests block k, validates on the
`data.val_fraction` share of samples just before it and trains on everything before that
(`expanding`) or on a window as long as fold 0's (`rolling`). The split itself is the datamodule's
date split (`data.train_start/val_start/test_start/test_end`), so the same embargo purges the end
of train and val in every fold. One parent run (tag `tradexp.type=walk_forward`) holds the per-fold
table, the mean/std of every test metric, and the pooled out-of-sample backtest of all test blocks.

On a universe the folds are cut on the one calendar of its splits (the union of every symbol's
window-end dates), each fold records `test/xs/*` and `test/by_symbol/*`, and the parent adds
`oos/xs/*`: the cross-sectional metrics of every test date of every fold taken together.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param

from tradexp.config.overrides import Overrides, as_overrides, dotted_overrides, override_args
from tradexp.console import describe_run, print_headline
from tradexp.errors import ConfigError
from tradexp.evaluation.backtest import Backtest
from callbacks._run_output import jsonable
from callbacks.redaction import redact_argv, redact_mapping
from tradexp.evaluation.metrics import trading_metrics
from tradexp.evaluation.plots import _get_folds_info, draw_folds
from tradexp.evaluation.significance import binomial_accuracy_test
from tradexp.models.module import net_name
from tradexp.tracking.parent_run import ParentRun, run_names

__all__ = ["Fold", "FoldResult", "WalkForwardResult", "plan_folds", "walk_forward", "main"]

log = logging.getLogger(__name__)

Mode = Literal["expanding", "rolling"]
_MIN_TEST_SAMPLES = 20  # fewer test bars per fold say nothing about a strategy
ConfigPaths = Union[str, Path, Sequence[Union[str, Path]]]


@dataclass
class Fold:
    """Date boundaries of one fold (ISO timestamps of window ends; `test_end` exclusive, None = to the end)."""

    index: int
    train_start: Optional[str]
    val_start: str
    test_start: str
    test_end: Optional[str]

    def overrides(self) -> dict[str, Any]:
        return {"data.train_start": self.train_start, "data.val_start": self.val_start, "data.test_start": self.test_start, "data.test_end": self.test_end}


@dataclass
class FoldResult:
    fold: Fold
    run_id: Optional[str]
    metrics: dict[str, float]
    samples: dict[str, int]


@dataclass
class WalkForwardResult:
    """Outcome: the parent run, each fold's run and metrics, the aggregates and the per-fold table."""

    parent_run_id: Optional[str]
    folds: list[FoldResult]
    aggregate: dict[str, float]
    table: pd.DataFrame
    pooled: dict[str, float] = field(default_factory=dict)


def plan_folds(timestamps: pd.DatetimeIndex, folds: int, mode: Mode, embargo: int, val_fraction: float, min_train_fraction: float = 0.4) -> list[Fold]:
    """Fold boundaries over the window-end timestamps of all samples (in time order).

    Args:
        timestamps: Timestamp of every sample position, (P,).
        folds: Number of test blocks K (>= 1).
        mode: `expanding` (train from the start) or `rolling` (train window as long as fold 0's).
        embargo: Bars purged between splits (the datamodule's).
        val_fraction: Share of all samples used for validation before each test block.
        min_train_fraction: Share of samples before the first test block (train + embargo + val).

    Raises:
        ConfigError: When a fold would have no train, val or test samples.
    """
    if folds < 1:
        raise ConfigError(f"walkforward --folds: {folds} received; at least 1")
    if mode not in ("expanding", "rolling"):
        raise ConfigError(f"walkforward --mode: {mode!r} received; allowed: expanding, rolling")
    if not 0 < min_train_fraction < 1:
        raise ConfigError(f"walkforward --min-train-fraction: {min_train_fraction} received; must be in (0, 1)")
    count = len(timestamps)
    first_test = int(round(count * min_train_fraction))
    block = (count - first_test) // folds
    n_val = int(round(count * val_fraction))
    train_span = first_test - n_val  # fold 0's train (incl. the embargo): the rolling window length
    fold0_train, val_kept = train_span - embargo, n_val - embargo
    if block < _MIN_TEST_SAMPLES or val_kept < 1 or fold0_train < 1:
        raise ConfigError(
            f"walkforward: {count} samples give fold 0 {fold0_train} train, {val_kept} val and {block} test samples "
            f"(embargo {embargo}, --min-train-fraction {min_train_fraction}, data.val_fraction {val_fraction}, "
            f"{folds} folds; a fold needs >= 1 train, >= 1 val and >= {_MIN_TEST_SAMPLES} test samples); "
            "use more bars, fewer folds or other fractions"
        )
    plan = []
    for k in range(folds):
        start = first_test + k * block
        end = start + block if k < folds - 1 else None
        train_from = None if mode == "expanding" or k == 0 else timestamps[start - first_test].isoformat()
        plan.append(
            Fold(
                index=k,
                train_start=train_from,
                val_start=timestamps[start - n_val].isoformat(),
                test_start=timestamps[start].isoformat(),
                test_end=None if end is None else timestamps[end].isoformat(),
            )
        )
    return plan


def walk_forward(config: ConfigPaths, folds: int = 4, mode: Mode = "expanding", overrides: Overrides = None, min_train_fraction: float = 0.4) -> WalkForwardResult:
    """Run a walk-forward evaluation: one fit per fold, nested under one parent MLflow run.

    Args:
        config: YAML path(s) as for `tradexp fit`.
        folds: Number of folds (test blocks).
        mode: `expanding` or `rolling` train window.
        overrides: Fit overrides (`{"trainer.max_epochs": 2}` or `["--trainer.max_epochs", "2"]`).
        min_train_fraction: Share of samples before the first test block.

    Returns:
        WalkForwardResult.
    """
    from tradexp.run import build, fit

    user_overrides = as_overrides(overrides)
    unbounded = {k: None for k in Fold(0, None, "", "", None).overrides()}
    planning = build(config, {**user_overrides, **unbounded})
    datamodule = planning.datamodule
    datamodule.setup()
    plan = plan_folds(_sample_times(datamodule), folds, mode, datamodule.splits.embargo, datamodule.hparams.val_fraction, min_train_fraction)
    tracking = planning.config["tracking"]
    user_tags = {str(k): str(v) for k, v in (tracking["tags"] or {}).items()}  # the config's and the user's
    parent = _open_parent(planning) if tracking["enabled"] else None
    results: list[FoldResult] = []
    reports, universes = [], []
    with parent or contextlib.nullcontext():
        for fold in plan:
            tags = {**user_tags, "tradexp.fold": str(fold.index), "tradexp.walk_forward.mode": mode}
            fold_overrides = {**fold.overrides(), "tracking.run_type": "fold", "tracking.tags": tags}
            if parent is not None:
                tags.update({"mlflow.parentRunId": parent.run_id, "tradexp.walk_forward": parent.run_id})
                fold_overrides.update({"tracking.experiment": parent.experiment, "tracking.run_name": f"{parent.name}/fold-{fold.index}"})
            outcome = fit(config, {**user_overrides, **fold_overrides})
            results.append(FoldResult(fold, outcome.run_id, outcome.metrics, outcome.samples))
            reports.append(outcome.trading)
            universes.append(outcome.universe)
            log.info("walk-forward fold %d/%d done: run %s", fold.index + 1, len(plan), outcome.run_id)
        table = _fold_table(results)
        aggregate = _aggregate(results)
        pooled, equity = _pooled(reports)
        pooled.update(_pooled_cross_section(universes))
        if parent is not None:
            _log_parent(parent, plan, mode, table, aggregate, pooled, equity, config, user_overrides)
    return WalkForwardResult(parent.run_id if parent is not None else None, results, aggregate, table, pooled)


# -- pieces ------------------------------------------------------------------------------------------
def _sample_times(datamodule: Any) -> pd.DatetimeIndex:
    """Window-end timestamps of every sample position in time order; a universe's are the union of
    its symbols' (the one calendar its date splits are cut on)."""
    window, horizon, times = datamodule.window, datamodule.horizon, datamodule.timestamps
    if datamodule.universe is None:
        return times[np.arange(window - 1, len(times) - horizon)]
    offsets = datamodule.universe.offsets  # (S + 1,) first stacked row of each symbol, then the total
    ends = [times[start + window - 1 : stop - horizon].values for start, stop in zip(offsets[:-1], offsets[1:])]
    return pd.DatetimeIndex(np.unique(np.concatenate(ends)))  # sorted, unique


def _headline(metrics: dict[str, float]) -> dict[str, float]:
    acc = metrics.get("test/acc", metrics.get("test/dir_acc", np.nan))
    return {
        "acc": acc,
        "sharpe": metrics.get("test/trading/sharpe", np.nan),
        "max_drawdown": metrics.get("test/trading/max_drawdown", np.nan),
        "annual_return": metrics.get("test/trading/annual_return", np.nan),
        "acc_pvalue": metrics.get("test/significance/acc_pvalue", np.nan),
        "sharpe_buy_and_hold": metrics.get("test/baseline/buy_and_hold/sharpe", np.nan),
    }


def _fold_table(results: list[FoldResult]) -> pd.DataFrame:
    rows = []
    for r in results:
        row = {"fold": r.fold.index, "run_id": r.run_id, **{k: v for k, v in vars(r.fold).items() if k != "index"}}
        row.update({f"n_{k}": v for k, v in r.samples.items()})
        row.update(_headline(r.metrics))
        row.update({k: v for k, v in r.metrics.items() if k.startswith("test/")})
        rows.append(row)
    return pd.DataFrame(rows)


def _aggregate(results: list[FoldResult]) -> dict[str, float]:
    """Mean and std (ddof=1 over folds; 0 for one fold) of every test metric: `<name>_mean`, `<name>_std`."""
    keys = sorted({k for r in results for k in r.metrics if k.startswith("test/")})
    out: dict[str, float] = {"walk_forward/folds": float(len(results))}
    for key in keys:
        values = np.array([r.metrics.get(key, np.nan) for r in results], dtype="float64")
        values = values[np.isfinite(values)]
        if len(values):
            out[f"{key}_mean"] = float(values.mean())
            out[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return out


def _pooled(reports: list) -> tuple[dict[str, float], Optional[pd.DataFrame]]:
    """The out-of-sample backtest of all test blocks stitched in time order, and its accuracy test."""
    reports = [r for r in reports if r is not None]
    if not reports:
        return {}, None
    parts = [r.backtests["model"] for r in reports]
    stitched = Backtest(
        positions=np.concatenate([p.positions for p in parts]),
        gross_returns=np.concatenate([p.gross_returns for p in parts]),
        costs=np.concatenate([p.costs for p in parts]),
        returns=np.concatenate([p.returns for p in parts]),
        forward_returns=np.concatenate([p.forward_returns for p in parts]),
        timestamps=np.concatenate([p.timestamps for p in parts]) if all(p.timestamps is not None for p in parts) else None,
        periods_per_year=parts[0].periods_per_year,
    )
    pooled = {f"oos/trading/{k}": v for k, v in trading_metrics(stitched).items()}
    tests = [r.accuracy for r in reports if r.accuracy is not None]
    if tests:
        n = sum(t.n for t in tests)
        up = np.concatenate([p.forward_returns > 0 for p in parts]).mean()
        reference = min(max(up, 1 - up), 1 - 1e-9)
        pooled_test = binomial_accuracy_test(sum(t.correct for t in tests), n, reference, tests[0].alpha)
        pooled.update(
            {"oos/significance/acc": pooled_test.accuracy, "oos/significance/acc_pvalue": pooled_test.pvalue, "oos/significance/acc_significant": float(pooled_test.significant)}
        )
    equity = pd.DataFrame({"timestamp": stitched.timestamps, "position": stitched.positions, "model_return": stitched.returns, "equity_model": stitched.equity})
    return pooled, equity


def _pooled_cross_section(universes: list) -> dict[str, float]:
    """`oos/xs/*`: the cross-sectional metrics over the test dates of every fold, in time order (the
    per-fold bootstrap p-value and Sharpe interval are not pooled; quantile returns stay per fold)."""
    parts = [u.cross_section for u in universes if u is not None and u.cross_section is not None]
    if not parts:
        return {}

    def stitched(name: str) -> np.ndarray:
        return np.concatenate([getattr(p, name) for p in parts])  # (D_total,)

    info = parts[0]._replace(
        **{name: stitched(name) for name in ("dates", "ic", "rank_ic", "n_symbols", "long_short_returns", "long_short_turnover",
                                             "equal_weight_returns", "random_long_short_returns", "random_rank_ic")},
        symbols=tuple(sorted({s for p in parts for s in p.symbols})),
        quantile_mean_returns=np.array([]),
        rank_ic_pvalue=float("nan"),
        long_short_sharpe_ci=(float("nan"), float("nan")),
    )  # fmt: skip
    return info.flat_metrics("oos")


def _open_parent(planning: Any) -> ParentRun:
    """The walk-forward parent run: named and tagged from the config as its folds are (type `walk_forward`)."""
    names = run_names(planning.config["tracking"], net_name(planning.model.net), planning.datamodule.dataset_name, "walk_forward")
    digest = planning.datamodule.digest
    return ParentRun.start(names, {"tradexp.dataset.digest": digest} if digest else None)


def _log_parent(parent: ParentRun, plan, mode, table, aggregate, pooled, equity, config, user_overrides) -> None:
    """Params, aggregate metrics, the fold table, the pooled equity and the folds plot on the parent run."""
    client = parent.client
    paths = [str(config)] if isinstance(config, (str, Path)) else [str(c) for c in config]
    params = {"walk_forward.folds": len(plan), "walk_forward.mode": mode, "walk_forward.config": ",".join(paths)}
    client.log_batch(parent.run_id, params=[Param(k, str(v)) for k, v in redact_mapping(params).items()])
    metrics = [Metric(k, float(v), 0, 0) for k, v in {**aggregate, **pooled}.items() if np.isfinite(v)]
    for start in range(0, len(metrics), 1000):
        client.log_batch(parent.run_id, metrics=metrics[start : start + 1000])
    spec = {"mode": mode, "config": paths, "overrides": redact_argv(override_args(user_overrides)), "folds": [vars(f) for f in plan]}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "evaluation").mkdir()
        table.to_csv(root / "evaluation" / "folds.csv", index=False)
        (root / "evaluation" / "walk_forward.json").write_text(json.dumps(jsonable(redact_mapping(spec)), indent=2))
        if equity is not None:
            equity.to_csv(root / "evaluation" / "equity.csv", index=False)
        draw_folds(_get_folds_info(table.to_dict("records")), root / "plots" / "folds.png")
        client.log_artifacts(parent.run_id, str(root))
    describe_run(client, parent.run_id, pooled, split="oos")  # the MLflow UI's description: pooled headline


def main(argv: list[str]) -> int:
    """`tradexp walkforward --config X.yaml --folds 4 --mode expanding|rolling [fit overrides]`."""
    parser = argparse.ArgumentParser(
        prog="tradexp walkforward",
        description="Walk-forward evaluation: one fit per fold, nested MLflow runs, aggregated metrics. Any other option is a fit override, e.g. --trainer.max_epochs 5.",
    )
    parser.add_argument("--config", action="append", required=True, help="YAML config (repeatable)")
    parser.add_argument("--folds", type=int, default=4, help="number of test blocks (default 4)")
    parser.add_argument("--mode", choices=("expanding", "rolling"), default="expanding", help="train window (default expanding)")
    parser.add_argument("--min-train-fraction", type=float, default=0.4, help="share of samples before the first test block")
    parser.add_argument("--register", metavar="NAME", help="register the last fold's model (trained on the most data) as a version of NAME")
    args, rest = parser.parse_known_args(argv)
    overrides = dotted_overrides(rest)
    result = walk_forward(args.config, args.folds, args.mode, overrides, args.min_train_fraction)
    shown = result.table[["fold", "test_start", "n_train", "n_test", "acc", "acc_pvalue", "sharpe", "max_drawdown"]]
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    sharpe_mean = result.aggregate.get("test/trading/sharpe_mean", float("nan"))
    print(f"\nwalk-forward parent run: {result.parent_run_id}  mean test Sharpe {sharpe_mean:.3f} over {len(result.folds)} folds")
    if "oos/trading/sharpe" in result.pooled:
        print(f"pooled out-of-sample Sharpe {result.pooled['oos/trading/sharpe']:.3f}, accuracy p-value {result.pooled.get('oos/significance/acc_pvalue', float('nan')):.3g}")
    if "oos/xs/rank_ic_mean" in result.pooled:
        print(
            f"pooled out-of-sample rank IC {result.pooled['oos/xs/rank_ic_mean']:.4f} over {result.pooled['oos/xs/n_dates']:.0f} dates, "
            f"long-short Sharpe {result.pooled['oos/xs/long_short/sharpe']:.3f}"
        )
    print_headline(result.pooled, run_id=result.parent_run_id, split="oos", title=f"Headline (all test blocks pooled, out of sample), parent run {result.parent_run_id}")
    if args.register and result.folds and result.folds[-1].run_id:
        from tradexp.lifecycle.commands import register_main

        uri = overrides.get("tracking.tracking_uri")
        return register_main([result.folds[-1].run_id, "--name", args.register] + (["--tracking-uri", uri] if uri else []))
    return 0
