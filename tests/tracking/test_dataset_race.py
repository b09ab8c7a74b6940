"""Two runs logging one new MLflow dataset at the same moment (HPO trials of two machines starting
together) must both get it: MLflow looks the dataset up, then inserts it, and the loser of that race
got a unique-constraint error that failed its trial (seen in CI's two-machine PostgreSQL test)."""

import subprocess
import sys
import time

from mlflow import MlflowClient

from tests.conftest import ROOT

ROUNDS = 12

_WORKER = """
import sys, time, warnings
warnings.simplefilter("ignore")
import mlflow, pandas as pd
from mlflow import MlflowClient
from mlflow.entities import DatasetInput
from tradexp.tracking.recorder import _log_inputs
uri, experiment, start, rounds = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
client = MlflowClient(uri)
for i in range(rounds):
    run = client.create_run(experiment, tags={"round": str(i)}).info.run_id
    dataset = mlflow.data.from_pandas(pd.DataFrame({"close": [1.0, 2.0]}), source="bars.csv", name=f"bars-{i}", digest=f"{i:08d}")
    while time.time() < start + 0.25 * i:
        time.sleep(0.001)
    _log_inputs(client, run, [DatasetInput(dataset=dataset._to_mlflow_entity(), tags=[])])
"""


def test_two_runs_logging_one_new_dataset_at_once_both_record_it(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment = MlflowClient(uri).create_experiment("race")
    start = time.time() + 8  # both processes have imported mlflow by then
    command = [sys.executable, "-c", _WORKER, uri, experiment, str(start), str(ROUNDS)]
    workers = [subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [w.communicate(timeout=120)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [e[-1500:] for e in errors]
    runs = MlflowClient(uri).search_runs([experiment], max_results=100)
    assert len(runs) == 2 * ROUNDS
    for run in runs:
        assert [d.dataset.name for d in run.inputs.dataset_inputs] == [f"bars-{run.data.tags['round']}"]
