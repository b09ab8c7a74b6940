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

from tradexp.errors import TradexpError

__all__ = ["TradexpCLI", "TrackingSettings", "main", "EXTRA_COMMANDS"]


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
    "ui": "MLflow UI on the store (binds 127.0.0.1)",
    "register": "register a run's model (champion gated on significance)",
    "models": "registered models, versions, aliases and their evidence",
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
}


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
    lines += ["", "Start with: tradexp fit --config configs/lstm.yaml --trainer.max_epochs 2"]
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
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    if not args or args[0] in ("-h", "--help"):
        _print_help()
        return 0
    try:
        if args[0] == "predict" and _names_logged_model(args[1:]):
            return int(_resolve("tradexp.lifecycle.commands:predict_main")(args[1:]) or 0)
        if args[0] in EXTRA_COMMANDS:
            return int(_resolve(EXTRA_COMMANDS[args[0]])(args[1:]) or 0)
        from tradexp.lightning_cli import TradexpCLI

        TradexpCLI(args=args if argv is not None or debug else None)
        return 0
    except (TradexpError, ValueError) as exc:
        if debug:
            raise
        print(f"tradexp: error: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:
        if type(exc).__name__ != "SIGTERMException":  # Lightning's, raised when the loop saw SIGTERM
            raise
        print("tradexp: stopped by SIGTERM; the run is marked KILLED and a last checkpoint was written", file=sys.stderr)
        return 143
