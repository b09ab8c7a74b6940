"""Helpers for the HPO tests: tiny study configs and the runs of a study in a real MLflow store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY

HPO_CONFIGS = CONFIGS / "hpo"

# Tiny trials: 3 epochs (so the pruner has epochs to act on), 600 synthetic bars, window 8.
TRIAL = {**TINY, "trainer.max_epochs": 3}


def write_hpo_config(folder: Path, **settings: Any) -> Path:
    """A small MLP study YAML in `folder` (absolute base config); `settings` replace its keys."""
    config = {
        "base_config": str(CONFIGS / "mlp.yaml"),
        "overrides": dict(TRIAL),
        "search_space": {
            "model.lr": {"type": "float", "low": 1e-4, "high": 3e-2, "log": True},
            "model.net.init_args.hidden_sizes[0]": {"type": "int", "low": 8, "high": 32, "step": 8},
        },
        "metric": "val/loss",
        "direction": "minimize",
        "n_trials": 4,
        "sampler": {"name": "tpe", "seed": 1},
        "pruner": {"name": "none"},
        "study_name": "tiny",
        **settings,
    }
    path = folder / "tiny_hpo.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def study_runs(client: MlflowClient, study: str) -> tuple[list, list]:
    """(parent runs, child runs) of the study `study` across every experiment of the store."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, filter_string=f"tags.`tradexp.study` = '{study}'", max_results=1000)
    parents = [r for r in runs if r.data.tags.get("tradexp.type") == "hpo_study"]
    children = [r for r in runs if r.data.tags.get("tradexp.type") == "hpo_trial"]
    return parents, children
