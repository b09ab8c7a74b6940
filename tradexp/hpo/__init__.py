"""Hyperparameter optimisation with Optuna: search spaces from YAML, pruning, resumable studies, workers.

    tradexp hpo --config configs/hpo/lstm.yaml --n_trials 20
    from tradexp.hpo import run_study
"""

from tradexp.hpo.pruning import MetricNotFoundError, OptunaPruning
from tradexp.hpo.settings import HpoSettings, load_settings
from tradexp.hpo.space import ParamSpec, SearchSpace
from tradexp.hpo.storage import default_storage_url, open_storage
from tradexp.hpo.study import StudyResult, run_study

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
