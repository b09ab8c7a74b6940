"""What the argparse parsers of the `tradexp` subcommands share.

    add_tracking_uri(parser)                      # the one `--tracking-uri` option, one help text
    run_study(config, **option_values(args, "n_trials", "workers"))  # options handed on by name

`tradexp fit` and `tradexp hpo` overrides (`--key value`) are read by `tradexp.config.overrides`.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_tracking_uri", "option_values"]

TRACKING_URI_HELP = "MLflow store (default: MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here)"


def add_tracking_uri(parser: argparse.ArgumentParser) -> None:
    """Add `--tracking-uri` (parsed as `args.tracking_uri`, None when not given) to `parser`."""
    parser.add_argument("--tracking-uri", default=None, help=TRACKING_URI_HELP)


def option_values(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """The parsed options `names` as keyword arguments of the same names: `f(**option_values(args, "top"))`.

    Raises:
        AttributeError: A name the parser does not define (a typo fails on the first call, not silently).
    """
    return {name: getattr(args, name) for name in names}
