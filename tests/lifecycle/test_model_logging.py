"""`tradexp fit` logs the model by default; `--tracking.log_model false` switches it off; a failure is contained."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import override_args
from tradexp.cli import main


def _only_run(uri: str):
    client = MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return client, run


def test_a_failure_to_log_the_model_keeps_the_training_result(mlflow_uri: str, tmp_path: Path):
    # The experiment's model folder is a file: MLflow cannot write the model there (a real failure).
    blocked = tmp_path / "mlartifacts" / "tradexp_development_synthetic" / "models"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    with pytest.warns(UserWarning, match="LogTradexpModel.on_test_end"):
        assert main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY)]) == 0
    client, run = _only_run(mlflow_uri)
    assert run.info.status == "FINISHED" and "test/trading/sharpe" in run.data.metrics
    assert "LogTradexpModel.on_test_end" in run.data.tags["tradexp.callback_errors"]
    assert [m.status.name for m in client.search_logged_models([run.info.experiment_id])] in ([], ["FAILED"])
    assert client.list_artifacts(run.info.run_id, "report")  # the report callback after it still ran


@pytest.mark.slow
def test_log_model_false_logs_no_model(mlflow_uri: str):
    assert main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args({**TINY, "tracking.log_model": False})]) == 0
    client, run = _only_run(mlflow_uri)
    assert run.info.status == "FINISHED" and run.data.params["tracking.log_model"] == "False"
    assert client.search_logged_models([run.info.experiment_id]) == []
