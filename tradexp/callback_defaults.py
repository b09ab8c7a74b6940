"""The callbacks `tradexp fit` puts on the trainer by default (each can be removed in YAML).

Each entry is a LightningCLI class spec; `trainer.callbacks` in a config replaces the whole list,
so a config that lists its own callbacks switches these off.
"""

from __future__ import annotations

import importlib

from lightning.pytorch.callbacks import Callback

__all__ = ["DEFAULT_CALLBACKS", "default_callbacks"]

DEFAULT_CALLBACKS: list[dict] = [
    # The generic reporting callbacks of `callbacks/` (model/, environment/, data/, plots/, predictions/).
    {"class_path": "callbacks.ArchitectureSummary", "init_args": {}},
    {"class_path": "callbacks.EnvironmentCapture", "init_args": {}},
    {"class_path": "callbacks.DataDistribution", "init_args": {}},
    {"class_path": "callbacks.LearningCurves", "init_args": {"every_n_epochs": 5}},
    {"class_path": "callbacks.EvaluationPlots", "init_args": {}},
    {"class_path": "tradexp.evaluation.TradingEvaluation", "init_args": {"cost_bps": 1.0, "long_only": False, "no_trade_band": 0.0}},
    # Keep RunReport LAST: it reads what the callbacks above logged into the run.
    {"class_path": "tradexp.reporting.RunReport", "init_args": {}},
]


def default_callbacks() -> list[Callback]:
    """Instances of `DEFAULT_CALLBACKS`, for code that builds its Trainer without LightningCLI."""
    instances = []
    for spec in DEFAULT_CALLBACKS:
        module, _, name = spec["class_path"].rpartition(".")
        instances.append(getattr(importlib.import_module(module), name)(**spec.get("init_args", {})))
    return instances
