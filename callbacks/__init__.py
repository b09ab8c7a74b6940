"""Lightning callbacks that make any run traceable and explained; they never import tradexp.

    import lightning as L
    from callbacks import ArchitectureSummary, DataDistribution, EnvironmentCapture, EvaluationPlots, LearningCurves

    trainer = L.Trainer(callbacks=[ArchitectureSummary(), EnvironmentCapture(), DataDistribution(),
                                   LearningCurves(), EvaluationPlots()])

With an `MLFlowLogger` the files become artifacts of its run (`model/`, `environment/`, `data/`,
`plots/`, `predictions/`); with any other logger (or none) they are written under `trainer.log_dir`.
A failure inside a callback is warned about and recorded (tag `tradexp.callback_errors`, or
`callback_errors.txt`) and training goes on, unless the callback was made with `strict=True`.
"""

from __future__ import annotations

import importlib
from typing import Any

# Light (standard library only) and eager: `git_state` is also its module's name, which a lazy
# lookup would find bound to the submodule once anything imported `callbacks.git_state`.
from callbacks.git_state import git_state
from callbacks.redaction import strip_credentials

__all__ = ["ArchitectureSummary", "DataDistribution", "EnvironmentCapture", "EpochLines", "EvaluationPlots", "LearningCurves", "git_state", "strip_credentials"]

# Each callback is imported from its module on first use (PEP 562), so `callbacks.redaction` alone
# (what tradexp's look-back commands need) does not import Lightning and torch.
_HOMES = {
    "ArchitectureSummary": "architecture",
    "DataDistribution": "data_distribution",
    "EnvironmentCapture": "environment",
    "EpochLines": "epoch_lines",
    "EvaluationPlots": "evaluation_plots",
    "LearningCurves": "learning_curves",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
