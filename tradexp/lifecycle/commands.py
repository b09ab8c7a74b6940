"""`tradexp register`, `tradexp models` and `tradexp predict --model ...` (each `main(argv) -> int`)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional

from tradexp.cli_args import add_tracking_uri

__all__ = ["register_main", "models_main", "predict_main"]


def register_main(argv: list[str]) -> int:
    """tradexp register RUN_ID --name NAME [--alias ALIAS] [--reason TEXT] [--force]"""
    parser = argparse.ArgumentParser(
        prog="tradexp register",
        description="Register a run's logged model as a new version of NAME, with its evidence as version tags. "
        "Promotion to `champion` needs a significant test Sharpe after costs (and a deflated Sharpe >= 0.95 "
        "for a study's retrained best); `candidate` and `shadow` are not gated.",
        epilog="example: tradexp register 3f2a9c... --name spy-mlp --alias champion",
    )
    parser.add_argument("run_id", help="the run whose model to register")
    parser.add_argument("--name", required=True, help="registered model name")
    parser.add_argument("--alias", default=None, help="champion (gated), candidate, shadow, ...")
    parser.add_argument("--reason", default=None, help="why (recorded; required with --force)")
    parser.add_argument("--force", action="store_true", help="promote without the evidence (recorded as tradexp.promotion.forced=true)")
    add_tracking_uri(parser)
    args = parser.parse_args(argv)
    from tradexp.lifecycle.registry import register

    done = register(args.run_id, args.name, args.alias, args.reason, args.force, args.tracking_uri)
    alias = f" @{done.alias}" if done.alias else ""
    print(f"registered run {args.run_id} as {done.name} version {done.version}{alias}  ({done.model_uri})")
    print(
        f"  verdict: {done.tags.get('tradexp.verdict')}  p = {done.tags.get('tradexp.sharpe_pvalue', '-')}"
        + (f"  deflated Sharpe {done.tags['tradexp.deflated_sharpe']}" if "tradexp.deflated_sharpe" in done.tags else "")
        + (f"  walk-forward OOS Sharpe {done.tags['tradexp.walk_forward.oos_sharpe']}" if "tradexp.walk_forward.oos_sharpe" in done.tags else "")
    )
    if done.forced:
        print(f"  FORCED promotion: {done.tags.get('tradexp.promotion.reason')}")
    return 0


def models_main(argv: list[str]) -> int:
    """tradexp models: registered models, versions, aliases and their evidence."""
    parser = argparse.ArgumentParser(prog="tradexp models", description="List registered models, versions, aliases and evidence.")
    add_tracking_uri(parser)
    args = parser.parse_args(argv)
    from tradexp.lifecycle.registry import list_models

    rows = list_models(args.tracking_uri)
    if not rows:
        print("no registered models (tradexp register RUN_ID --name NAME)")
        return 0
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).ljust(widths[c]) for c in columns))
    return 0


def predict_main(argv: list[str]) -> int:
    """tradexp predict --model URI --data bars.csv [-o signals.csv]"""
    parser = argparse.ArgumentParser(
        prog="tradexp predict",
        description="Signals of a logged model on new bars; records a `prediction` run that scores the realised "
        "outcomes against the backtest and the feature drift against training.",
        epilog="example: tradexp predict --model models:/spy-mlp@champion --data new_bars.csv -o signals.csv",
    )
    parser.add_argument("--model", required=True, help="models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model or RUN_ID")
    parser.add_argument("--data", required=True, help="CSV/Parquet of OHLCV bars; a universe model: a folder, glob or long file with a `symbol` column")
    parser.add_argument("-o", "--output", default=None, help="write the signals here (CSV: timestamp, pred, position; a universe: symbol first)")
    parser.add_argument("--no-record", action="store_true", help="do not record a prediction run")
    parser.add_argument("--stage", default=None, help="stage of the prediction run (default production for @champion)")
    add_tracking_uri(parser)
    args = parser.parse_args(argv)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one line per error, no progress bars
    from tradexp.lifecycle.predict import predict

    result = predict(args.model, args.data, args.output, args.tracking_uri, record=not args.no_record, stage=args.stage)
    for text in result.warnings:
        print(f"warning: {text}", file=sys.stderr)
    d = result.decay
    print(f"{len(result.signals)} signals from {result.model.uri}" + (f" (version {result.model.version})" if result.model.version else ""))
    if args.output:
        print(f"  written to: {args.output}")
    if d is not None:

        def f(v: Optional[float]) -> str:
            return "-" if v is None else f"{v:.3f}"

        print(f"  realised: hit rate {f(d.hit_rate)} (backtest {f(d.backtest_hit_rate)}), Sharpe {f(d.sharpe)} (backtest {f(d.backtest_sharpe)}) on {d.n_steps} steps")
        if d.drift:
            worst = max(d.drift, key=lambda r: r.psi)
            print(f"  drift: largest PSI {worst.psi:.3f} ({worst.feature})")
        print(f"  verdict: {d.verdict}")
    if result.run_id:
        print(f"  prediction run: {result.run_id}")
    return 0
