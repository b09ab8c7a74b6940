"""`tradexp hpo` end to end on real stores: parent and nested child runs, pruning, resume, workers, retrain."""

import json
import os

import numpy as np
import optuna
import pytest
from mlflow import MlflowClient

from tests.hpo.conftest import HPO_CONFIGS, TRIAL, study_runs, write_hpo_config
from tradexp.api import override_args
from tradexp.cli import main
from tradexp.hpo import run_study
from tradexp.hpo.importances import study_importances


def _deflated_sharpe(trials, best_number: int) -> float:
    """Bailey & Lopez de Prado's deflated Sharpe of the best trial, from the trials' stored records."""
    from scipy.stats import norm

    records = [t.user_attrs["record"] for t in trials if t.state.name in ("COMPLETE", "PRUNED")]
    sharpes = np.array([r["val_sharpe"] for r in records], dtype="float64")
    best = next(t for t in trials if t.number == best_number).user_attrs["record"]
    gamma = 0.5772156649015329
    n = len(sharpes)
    benchmark = sharpes.std(ddof=1) * ((1 - gamma) * norm.ppf(1 - 1 / n) + gamma * norm.ppf(1 - 1 / (n * np.e)))
    sr, t_obs = best["val_sharpe"], best["val_sharpe_n_obs"]
    variance = 1 - best["val_sharpe_skew"] * sr + (best["val_sharpe_kurtosis"] - 1) / 4 * sr**2
    return float(norm.cdf((sr - benchmark) * np.sqrt(t_obs - 1) / np.sqrt(variance)))


def _trials(tmp_path, name):
    return optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials


def test_mlp_study_leaves_parent_with_nested_trials_and_the_same_command_continues_it(tmp_path, mlflow_uri, capsys):
    command = ["hpo", "--config", str(HPO_CONFIGS / "mlp.yaml"), "--n_trials", "8", "--no-progress", *override_args(TRIAL)]
    assert main(command) == 0
    out = capsys.readouterr().out
    client = MlflowClient(mlflow_uri)
    (parent,), children = study_runs(client, "hpo-mlp")
    assert len(children) == 8
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert sorted(int(c.data.tags["tradexp.trial"]) for c in children) == list(range(8))
    states = [c.data.tags["tradexp.trial.state"] for c in children]
    assert "PRUNED" in states and "FAIL" not in states
    assert {c.info.status for c in children} == {"FINISHED"}  # pruned trials are not FAILED runs
    assert parent.info.status == "FINISHED" and parent.data.metrics["hpo/n_trials"] == 8
    assert parent.data.metrics["hpo/n_pruned"] == states.count("PRUNED")
    plots = {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    assert {"plots/optimization_history.png", "plots/intermediate_values.png", "plots/param_importances.png", "plots/parallel_coordinate.png", "plots/slice.png"} <= plots
    hpo = {a.path for a in client.list_artifacts(parent.info.run_id, "hpo")}
    assert hpo == {"hpo/trials.csv", "hpo/study.json", "hpo/search_space.json", "hpo/importances.json"}
    stored = json.loads(client.download_artifacts(parent.info.run_id, "hpo/importances.json", str(tmp_path)) and (tmp_path / "importances.json").read_text())
    assert stored["importances"] == study_importances(optuna.load_study(study_name="hpo-mlp", storage=f"sqlite:///{tmp_path / 'optuna.db'}"))["importances"]
    best = min((t for t in _trials(tmp_path, "hpo-mlp") if t.state.name == "COMPLETE"), key=lambda t: t.value)
    assert f"Best trial {best.number}: val/loss = {best.value:.6g}" in out
    assert "Study 'hpo-mlp': 8 trials tried in total" in out
    assert parent.data.tags["tradexp.hpo.best_run_id"] == best.user_attrs["mlflow_run_id"]

    assert main(command) == 0  # the same command again: more trials, same study, same parent run
    (again,), children = study_runs(client, "hpo-mlp")
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert sorted(int(c.data.tags["tradexp.trial"]) for c in children) == list(range(16))
    assert again.data.metrics["hpo/n_trials"] == 16
    assert len(_trials(tmp_path, "hpo-mlp")) == 16
    assert "16 trials tried in total" in capsys.readouterr().out


@pytest.mark.slow
def test_two_workers_complete_every_trial_once_and_share_them_by_who_is_free(tmp_path, mlflow_uri):
    path = write_hpo_config(tmp_path, n_trials=6, workers=2, study_name="two-workers")
    result = run_study(path)
    trials = _trials(tmp_path, "two-workers")
    assert [t.number for t in trials] == list(range(6))
    assert {t.state.name for t in trials} == {"COMPLETE"}
    assert len({t.user_attrs["mlflow_run_id"] for t in trials}) == 6
    (parent,), children = study_runs(MlflowClient(mlflow_uri), "two-workers")
    assert parent.info.run_id == result.parent_run_id and result.n_trials == 6
    assert sorted(int(c.data.tags["tradexp.trial"]) for c in children) == list(range(6))
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 6  # workers sample apart
    # This process starts trials at once while the spawned worker still imports torch (seconds): it
    # takes more than a fixed half of the trials, which left it idle while the other caught up.
    here = sum(t.user_attrs["record"]["worker"].endswith(f":{os.getpid()}") for t in trials)
    assert here > 3, [t.user_attrs["record"]["worker"] for t in trials]


@pytest.mark.slow
def test_retrain_best_tests_it_as_its_own_run_beside_its_validation_score(tmp_path, mlflow_uri):
    path = write_hpo_config(tmp_path, n_trials=3, retrain_best=True, study_name="retrain")
    result = run_study(path)
    client = MlflowClient(mlflow_uri)
    retrain = client.get_run(result.retrain_run_id)
    tags = retrain.data.tags
    assert tags["tradexp.type"] == "training" and tags["tradexp.purpose"] == "best-of-study"
    assert tags["tradexp.study"] == "retrain" and tags["tradexp.study.best_trial"] == str(result.best_trial.number)
    assert "mlflow.parentRunId" not in tags  # linked to the study, not one of its trials
    assert retrain.data.metrics["test/loss"] == pytest.approx(result.test_value)
    parent = client.get_run(result.parent_run_id)
    assert parent.data.metrics["hpo/best_test_value"] == pytest.approx(result.test_value)
    assert parent.data.metrics["hpo/best_value"] == pytest.approx(result.best_value)
    assert parent.data.metrics["hpo/deflated_sharpe"] == pytest.approx(_deflated_sharpe(_trials(tmp_path, "retrain"), result.best_trial.number), rel=1e-6)
    assert parent.data.metrics["hpo/deflated_sharpe"] == pytest.approx(result.deflated_sharpe)
    # the retrain reproduces the best trial's validation curve (same seed, same config)
    history = client.get_metric_history(result.retrain_run_id, "val/loss")
    assert min(m.value for m in history) == pytest.approx(result.best_value, rel=1e-4)
