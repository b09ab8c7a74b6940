"""The Python API: the same fits and look-backs as the `tradexp` commands, from a notebook or a program.

    from tradexp.api import build, fit
    result = fit("configs/lstm.yaml", {"trainer.max_epochs": 2, "model.lr": 3e-3})
    result.run_id, result.metrics["test/acc"]

This module only re-exports: fits are built in `tradexp.run`, runs are found in
`tradexp.organisation`, models are registered in `tradexp.lifecycle`. Nothing inside tradexp imports this module.
"""

from __future__ import annotations

from tradexp.config.overrides import override_args
from tradexp.lifecycle.registry import register
from tradexp.organisation.config_diff import diff_configs
from tradexp.organisation.reproduce import reproduce_run as reproduce
from tradexp.organisation.run_query import list_runs
from tradexp.run import Built, FitResult, build, fit, load_config

__all__ = ["Built", "FitResult", "override_args", "build", "fit", "load_config", "list_runs", "diff_configs", "reproduce", "register"]
