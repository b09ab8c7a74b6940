"""Nothing lost: every metric point, batches over MLflow's limits, params and tags too long for MLflow."""

from __future__ import annotations

import math
from pathlib import Path

import lightning as L
import pytest
from mlflow import MlflowClient

from tests.reliability.conftest import artifact_paths
from tests.reliability.faults import StepModel
from tradexp.tracking.logger import TradexpLogger


@pytest.mark.parametrize("synchronous", [True, False], ids=["sync", "async"])
def test_every_step_metric_logged_before_a_clean_exit_is_in_the_store(mlflow_uri, tmp_path, synchronous):
    logger = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"), synchronous=synchronous)
    trainer = L.Trainer(max_epochs=3, logger=logger, log_every_n_steps=1, enable_progress_bar=False, enable_checkpointing=False)
    trainer.fit(StepModel())  # 64 samples / batch 8 = 8 steps per epoch

    client = MlflowClient(mlflow_uri)
    assert client.get_run(logger.run_id).info.status == "FINISHED"
    history = client.get_metric_history(logger.run_id, "train/step_loss")
    assert sorted(m.step for m in history) == list(range(24))


def test_a_batch_over_mlflows_1000_metric_limit_is_split_and_fully_stored(mlflow_uri, tmp_path):
    logger = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"))
    metrics = {f"probe/m{i:04d}": float(i) for i in range(2500)}
    logger.log_metrics(metrics, step=7)
    logger.log_hyperparams({f"p{i:03d}": i for i in range(250)})  # MLflow takes 100 params per request
    logger.finalize("success")

    run = MlflowClient(mlflow_uri).get_run(logger.run_id)
    assert run.data.metrics == metrics
    assert len(run.data.params) == 250 and run.data.params["p249"] == "249"


def test_a_10000_character_param_is_stored_in_full_as_an_artifact_and_marked(mlflow_uri, tmp_path):
    value = "".join(f"{i:05d}," for i in range(10_000 // 6 + 1))[:10_000]
    long_tag = "t" * 9000
    logger = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"))
    logger.log_hyperparams({"data": {"features": value}, "model": {"lr": 0.001}})
    logger.set_tags({"notes": long_tag})
    logger.finalize("success")

    client = MlflowClient(mlflow_uri)
    run = client.get_run(logger.run_id)
    artifact = "config/params/data.features.txt"
    assert run.data.tags["tradexp.long_param.data.features"] == artifact
    assert artifact in run.data.params["data.features"]  # the param value points to the full text
    assert run.data.params["data.features"].startswith(value[:1000])
    assert Path(client.download_artifacts(logger.run_id, artifact, str(tmp_path))).read_text() == value
    assert run.data.params["model.lr"] == "0.001"
    assert "config/tags/notes.txt" in run.data.tags["notes"]
    assert "config/tags/notes.txt" in artifact_paths(client, logger.run_id, "config")


def test_a_param_changed_on_resume_is_a_tag_not_an_mlflow_error(mlflow_uri, tmp_path):
    first = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"))
    first.log_hyperparams({"trainer": {"max_epochs": 2}, "model": {"lr": 0.001}})
    first.finalize("success")

    again = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"), run_id=first.run_id)
    again.log_hyperparams({"trainer": {"max_epochs": 4}, "model": {"lr": 0.001}})
    again.finalize("success")

    run = MlflowClient(mlflow_uri).get_run(first.run_id)
    assert run.data.params["trainer.max_epochs"] == "2"  # MLflow params are immutable: the first value stays
    assert run.data.tags["tradexp.param_changed.trainer.max_epochs"] == "2 -> 4"
    assert run.data.tags["tradexp.resumed"] == "1"
    assert run.info.status == "FINISHED"


def test_odd_metric_values_are_stored_or_skipped_never_crash(mlflow_uri, tmp_path):
    logger = TradexpLogger(experiment_name="lost", save_dir=str(tmp_path / "logs"))
    logger.log_metrics({"nan": float("nan"), "inf": float("inf"), "text": "n/a", "bad name!": 1.0}, step=0)
    logger.finalize("success")
    metrics = MlflowClient(mlflow_uri).get_run(logger.run_id).data.metrics
    assert math.isnan(metrics["nan"]) and metrics["inf"] > 1e300
    assert "text" not in metrics
    assert metrics["bad name"] == 1.0
