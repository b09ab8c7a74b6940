"""A study as users open it: the console headline, MLflow descriptions, and `tradexp ui --optuna` answering
real HTTP requests (MLflow UI and optuna-dashboard on 127.0.0.1) with the objective named after the metric."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from mlflow import MlflowClient

from tests.conftest import ROOT
from tests.hpo.conftest import study_runs, write_hpo_config
from tradexp.cli import main


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, deadline: float) -> bytes:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_study_ends_with_headline_describes_parent_and_opens_in_both_dashboards(tmp_path: Path, mlflow_uri: str, capsys):
    config = write_hpo_config(tmp_path, n_trials=2, retrain_best=True, study_name="dash")
    assert main(["hpo", "--config", str(config), "--no-progress"]) == 0
    out = capsys.readouterr().out
    client = MlflowClient(mlflow_uri)
    (parent,), children = study_runs(client, "dash")
    retrain = client.get_run(parent.data.tags["tradexp.hpo.best_retrain_run"])
    # console: the retrained best's test headline, its report and the UI command
    assert f"Headline of the retrained best (test split), run {retrain.info.run_id}" in out
    assert "Sharpe after costs" in out and "verdict" in out and "test samples" in out
    assert "report              " in out and "tradexp ui --optuna" in out
    # MLflow descriptions: the parent lists its best child; each run carries its headline and report link
    best_run = parent.data.tags["tradexp.hpo.best_run_id"]
    note = client.get_run(parent.info.run_id).data.tags["mlflow.note.content"]
    assert f"Best child: trial {parent.data.tags['tradexp.hpo.best_trial']}, val/loss = " in note and best_run in note
    assert "Headline of the retrained best" in note
    assert "report/run_report.html" in retrain.data.tags["mlflow.note.content"]
    for child in children:
        assert "of study `dash`" in child.data.tags["mlflow.note.content"]
    # optuna: the objective carries the metric's name; trials carry the child run and epochs run
    study = optuna.load_study(study_name="dash", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert study.metric_names == ["val/loss"]

    mlflow_port, optuna_port = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    command = [sys.executable, "-m", "tradexp", "ui", "--optuna", "--port", str(mlflow_port), "--optuna-port", str(optuna_port)]
    ui = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        studies = json.loads(_get(f"http://127.0.0.1:{optuna_port}/api/studies", deadline))["study_summaries"]
        (summary,) = [s for s in studies if s["study_name"] == "dash"]
        detail = json.loads(_get(f"http://127.0.0.1:{optuna_port}/api/studies/{summary['study_id']}", deadline))
        assert detail["objective_names"] == ["val/loss"]  # not "Objective 0"
        attrs = {a["key"]: a["value"] for a in detail["trials"][0]["user_attrs"]}
        assert attrs["mlflow_run_id"] in {c.info.run_id for c in children}
        assert json.loads(attrs["record"])["epochs_run"] >= 1
        search = _get(f"http://127.0.0.1:{mlflow_port}/ajax-api/2.0/mlflow/experiments/search?max_results=10", deadline)
        assert "tradexp/development/synthetic" in search.decode()
    finally:
        ui.terminate()
        text = ui.communicate(timeout=90)[0]
    assert f"optuna-dashboard on http://127.0.0.1:{optuna_port}" in text
    assert ui.returncode in (0, -15)
