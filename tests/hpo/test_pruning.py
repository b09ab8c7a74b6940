"""Pruning on real fits: a pruned trial is PRUNED in Optuna and a FINISHED MLflow run tagged PRUNED;
a metric the model never logs stops the study with the list of metrics that exist."""

import optuna
from mlflow import MlflowClient

from tests.hpo.conftest import study_runs, write_hpo_config
from tradexp.cli import main
from tradexp.hpo.objective import StudyContext, TrialObjective
from tradexp.hpo.settings import load_settings
from tradexp.tracking.store import ensure_experiment, open_store


def test_pruned_trial_is_pruned_in_optuna_and_its_child_run_finished_not_failed(tmp_path, mlflow_uri):
    settings = load_settings(write_hpo_config(tmp_path))
    client = open_store(mlflow_uri)
    experiment = "hpo-pruning-test"
    parent = client.create_run(ensure_experiment(client, experiment, mlflow_uri)).info.run_id
    context = StudyContext(settings=settings, experiment=experiment, parent_run_id=parent, tracking_uri=mlflow_uri)
    # val/loss (~0.69) is always above 0.1: the pruner stops every trial after its first epoch.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=0.1))
    study.optimize(TrialObjective(context), n_trials=1)

    (trial,) = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED
    record = trial.user_attrs["record"]
    assert record["epochs_run"] == 1 and record["pruned_epoch"] == 0
    assert 0 < record["train_seconds"] and record["overhead_seconds"] >= 0
    run = MlflowClient(mlflow_uri).get_run(trial.user_attrs["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.tags["tradexp.trial.state"] == "PRUNED"
    assert run.data.tags["mlflow.parentRunId"] == parent
    assert run.data.tags["tradexp.type"] == "hpo_trial" and run.data.tags["tradexp.trial"] == "0"
    assert "val/loss" in run.data.metrics and "test/loss" not in run.data.metrics  # the test split is never touched
    # The study never loads a pruned trial's weights: no checkpoint kept, local or stored.
    assert not list(tmp_path.glob(f"lightning_logs/*/{run.info.run_id}/**/*.ckpt"))
    assert MlflowClient(mlflow_uri).list_artifacts(run.info.run_id, "checkpoints") == []
    assert "tradexp.checkpoint.last" not in run.data.tags


def test_a_metric_no_classification_run_logs_stops_before_any_trial(tmp_path, mlflow_uri, capsys):
    path = write_hpo_config(tmp_path, metric="val/sharpness")
    assert main(["hpo", "--config", str(path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "the study cannot run" in err and "'val/sharpness' received" in err and "val/loss" in err
    assert study_runs(MlflowClient(mlflow_uri), "tiny") == ([], [])


def test_a_metric_the_model_never_logs_stops_the_study_listing_the_metrics_that_exist(tmp_path, mlflow_uri, capsys):
    path = write_hpo_config(tmp_path, metric="val/trading/sharpness", direction="maximize", n_trials=3)
    code = main(["hpo", "--config", str(path), "--no-progress"])
    assert code == 2
    err = capsys.readouterr().err
    assert "the study's `metric` 'val/trading/sharpness' is not logged by the model; metrics that exist: [" in err
    assert "'val/loss'" in err and "'val/trading/sharpe'" in err and "Traceback" not in err
    parents, children = study_runs(MlflowClient(mlflow_uri), "tiny")
    assert len(parents) == 1 and parents[0].info.status == "FAILED"
    assert len(children) == 1  # stopped at the first trial, not after three
    assert children[0].data.tags["tradexp.trial.state"] == "FAIL"
