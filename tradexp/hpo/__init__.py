"""Hyperparameter optimisation with Optuna: search spaces from YAML, pruning, resumable studies, workers.

    tradexp hpo --config configs/hpo/lstm.yaml --n_trials 20
    from tradexp.hpo import run_study

Names are imported on first use, so `tradexp.hpo.storage` alone does not pull in Lightning.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "HpoSettings",
    "MetricNotFoundError",
    "OptunaPruning",
    "ParamSpec",
    "SearchSpace",
    "StudyResult",
    "default_storage_url",
    "load_settings",
    "open_storage",
    "run_study",
]

_HOMES = {
    "HpoSettings": "settings",
    "load_settings": "settings",
    "MetricNotFoundError": "pruning",
    "OptunaPruning": "pruning",
    "ParamSpec": "space",
    "SearchSpace": "space",
    "StudyResult": "study",
    "run_study": "study",
    "default_storage_url": "storage",
    "open_storage": "storage",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'tradexp.hpo' has no attribute {name!r}")
    return getattr(importlib.import_module(f"tradexp.hpo.{_HOMES[name]}"), name)
