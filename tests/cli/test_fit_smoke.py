"""`tradexp fit` end to end on a real sqlite store."""

from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import override_args
from tradexp.cli import main


def test_fit_lstm_leaves_finished_run_with_config_metrics_and_checkpoint(mlflow_uri):
    code = main(["fit", "--config", str(CONFIGS / "lstm.yaml"), *override_args(TINY)])
    assert code == 0
    client = MlflowClient(mlflow_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FINISHED"
    assert run.data.params["model.net.hidden_size"] == "64"
    assert run.data.params["data.window"] == "8"
    assert "test/acc" in run.data.metrics and "val/loss" in run.data.metrics
    assert run.data.tags["tradexp.model"] == "lstm"
    paths = {a.path for a in client.list_artifacts(run.info.run_id, "config")}
    assert "config/config.yaml" in paths
    assert {a.path for a in client.list_artifacts(run.info.run_id, "checkpoints")} >= {"checkpoints/best.ckpt"}
