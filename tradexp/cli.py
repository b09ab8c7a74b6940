"""`tradexp` command line: LightningCLI for fit/validate/test/predict, plus the look-back commands.

tradexp fit --config configs/lstm.yaml --trainer.max_epochs 2
tradexp fit --config configs/gru.yaml --data.path prices.csv
tradexp fit --config configs/mlp.yaml --print_config
"""

from __future__ import annotations

import importlib
import re
import sys
from typing import Any, Callable, Optional

from tradexp.allocator import return_large_frees_to_the_os
from tradexp.errors import TradexpError

__all__ = ["TradexpCLI", "TrackingSettings", "main", "EXTRA_COMMANDS", "HELP_EXAMPLES", "TRAINING_COMMANDS", "version_text"]


def __getattr__(name: str) -> Any:
    # LightningCLI (and with it all of Lightning) is imported only when a training command runs,
    # so `tradexp --help` and the look-back commands start fast.
    if name in ("TradexpCLI", "TrackingSettings"):
        return getattr(importlib.import_module("tradexp.lightning_cli"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Commands that are not Lightning trainer entry points; each maps to `module:function(argv) -> int`.
_DESCRIPTIONS = {
    "hpo": "tune a model with Optuna (parent run + one child run per trial)",
    "walkforward": "walk-forward evaluation: K folds as nested runs + aggregate",
    "report": "self-contained HTML report of a run, a study or a comparison",
    "runs": "list runs filtered by tags, status and metrics (--reap marks dead runs FAILED)",
    "config": "config diff RUN_A RUN_B",
    "reproduce": "re-run a run from its stored config and compare",
    "sync": "replay run data spooled while the tracking server was down",
    "ui": "MLflow UI on the store (binds 127.0.0.1); --optuna adds optuna-dashboard",
    "register": "register a run's model (champion gated on significance)",
    "models": "registered models, versions, aliases and their evidence",
    "gc": "free the disk of deleted (and failed, killed, pruned) runs; a dry run unless --yes",
}
EXTRA_COMMANDS: dict[str, str] = {
    "hpo": "tradexp.hpo.command:main",
    "walkforward": "tradexp.evaluation.walk_forward:main",
    "report": "tradexp.reporting.command:main",
    "runs": "tradexp.organisation.commands:runs_main",
    "config": "tradexp.organisation.commands:config_main",
    "reproduce": "tradexp.organisation.commands:reproduce_main",
    "sync": "tradexp.tracking.spool:sync_main",
    "ui": "tradexp.tracking.ui:ui_main",
    "register": "tradexp.lifecycle.commands:register_main",
    "models": "tradexp.lifecycle.commands:models_main",
    "gc": "tradexp.organisation.gc:gc_main",
}


# `tradexp COMMAND --help` ends with these (a test checks every command has one).
HELP_EXAMPLES: dict[str, tuple[str, ...]] = {
    "fit": (
        "tradexp fit --config configs/lstm.yaml --trainer.max_epochs 5",
        "tradexp fit --config configs/gru.yaml --data.path prices.csv --model.lr 3e-4",
        "tradexp fit --config configs/mlp.yaml --print_config",
    ),
    "validate": ("tradexp validate --config configs/lstm.yaml --ckpt_path lightning_logs/1/RUN_ID/checkpoints/last.ckpt",),
    "test": ("tradexp test --config configs/lstm.yaml --ckpt_path lightning_logs/1/RUN_ID/checkpoints/last.ckpt",),
    "predict": (
        "tradexp predict --config configs/lstm.yaml --ckpt_path lightning_logs/1/RUN_ID/checkpoints/last.ckpt",
        "tradexp predict --model models:/NAME@champion --data new.csv",
    ),
    "hpo": ("tradexp hpo --config configs/hpo/mlp.yaml --n_trials 8 --trainer.max_epochs 3", "tradexp hpo --config configs/hpo/lstm.yaml --workers 2   # run again to resume"),
    "walkforward": ("tradexp walkforward --config configs/lstm.yaml --folds 4 --mode expanding --trainer.max_epochs 5",),
    "report": ("tradexp report run RUN_ID", "tradexp report study lstm-study", "tradexp report compare RUN_A RUN_B"),
    "runs": ("tradexp runs --model lstm --where 'test/acc>0.52' --sort test/acc", "tradexp runs --reap"),
    "config": ("tradexp config diff RUN_A RUN_B", "tradexp config show RUN_ID"),
    "reproduce": ("tradexp reproduce RUN_ID", "tradexp reproduce RUN_ID --check"),
    "sync": ("tradexp sync lightning_logs/spool/RUN_ID.jsonl",),
    "ui": ("tradexp ui", "tradexp ui --optuna   # optuna-dashboard on the study storage too", "tradexp ui --port 5001"),
    "register": ("tradexp register RUN_ID --name lstm-spy --alias champion",),
    "models": ("tradexp models",),
    "serve": ("tradexp serve --model models:/lstm-spy@champion --port 5002",),
    "gc": (
        "tradexp gc                                   # dry run: what deleted runs hold",
        "tradexp gc --status failed,killed,pruned --older-than 30d --yes",
        "tradexp gc --experiment tradexp/development/synthetic --status pruned",
    ),
}
TRAINING_COMMANDS = ("fit", "validate", "test", "predict")


def version_text() -> str:
    """`tradexp 0.1.0 (lightning 2.6.6, mlflow 3.17.2, optuna 5.0.0, torch 2.13.0+cpu, python 3.11.7)`."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from tradexp import __version__

    parts = []
    for name in ("lightning", "mlflow", "optuna", "torch"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return f"tradexp {__version__} ({', '.join(parts)}, python {platform.python_version()})"


def _print_examples(command: str) -> None:
    examples = HELP_EXAMPLES.get(command)
    if examples:
        print("\nexamples:\n" + "\n".join(f"  {line}" for line in examples))


def _print_help() -> None:
    lines = [
        "usage: tradexp COMMAND [options]",
        "",
        "training (LightningCLI; `tradexp COMMAND --help` for every option):",
        "  fit          train a model, then test the best checkpoint",
        "  validate     evaluate on the validation split",
        "  test         evaluate on the test split",
        "  predict      predict on the test split; with --model URI --data bars.csv: signals of a logged model",
    ]
    if EXTRA_COMMANDS:
        lines += ["", "experiments (`tradexp COMMAND --help`):"]
        lines += [f"  {name:<13}{_DESCRIPTIONS.get(name, '')}" for name in EXTRA_COMMANDS]
    lines += ["", "  --version    tradexp and library versions", "", "Start with: tradexp fit --config configs/lstm.yaml --trainer.max_epochs 2"]
    print("\n".join(lines))


def _resolve(target: str) -> Callable[[list[str]], int]:
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)


def _names_logged_model(args: list[str]) -> bool:
    """`predict --model models:/..|runs:/..|RUN_ID` is tradexp's predict on new bars, not LightningCLI's."""
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--model=") else args[i + 1] if arg == "--model" and i + 1 < len(args) else None
        if value is not None and (value.startswith(("models:/", "runs:/")) or re.fullmatch(r"[0-9a-f]{32}", value)):
            return True
    return False


def main(argv: Optional[list[str]] = None) -> int:
    """Entry point of the `tradexp` console script; returns the exit code.

    Domain errors (`TradexpError`) and bad values (`ValueError`) print one line; `--debug`
    shows the traceback instead.
    """
    return_large_frees_to_the_os()
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    if not args or args[0] in ("-h", "--help"):
        _print_help()
        return 0
    if args[0] in ("-V", "--version"):
        print(version_text())
        return 0
    asks_help = any(a in ("-h", "--help") for a in args[1:])
    try:
        if args[0] == "predict" and _names_logged_model(args[1:]):
            return int(_resolve("tradexp.lifecycle.commands:predict_main")(args[1:]) or 0)
        if args[0] in EXTRA_COMMANDS:
            code = int(_resolve(EXTRA_COMMANDS[args[0]])(args[1:]) or 0)
            if asks_help and code == 0:  # the command printed its options and returned (no SystemExit)
                _print_examples(args[0])
            return code
        from tradexp.lightning_cli import TradexpCLI

        TradexpCLI(args=args if argv is not None or debug else None)
        return 0
    except (TradexpError, ValueError) as exc:
        if debug:
            raise
        print(f"tradexp: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        if asks_help and exc.code in (0, None):  # argparse/jsonargparse printed the options: add the examples
            sys.stdout.flush()
            _print_examples(args[0])
            return 0
        from lightning.pytorch.utilities.exceptions import SIGTERMException  # raised when the loop saw SIGTERM

        if not isinstance(exc, SIGTERMException):
            raise
        print("tradexp: stopped by SIGTERM; the run is marked KILLED and a last checkpoint was written", file=sys.stderr)
        return 143
