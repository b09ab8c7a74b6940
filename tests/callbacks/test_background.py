"""The callbacks' background writes: joined before the run ends (no thread left), failures surface."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from lightning.pytorch.loggers import CSVLogger, MLFlowLogger
from mlflow import MlflowClient

from callbacks import DataDistribution
from tests.callbacks.conftest import all_callbacks, run_artifacts, tiny_fit


def _writer_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if "-writes" in t.name]


def test_every_figure_is_in_the_run_when_fit_and_test_return_and_no_writer_thread_is_left(tmp_path: Path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    logger = MLFlowLogger(experiment_name="background", tracking_uri=uri, artifact_location=(tmp_path / "artifacts").as_uri())
    tiny_fit(tmp_path, logger, all_callbacks(), epochs=2)
    assert _writer_threads() == []
    run = MlflowClient(uri).get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    files = set(run_artifacts(MlflowClient(uri), logger.run_id))
    expected = {"plots/feature_histograms.png", "plots/drift.png", "plots/learning_curves.png", "plots/roc.png", "predictions/test_summary.json", "data/distribution.json"}
    assert expected <= files, sorted(expected - files)
    assert "data/drift/test/psi_max" in run.data.metrics  # returned by the writer thread, logged by the trainer's


class _FailingDistribution(DataDistribution):
    def _report(self, samples):
        raise RuntimeError("boom in the writer thread")


def test_a_failure_in_the_writer_thread_is_recorded_and_training_goes_on(tmp_path: Path):
    with pytest.warns(UserWarning, match=r"_FailingDistribution.on_train_start \(background\): RuntimeError: boom in the writer thread"):
        trainer, _ = tiny_fit(tmp_path, CSVLogger(tmp_path / "logs"), [_FailingDistribution()], epochs=1, test=False)
    assert trainer.current_epoch == 1  # the fit ran to its end
    assert "boom in the writer thread" in (Path(trainer.log_dir) / "callback_errors.txt").read_text()
    assert _writer_threads() == []


def test_with_strict_a_failure_in_the_writer_thread_stops_the_fit(tmp_path: Path):
    with pytest.raises(RuntimeError, match="boom in the writer thread"):
        tiny_fit(tmp_path, CSVLogger(tmp_path / "logs"), [_FailingDistribution(strict=True)], epochs=1, test=False)
    assert _writer_threads() == []
