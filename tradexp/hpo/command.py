"""`tradexp hpo`: run or resume an Optuna study of a training config.

    tradexp hpo --config configs/hpo/mlp.yaml --n_trials 8 --trainer.max_epochs 3
    tradexp hpo --config configs/hpo/lstm.yaml --workers 2
    tradexp hpo --config configs/hpo/gru.yaml --storage postgresql://user@db:5432/optuna --study_name gru-v1

Options other than the ones below are dotted overrides of the base training config, as for `fit`.
"""

from __future__ import annotations

import argparse
from typing import Any

from tradexp.cli_args import option_values
from tradexp.config.overrides import dotted_overrides
from tradexp.console import print_study_headline
from tradexp.hpo.study import StudyResult, run_study

__all__ = ["main", "parse_args"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradexp hpo",
        description="Tune a training config with Optuna: one parent MLflow run per study, one child run per trial. "
        "Running the same command again adds trials to the same study (resume).",
        epilog="Any other --key value (e.g. --trainer.max_epochs 3 --data.path prices.csv) overrides the base training config.",
    )
    parser.add_argument("--config", required=True, help="HPO YAML, e.g. configs/hpo/lstm.yaml")
    parser.add_argument("--n_trials", type=int, help="trials this command adds (split between workers)")
    parser.add_argument("--max_trials", type=int, help="stop once the study holds this many finished trials")
    parser.add_argument("--timeout", type=float, help="seconds this command may spend starting trials")
    parser.add_argument("--workers", type=int, help="worker processes on this machine")
    parser.add_argument("--storage", help="Optuna storage URL (default: optuna.db next to mlflow.db; PostgreSQL for many machines)")
    parser.add_argument("--study_name", help="study name (default from the HPO YAML)")
    parser.add_argument("--retrain_best", action=argparse.BooleanOptionalAction, default=None, help="retrain the best config and test it")
    parser.add_argument("--register", metavar="NAME", help="with --retrain_best: register the retrained best as a version of NAME")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar (default on)")
    parser.add_argument("--verbose", action="store_true", help="show each trial's Lightning output")
    return parser


def parse_args(argv: list[str]) -> tuple[argparse.Namespace, dict[str, Any]]:
    """Split argv into the study options and the base-config overrides."""
    args, rest = _parser().parse_known_args(argv)
    return args, dotted_overrides(rest)


def _format_result(result: StudyResult, metric: str) -> str:
    states = ", ".join(f"{k} {v}" for k, v in sorted(result.states.items()))
    lines = ["", f"Study {result.study_name!r}: {result.n_trials} trials tried in total ({states})"]
    if result.best_trial is None:
        lines.append("  no trial completed yet")
    else:
        best = result.best_trial
        lines.append(f"Best trial {best.number}: {metric} = {best.value:.6g}   (child run {best.user_attrs.get('mlflow_run_id', '?')})")
        lines += [f"  {name} = {value}" for name, value in best.params.items()]
        if result.test_value is not None:
            test_metric = "test/" + metric.split("/", 1)[-1]
            lines.append(f"  retrained on the test split: {test_metric} = {result.test_value:.6g} beside {metric} = {best.value:.6g} (run {result.retrain_run_id})")
        if result.deflated_sharpe is not None:
            lines.append(f"  deflated Sharpe (validation, vs {result.n_trials} trials tried): {result.deflated_sharpe:.3f}")
    lines.append(f"Parent run: {result.parent_run_id}")
    lines.append(f"Storage:    {result.storage}   (the same command resumes the study)")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """Entry point of `tradexp hpo`; returns the exit code (errors are printed by `tradexp.cli.main`)."""
    args, overrides = parse_args(argv)
    if args.register and args.retrain_best is not True:
        raise ValueError("--register NAME needs --retrain_best: the study registers its retrained best")
    result = run_study(
        args.config, overrides, **option_values(args, "n_trials", "workers", "storage", "study_name", "timeout", "max_trials", "retrain_best", "progress"), quiet=not args.verbose
    )
    print(_format_result(result, result.summary.get("metric", "value")))
    print_study_headline(result.tracking_uri, result.parent_run_id, result.retrain_run_id)
    if args.register and result.retrain_run_id:
        from tradexp.lifecycle.commands import register_main

        uri = overrides.get("tracking.tracking_uri")
        return register_main([result.retrain_run_id, "--name", args.register] + (["--tracking-uri", str(uri)] if uri else []))
    return 0
