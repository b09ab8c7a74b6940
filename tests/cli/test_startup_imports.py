"""The look-back commands start without the training stack: `tradexp runs`, `config diff` and `report run
--no-log` import no torch, Lightning, matplotlib or MLflow on a sqlite store, which they read directly
(checked in a fresh process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import yaml
from mlflow import MlflowClient

from tests.conftest import ROOT

_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    HEAVY = ("torch", "lightning", "matplotlib", "torchmetrics", "optuna", "mlflow")
    def heavy():
        return sorted(name for name in HEAVY if name in sys.modules)
    seen = {}
    import tradexp.cli
    seen["import tradexp.cli"] = heavy()
    for label, words in (
        ("runs", ["runs"]),
        ("config diff", ["config", "diff", sys.argv[1], sys.argv[2]]),
        ("report run", ["report", "run", sys.argv[2], "-o", "run.html", "--no-log"]),
        ("report run, logged", ["report", "run", sys.argv[2], "-o", "run-logged.html"]),
    ):
        with contextlib.redirect_stdout(io.StringIO()):
            code = tradexp.cli.main(words)
        seen[label] = heavy() if code == 0 else f"exit code {code}"
    print(json.dumps(seen))
    """
)


def test_look_back_commands_do_not_import_the_training_stack(mlflow_uri, tmp_path):
    client = MlflowClient(mlflow_uri)
    experiment = client.create_experiment("tradexp/development/synthetic", artifact_location=(tmp_path / "mlartifacts").as_uri())
    ids = []
    for lr in (0.001, 0.01):
        run = client.create_run(experiment, tags={"tradexp.type": "training", "tradexp.model": "mlp"})
        client.log_text(run.info.run_id, yaml.safe_dump({"model": {"lr": lr}}), "config/config.yaml")
        client.log_text(run.info.run_id, "timestamp,target,pred\n2024-01-01,1,0.7\n2024-01-02,0,0.4\n2024-01-03,1,0.2\n", "predictions/test_predictions.csv")
        client.log_metric(run.info.run_id, "test/acc", 0.5)
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)

    done = subprocess.run([sys.executable, "-c", _PROBE, *ids], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {
        "import tradexp.cli": [],
        "runs": [],
        "config diff": [],
        "report run": [],  # its charts are SVG from numbers; the run's PNGs are embedded as they are
        "report run, logged": [],  # the page is copied into the run's local artifact folder
    }
