"""Parameter importances of a study, computed once when it ends and stored on the parent run.

    log_importances(client, parent_run_id, study)     # -> hpo/importances.json (also returned)

The study report reads `hpo/importances.json` instead of opening the Optuna storage again, and the
parent's `plots/param_importances.png` is drawn with the same evaluator, so both show one set of
numbers. fANOVA (seed 0) when scikit-learn is installed, else Optuna's PED-ANOVA.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from typing import Any, Optional

import optuna
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = ["IMPORTANCES_FILE", "importance_evaluator", "study_importances", "log_importances"]

log = logging.getLogger(__name__)

IMPORTANCES_FILE = "hpo/importances.json"


def importance_evaluator() -> tuple[Any, str]:
    """(evaluator, description): fANOVA with seed 0 when scikit-learn is there, else PED-ANOVA."""
    if importlib.util.find_spec("sklearn") is not None:
        return optuna.importance.FanovaImportanceEvaluator(seed=0), "fANOVA (Optuna, from the study's storage when the study ended)"
    return (optuna.importance.PedAnovaImportanceEvaluator(), "PED-ANOVA (Optuna, from the study's storage when the study ended; fANOVA needs scikit-learn)")


def study_importances(study: optuna.Study) -> Optional[dict[str, Any]]:
    """`{"method", "n_complete", "importances": {param: share}}` (shares sum to 1), or None.

    None when fewer than two trials completed or Optuna cannot compute them (one distinct value,
    a single param value everywhere); the reason is logged.
    """
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < 2:
        return None
    evaluator, method = importance_evaluator()
    try:
        values = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (ValueError, RuntimeError, ZeroDivisionError) as err:
        log.info("parameter importances skipped: %s", err)
        return None
    return {"method": method, "n_complete": len(complete), "importances": {k: float(v) for k, v in values.items()}}


def log_importances(client: MlflowClient, run_id: str, study: optuna.Study) -> Optional[dict[str, Any]]:
    """Compute the importances and log them as `hpo/importances.json` of `run_id` (the study's parent).

    A failure is logged, never raised: a study never fails because of its importances.
    """
    found = study_importances(study)
    if found is None:
        return None
    try:
        client.log_text(run_id, json.dumps(found, indent=2), IMPORTANCES_FILE)
    except (MlflowException, OSError) as err:
        log.warning("could not log %s to run %s: %s", IMPORTANCES_FILE, run_id, err)
    return found
