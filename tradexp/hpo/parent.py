"""The study's parent MLflow run: found again on every resume, holding settings, summary, table and plots."""

from __future__ import annotations

import json
import logging
import re
import tempfile
import time
from pathlib import Path
from typing import Any, Mapping

import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from callbacks.redaction import redact_mapping, redact_record, strip_credentials
from tradexp.hpo.objective import STATE_TAG
from tradexp.hpo.plots import save_study_plots, trials_table
from tradexp.hpo.settings import HpoSettings
from tradexp.tracking.parent_run import ParentRun
from tradexp.tracking.store import ensure_experiment, open_store

__all__ = ["StudyRun", "PARENT_RUN_ATTR", "reconcile_child_runs"]

log = logging.getLogger(__name__)

PARENT_RUN_ATTR = "mlflow_parent_run_id"
EXPERIMENT_ATTR = "mlflow_experiment"


def _key(name: str) -> str:
    """A param/tag key MLflow accepts: `hidden_sizes[1]` -> `hidden_sizes.1`."""
    return re.sub(r"[^A-Za-z0-9_\-. :/]", "_", name.replace("[", ".").replace("]", ""))


class StudyRun(ParentRun):
    """The parent run of one study (tag `tradexp.type=hpo_study`); its id is a study user attr.

    Opened (found again on resume) by `open`, ended by `ParentRun.end` with an honest status.
    """

    @classmethod
    def open(  # type: ignore[override]
        cls, study: optuna.Study, created: bool, tracking_uri: str, experiment: str, tags: Mapping[str, str], wait_seconds: float = 60.0
    ) -> "StudyRun":
        """Find the study's parent run (resume) or create it; the run is set RUNNING.

        The process that created the Optuna study creates the parent; others wait for its id so
        that workers starting together on many machines share one parent.
        """
        client = open_store(tracking_uri)
        experiment_id = ensure_experiment(client, experiment, tracking_uri)
        run_id = study.user_attrs.get(PARENT_RUN_ATTR)
        deadline = time.monotonic() + wait_seconds
        while run_id is None and not created and time.monotonic() < deadline:
            time.sleep(0.5)
            run_id = study.user_attrs.get(PARENT_RUN_ATTR)
        if run_id is not None:
            try:
                if client.get_run(run_id).info.lifecycle_stage == "active":
                    return cls.resume(client, run_id, experiment)
                log.warning("parent run %s of study %s is deleted; creating a new one", run_id, study.study_name)
            except MlflowException:
                log.warning("parent run %s of study %s is not in %s; creating a new one", run_id, study.study_name, strip_credentials(tracking_uri))
        parent = cls.create(client, experiment_id, study.study_name, tags, experiment)
        study.set_user_attr(PARENT_RUN_ATTR, parent.run_id)
        study.set_user_attr(EXPERIMENT_ATTR, experiment)
        return parent

    def log_settings(self, settings: HpoSettings, storage_url: str) -> None:
        """Study settings as params (first value kept on resume: no duplicate-param errors) and the space."""
        described = settings.describe()
        params = {
            "hpo.study_name": settings.study_name,
            "hpo.metric": settings.metric,
            "hpo.direction": settings.direction,
            "hpo.sampler": json.dumps(settings.sampler, sort_keys=True),
            "hpo.pruner": json.dumps(settings.pruner, sort_keys=True),
            "hpo.base_config": json.dumps(settings.base_config),
            "hpo.overrides": json.dumps(settings.overrides, sort_keys=True, default=str),
            "hpo.storage": strip_credentials(storage_url),
        }
        params.update({f"hpo.space.{_key(name)}": json.dumps(spec, sort_keys=True) for name, spec in described["search_space"].items()})
        params = redact_mapping(params)  # a secret in the overrides (tags, URLs) never reaches the run
        existing = self.client.get_run(self.run_id).data.params
        fresh = []
        for key, value in params.items():
            text = str(value)[:MAX_PARAM_VAL_LENGTH]
            if key not in existing:
                fresh.append(Param(key, text))
            elif existing[key] != text:
                log.warning("study setting %s changed on resume: run keeps %r, this invocation uses %r", key, existing[key], text)
        for start in range(0, len(fresh), 100):
            self.client.log_batch(self.run_id, params=fresh[start : start + 100])
        self.client.log_text(self.run_id, json.dumps(described["search_space"], indent=2), "hpo/search_space.json")

    def log_summary(self, study: optuna.Study, settings: HpoSettings, extra: Mapping[str, Any]) -> dict[str, Any]:
        """Write the trials table, plots, `hpo/study.json` and summary metrics/tags; returns the summary."""
        table = trials_table(study)
        for column in table.columns[table.dtypes == object]:  # `hpo/trials.csv` holds param values too
            table[column] = [redact_record(column, v) if isinstance(v, str) else v for v in table[column]]
        states = table["state"].value_counts().to_dict()
        epochs = table["epochs_run"].dropna()
        max_epochs = settings.overrides.get("trainer.max_epochs")
        summary: dict[str, Any] = {
            "study_name": study.study_name,
            "metric": settings.metric,
            "direction": settings.direction,
            "n_trials": int(len(table)),
            "states": {str(k): int(v) for k, v in states.items()},
            "epochs_run": int(epochs.sum()),
            "settings": settings.describe(),
            **extra,
        }
        try:
            best = study.best_trial
            summary.update(best_trial=best.number, best_value=best.value, best_params=best.params, best_run_id=best.user_attrs.get("mlflow_run_id"))
        except ValueError:
            best = None
        if max_epochs:
            summary["epochs_budget"] = int(max_epochs) * int(len(epochs))
        now = int(time.time() * 1000)
        step = int(len(table))
        metrics = {
            "hpo/n_trials": len(table),
            "hpo/n_complete": states.get("COMPLETE", 0),
            "hpo/n_pruned": states.get("PRUNED", 0),
            "hpo/n_failed": states.get("FAIL", 0),
            "hpo/epochs_run": summary["epochs_run"],
        }
        if best is not None:
            metrics["hpo/best_value"] = float(best.value)
        metrics.update({f"hpo/{k}": float(v) for k, v in extra.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
        tags = {"tradexp.hpo.n_trials": str(len(table))}
        if "deflated_sharpe_basis" in extra:  # which returns were deflated: one series or a universe's long-short
            tags["tradexp.hpo.deflated_sharpe_basis"] = str(extra["deflated_sharpe_basis"])
        if best is not None:
            tags.update({"tradexp.hpo.best_trial": str(best.number), "tradexp.hpo.best_run_id": str(best.user_attrs.get("mlflow_run_id", ""))})
            tags.update({f"tradexp.hpo.best.{_key(k)}": str(v) for k, v in best.params.items()})
        self.client.log_batch(
            self.run_id, metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()], tags=[RunTag(k, str(redact_record(k, v))) for k, v in tags.items()]
        )
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            table.to_csv(folder / "trials.csv", index=False)
            (folder / "study.json").write_text(json.dumps(redact_mapping(summary), indent=2, default=str))
            self.client.log_artifact(self.run_id, str(folder / "trials.csv"), "hpo")
            self.client.log_artifact(self.run_id, str(folder / "study.json"), "hpo")
            for path in save_study_plots(study, folder / "plots"):
                self.client.log_artifact(self.run_id, str(path), "plots")
        return summary


def reconcile_child_runs(study: optuna.Study, client: MlflowClient) -> int:
    """Close the child runs of trials whose worker died: Optuna says FAIL, MLflow may still say RUNNING.

    Each such run is tagged `tradexp.trial.state=FAIL` and, if still RUNNING, ended as KILLED.

    Returns:
        How many runs were ended.
    """
    ended = 0
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,)):
        run_id = trial.user_attrs.get("mlflow_run_id")
        if not run_id:
            continue
        try:
            run = client.get_run(run_id)
        except MlflowException:
            continue
        if run.data.tags.get("tradexp.trial") != str(trial.number) or run.data.tags.get(STATE_TAG) == "FAIL":
            continue
        client.set_tag(run_id, STATE_TAG, "FAIL")
        client.set_tag(run_id, "tradexp.status_reason", "worker died (no heartbeat); the trial was failed and retried")
        if run.info.status == "RUNNING":
            client.set_terminated(run_id, "KILLED")
            ended += 1
    return ended
