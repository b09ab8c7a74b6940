"""Hyperparameter optimisation with Optuna: search spaces from YAML, pruning, resumable studies, workers.

    tradexp hpo --config configs/hpo/lstm.yaml --n_trials 20
    from tradexp.hpo import run_study

Names are imported on first use, so `tradexp.hpo.storage` alone does not pull in Lightning.
"""

from tradexp.lazy_exports import lazy_exports

__all__ = ["HpoSettings", "MetricNotFoundError", "OptunaPruning", "ParamSpec", "SearchSpace", "StudyResult", "default_storage_url", "load_settings", "open_storage", "run_study"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "tradexp.hpo.settings": ("HpoSettings", "load_settings"),
        "tradexp.hpo.pruning": ("MetricNotFoundError", "OptunaPruning"),
        "tradexp.hpo.space": ("ParamSpec", "SearchSpace"),
        "tradexp.hpo.study": ("StudyResult", "run_study"),
        "tradexp.hpo.storage": ("default_storage_url", "open_storage"),
    },
)
