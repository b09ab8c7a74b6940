"""Many processes starting runs against ONE fresh sqlite store at the same moment all succeed."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mlflow import MlflowClient

from tests.reliability.conftest import all_runs, subprocess_env, wait_until

WORKERS = 8

# Imports first (slow), then every worker waits for the same start signal and opens the store at once.
WORKER = """
import sys, time
from pathlib import Path
from tradexp.tracking.logger import TradexpLogger
worker, folder, uri = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
(folder / f"ready-{worker}").touch()
while not (folder / "go").exists():
    time.sleep(0.005)
logger = TradexpLogger(experiment_name="concurrent", tracking_uri=uri, save_dir=str(folder / f"logs-{worker}"))
logger.log_hyperparams({"worker": worker, "model": {"lr": 0.001}})
for step in range(5):
    logger.log_metrics({"train/loss": 1.0 / (step + 1), "worker": float(worker)}, step=step)
logger.finalize("success")
print(logger.run_id)
"""


@pytest.mark.slow
def test_eight_processes_start_runs_on_one_fresh_sqlite_store(fresh_store, tmp_path):
    assert not (tmp_path / "fresh.db").exists()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(worker), str(tmp_path), fresh_store], cwd=tmp_path, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for worker in range(WORKERS)
    ]
    try:
        wait_until(lambda: len(list(tmp_path.glob("ready-*"))) == WORKERS, 180, "all workers imported")
        (tmp_path / "go").touch()
        results = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    failures = [(proc.returncode, err[-2000:]) for proc, (_, err) in zip(procs, results) if proc.returncode != 0]
    assert not failures, failures

    client = MlflowClient(fresh_store)
    runs = all_runs(client)
    assert len(runs) == WORKERS
    assert {r.info.run_id for r in runs} == {out.strip().splitlines()[-1] for out, _ in results}
    assert [r.info.status for r in runs] == ["FINISHED"] * WORKERS
    assert len(client.search_experiments(filter_string="name = 'concurrent'")) == 1
    assert sorted(int(r.data.params["worker"]) for r in runs) == list(range(WORKERS))
    for run in runs:
        assert len(client.get_metric_history(run.info.run_id, "train/loss")) == 5
