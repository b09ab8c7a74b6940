"""A study whose process is killed (SIGKILL) resumes with the same command: nothing finished is lost,
the dead trial is failed and retried, and nothing is left RUNNING in Optuna or MLflow."""

import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from mlflow import MlflowClient

from tests.hpo.conftest import TRIAL, study_runs, write_hpo_config
from tradexp.cli import main


def _wait_for_running_trial_with_run(storage: str, finished_before: int, process: subprocess.Popen, limit: float = 240.0):
    """Poll the study until `finished_before` trials are done and the next one has its MLflow run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            trials = optuna.load_study(study_name="killed", storage=storage).trials
        except KeyError:  # the study is not created yet
            trials = []
        done = [t for t in trials if t.state.is_finished()]
        running = [t for t in trials if t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs]
        if len(done) >= finished_before and running:
            return running[0]
        time.sleep(0.2)
    pytest.fail("the study never reached a running trial to kill")


@pytest.mark.slow
def test_study_killed_mid_way_resumes_with_the_same_command(tmp_path, mlflow_uri):
    # 40 epochs a trial: the kill lands inside the victim's fit (with 3 epochs its run could end, FINISHED, first)
    path = write_hpo_config(tmp_path, n_trials=4, heartbeat_interval=1, study_name="killed", overrides={**TRIAL, "trainer.max_epochs": 40})
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    command = ["hpo", "--config", str(path), "--no-progress"]
    process = subprocess.Popen(
        [sys.executable, "-m", "tradexp", *command], cwd=tmp_path, env={**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        victim = _wait_for_running_trial_with_run(storage, 2, process)
        before = {t.number: t.value for t in optuna.load_study(study_name="killed", storage=storage).trials if t.state.is_finished()}
        os.kill(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    client = MlflowClient(mlflow_uri)
    (parent,), _ = study_runs(client, "killed")
    assert client.get_run(victim.user_attrs["mlflow_run_id"]).info.status == "RUNNING"  # what SIGKILL leaves
    time.sleep(2.5)  # the dead trial's heartbeat (1 s) goes stale after 2 s

    assert main(command) == 0
    trials = optuna.load_study(study_name="killed", storage=storage).trials
    assert not [t.number for t in trials if not t.state.is_finished()]  # nothing RUNNING (or WAITING)
    assert {t.number: t.value for t in trials if t.number in before} == before  # every finished trial kept
    assert trials[victim.number].state.name == "FAIL"
    (retry,) = [t for t in trials if t.user_attrs.get("retry_of") == victim.number]
    assert retry.state.name == "COMPLETE" and retry.params == victim.params
    assert len(trials) == len(before) + 1 + 4  # the dead one, then four more (the first being its retry)

    (again,), children = study_runs(client, "killed")
    assert again.info.run_id == parent.info.run_id and again.info.status == "FINISHED"
    assert not [c.info.run_name for c in children if c.info.status == "RUNNING"]
    dead = client.get_run(victim.user_attrs["mlflow_run_id"])
    assert dead.info.status == "KILLED" and dead.data.tags["tradexp.trial.state"] == "FAIL"
    assert sorted(int(c.data.tags["tradexp.trial"]) for c in children) == [t.number for t in trials]
