"""All callbacks on a plain Trainer: where the files go, that training is untouched, how failures are handled."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from mlflow import MlflowClient

from callbacks import ArchitectureSummary, EvaluationPlots
from tests.callbacks.conftest import all_callbacks, assert_real_png, local_files, run_artifacts, tiny_fit
from tests.callbacks.tiny import ALL_FILES, TinyClassifier
from tradexp.tracking.logger import TradexpLogger


def test_plain_trainer_with_csv_logger_writes_every_file_under_log_dir(plain_cwd: Path):
    trainer, model = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), all_callbacks())
    folder = Path(trainer.log_dir)
    files = local_files(folder)
    assert set(ALL_FILES) <= files, sorted(set(ALL_FILES) - files)
    assert "callback_errors.txt" not in files
    for name in (f for f in ALL_FILES if f.endswith(".png")):
        assert_real_png((folder / name).read_bytes())
    # outside a git checkout: recorded as such, no patch
    assert json.loads((folder / "environment/git.json").read_text())["available"] is False
    assert "environment/git_diff.patch" not in files
    # numbers that must follow from the fit
    architecture = json.loads((folder / "model/architecture.json").read_text())
    assert architecture["total_params"] == sum(p.numel() for p in model.parameters()) == 24 * 16 + 16 + 16 + 1
    assert architecture["input_shape"] == [32, 6, 4]
    hparams = yaml.safe_load((folder / "hparams.yaml").read_text())
    assert hparams["model.params.total"] == architecture["total_params"]
    curves = pd.read_csv(folder / "plots/learning_curves.csv")
    assert curves["epoch"].tolist() == [0, 1]
    assert curves["lr"].tolist() == [0.02, 0.01]  # StepLR halves it every epoch
    assert {"train_loss", "val_loss", "val_acc"} <= set(curves.columns)
    predictions = pd.read_csv(folder / "predictions/test_predictions.csv")
    assert list(predictions.columns) == ["sample", "target", "pred"] and len(predictions) == 77
    assert predictions["pred"].between(0, 1).all()
    distribution = json.loads((folder / "data/distribution.json").read_text())
    assert distribution["source"].startswith("sampled batches")
    assert distribution["n_samples"] == {"train": 230, "val": 77, "test": 77}
    drift = pd.read_csv(folder / "data/drift.csv")
    assert len(drift) == 4 * 2  # 4 features x (val, test)
    shifted, unshifted = drift[drift["split"] == "test"]["psi"], drift[drift["split"] == "val"]["psi"]
    assert shifted.min() > 0.25 > unshifted.max()  # the test split was shifted by 0.7 sd, val not
    metrics = pd.read_csv(folder / "metrics.csv")
    assert "data/drift/test/psi_max" in metrics.columns


def test_plain_trainer_with_mlflow_logger_puts_every_file_in_the_run(mlflow_uri: str, tmp_path: Path):
    logger = MLFlowLogger(experiment_name="plain", tracking_uri=mlflow_uri, save_dir=str(tmp_path / "mlruns"))
    tiny_fit(tmp_path, logger, all_callbacks())
    client = MlflowClient(mlflow_uri)
    run = client.get_run(logger.run_id)
    artifacts = run_artifacts(client, logger.run_id)
    assert set(ALL_FILES) <= set(artifacts), sorted(set(ALL_FILES) - set(artifacts))
    assert len(artifacts) == len(set(artifacts))
    assert run.info.status == "FINISHED"
    assert "tradexp.callback_errors" not in run.data.tags
    assert int(run.data.params["model.params.total"]) == 24 * 16 + 16 + 16 + 1
    assert run.data.metrics["data/drift/test/psi_max"] > 0.25
    assert not (tmp_path / "lightning_logs").exists()  # nothing written beside the run
    local = Path(client.download_artifacts(logger.run_id, "plots/roc.png", str(tmp_path / "download")))
    assert_real_png(local.read_bytes())


def test_callbacks_leave_the_training_itself_unchanged(plain_cwd: Path):
    _, bare = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "a"), [], test=False)
    _, reported = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "b"), all_callbacks(), test=False)
    for (name, a), (_, b) in zip(bare.state_dict().items(), reported.state_dict().items()):
        assert torch.equal(a, b), name


def test_failing_callback_leaves_a_finished_run_with_the_error_recorded(mlflow_uri: str, tmp_path: Path):
    logger = TradexpLogger(experiment_name="failing", save_dir=str(tmp_path / "logs"))
    broken = ArchitectureSummary(input_shape=[2, 3])  # the model needs (B, 6, 4): torchinfo's forward fails
    with pytest.warns(UserWarning, match=r"ArchitectureSummary\.on_train_start: RuntimeError: Failed to run torchinfo"):
        trainer, _ = tiny_fit(tmp_path, logger, [broken, EvaluationPlots()])
    assert trainer.current_epoch == 2  # training went on
    client = MlflowClient(mlflow_uri)
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.tags["tradexp.callback_errors"].startswith("ArchitectureSummary.on_train_start: RuntimeError: Failed to run torchinfo")
    artifacts = set(run_artifacts(client, logger.run_id))
    assert "plots/roc.png" in artifacts and "model/summary.txt" not in artifacts


def test_failing_callback_records_the_error_in_a_file_without_mlflow(plain_cwd: Path):
    with pytest.warns(UserWarning, match="ArchitectureSummary.on_train_start"):
        trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [ArchitectureSummary(input_shape=[2, 3])], test=False)
    text = (Path(trainer.log_dir) / "callback_errors.txt").read_text()
    assert text.startswith("ArchitectureSummary.on_train_start: RuntimeError")


def test_strict_callback_raises_and_the_run_is_failed(mlflow_uri: str, tmp_path: Path):
    logger = TradexpLogger(experiment_name="strict", save_dir=str(tmp_path / "logs"))
    with pytest.raises(RuntimeError, match="Failed to run torchinfo"):
        tiny_fit(tmp_path, logger, [ArchitectureSummary(input_shape=[2, 3], strict=True)])
    assert MlflowClient(mlflow_uri).get_run(logger.run_id).info.status == "FAILED"


def test_strict_must_be_a_bool():
    with pytest.raises(TypeError, match=r"`strict` must be a bool, got 'yes' \(str\)"):
        EvaluationPlots(strict="yes")


def test_evaluation_falls_back_to_running_the_model_when_steps_return_nothing(plain_cwd: Path):
    trainer, _ = tiny_fit(plain_cwd, CSVLogger(plain_cwd / "logs"), [EvaluationPlots()], model=TinyClassifier(return_outputs=False))
    summary = json.loads((Path(trainer.log_dir) / "predictions/test_summary.json").read_text())
    assert summary["source"] == "model run on the loader"
    assert summary["n"] == 77 and summary["task"] == "classification"
    assert summary["note"] == "preds outside [0, 1] were read as logits (sigmoid applied)"
    assert summary["auc"] > 0.75  # the label is learnable from the last bar
