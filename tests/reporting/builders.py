"""Build real MLflow structures for report tests: a study (parent + trial runs, optionally backed by
a real Optuna storage) and plain runs logged with `log_batch`."""

from __future__ import annotations

import json
import math
from typing import Optional

import optuna
from mlflow import MlflowClient
from mlflow.entities import Metric, Param

from tradexp.hpo.importances import log_importances
from tradexp.tracking.store import ensure_experiment

SEARCH_SPACE = {
    "model.lr": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "model.net.hidden_size": {"type": "int", "low": 8, "high": 64},
    "model.optimizer": {"type": "categorical", "choices": ["adam", "adamw", "sgd"]},
}
EPOCHS = 5
T0 = 1_700_000_000_000  # ms


def _loss(lr: float, hidden: int, optimizer: str, epoch: int) -> float:
    """A smooth made-up validation loss: best near lr=1e-2, falls with epochs; sgd is worse."""
    return 0.5 + 0.1 * (math.log10(lr) + 2) ** 2 + 0.02 * (64 - hidden) / 56 + (0.05 if optimizer == "sgd" else 0.0) + 0.2 / (epoch + 1)


def make_study(
    client: MlflowClient, name: str = "toy-study", n_trials: int = 12, storage: Optional[str] = None, experiment: str = "tradexp/development/hpo", evil: Optional[str] = None
) -> tuple[str, optuna.Study]:
    """A real Optuna study (median pruner) mirrored into MLflow as tradexp's HPO engineer lays it out.

    `evil` (markup) goes into the trial run names, a param of every trial and the sampler setting.

    Returns the parent run id and the Optuna study.
    """
    exp_id = ensure_experiment(client, experiment, client.tracking_uri)
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize", sampler=optuna.samplers.TPESampler(seed=0), pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    )
    curves: dict[int, list[float]] = {}

    def objective(trial: optuna.Trial) -> float:
        lr = trial.suggest_float("model.lr", 1e-4, 1e-1, log=True)
        hidden = trial.suggest_int("model.net.hidden_size", 8, 64)
        opt = trial.suggest_categorical("model.optimizer", ["adam", "adamw", "sgd"])
        curves[trial.number] = []
        for epoch in range(EPOCHS):
            value = _loss(lr, hidden, opt, epoch)
            curves[trial.number].append(value)
            trial.report(value, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return min(curves[trial.number])

    study.optimize(objective, n_trials=n_trials)
    parent = client.create_run(exp_id, run_name=f"hpo_study-{name}", start_time=T0, tags={"tradexp.type": "hpo_study", "tradexp.study": name, "tradexp.model": "lstm"})
    pid = parent.info.run_id
    for trial in study.trials:
        start = T0 + 1000 + trial.number * 10_000
        values = curves[trial.number]
        child = client.create_run(
            exp_id,
            run_name=f"trial-{trial.number:03d}{evil or ''}",
            start_time=start,
            tags={"mlflow.parentRunId": pid, "tradexp.type": "hpo_trial", "tradexp.study": name, "tradexp.trial": str(trial.number), "tradexp.trial.state": trial.state.name},
        )
        params = [Param(k, str(v)) for k, v in trial.params.items()] + [Param("data.window", "8"), Param("seed_everything", "42")]
        if evil:
            params.append(Param("tracking.purpose", evil))
        metrics = []
        for epoch, value in enumerate(values):
            step = (epoch + 1) * 10
            metrics += [Metric("val/loss", value, start + epoch * 1000, step), Metric("epoch", float(epoch), start + epoch * 1000, step)]
        client.log_batch(child.info.run_id, metrics=metrics, params=params)
        client.set_terminated(child.info.run_id, "FINISHED", end_time=start + 1000 * len(values))
    settings = {
        "study_name": name,
        "storage": storage,
        "metric": "val/loss",
        "direction": "minimize",
        "sampler": evil or "TPESampler(seed=0)",
        "pruner": "MedianPruner(n_startup_trials=3, n_warmup_steps=1)",
        "n_trials": n_trials,
    }
    client.log_text(pid, json.dumps(settings, indent=2), "hpo/study.json")
    client.log_text(pid, json.dumps(SEARCH_SPACE, indent=2), "hpo/search_space.json")
    client.log_text(pid, study.trials_dataframe().to_csv(index=False), "hpo/trials.csv")
    if storage:  # as `tradexp hpo` does when a study ends (an in-memory study gets no importances file)
        log_importances(client, pid, study)
    client.log_batch(pid, metrics=[Metric("best_value", study.best_value, T0, 0), Metric("n_trials", float(n_trials), T0, 0)])
    client.set_terminated(pid, "FINISHED", end_time=T0 + 2000 + n_trials * 10_000)
    return pid, study
