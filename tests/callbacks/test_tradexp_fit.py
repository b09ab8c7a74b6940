"""The callbacks inside `tradexp fit`: on by default, every artifact in the run, switchable in YAML, DDP-safe."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from tests.callbacks.conftest import assert_real_png, run_artifacts
from tests.callbacks.tiny import ALL_FILES
from callbacks._run_output import RunOutput
from tests.conftest import CONFIGS, ROOT, TINY
from tradexp.api import override_args
from tradexp.cli import main

REGRESSION_FILES = [f for f in ALL_FILES if f not in {"plots/roc.png", "plots/pr.png", "plots/confusion_matrix.png", "plots/calibration.png", "plots/probability_hist.png"}]
REGRESSION_FILES += ["plots/pred_vs_actual.png", "plots/residuals.png"]


def _only_run(uri: str):
    client = MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return client, run


@pytest.mark.parametrize(
    ("config", "extra"),
    [
        ("lstm", {}),
        pytest.param("mlp", {"data.task": "regression"}, marks=pytest.mark.slow),
        pytest.param("gru", {}, marks=pytest.mark.slow),
        pytest.param("cnn_lstm", {}, marks=pytest.mark.slow),
    ],
)
def test_tradexp_fit_leaves_every_callback_artifact(mlflow_uri: str, config: str, extra: dict):
    assert main(["fit", "--config", str(CONFIGS / f"{config}.yaml"), *override_args({**TINY, **extra})]) == 0
    client, run = _only_run(mlflow_uri)
    artifacts = run_artifacts(client, run.info.run_id)
    expected = REGRESSION_FILES if extra.get("data.task") == "regression" else ALL_FILES
    assert set(expected) <= set(artifacts), sorted(set(expected) - set(artifacts))
    assert run.info.status == "FINISHED" and "tradexp.callback_errors" not in run.data.tags
    folder = Path(client.download_artifacts(run.info.run_id, "", "download"))
    for name in (f for f in expected if f.endswith(".png")):
        assert_real_png((folder / name).read_bytes())
    # the test predictions line up with the test split's timestamps (time order, one row per sample)
    splits = json.loads((folder / "data/splits.json").read_text())
    predictions = pd.read_csv(folder / "predictions/test_predictions.csv", parse_dates=["timestamp"])
    assert list(predictions.columns) == ["timestamp", "target", "pred", "forward_return"]
    assert len(predictions) == splits["samples"]["test"]
    assert predictions["timestamp"].iloc[0] == pd.Timestamp(splits["boundaries"]["test_start"])
    assert predictions["timestamp"].iloc[-1] == pd.Timestamp(splits["boundaries"]["test_end"])
    assert predictions["timestamp"].is_monotonic_increasing
    distribution = json.loads((folder / "data/distribution.json").read_text())
    assert distribution["source"] == "describe()" and "rsi_14" in distribution["feature_names"]
    assert distribution["scaler"] is not None and distribution["n_samples"]["test"] == splits["samples"]["test"]
    assert int(run.data.params["model.params.total"]) > 0
    assert f"data/drift/test/psi/{distribution['feature_names'][0]}" in run.data.metrics


def test_a_yaml_callback_list_switches_the_others_off(mlflow_uri: str):
    only_curves = [{"class_path": "callbacks.LearningCurves", "init_args": {"every_n_epochs": 1}}]
    assert main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args({**TINY, "trainer.callbacks": only_curves})]) == 0
    client, run = _only_run(mlflow_uri)
    artifacts = set(run_artifacts(client, run.info.run_id))
    assert "plots/learning_curves.png" in artifacts
    assert not artifacts & {"model/summary.txt", "environment/environment.json", "data/drift.csv", "plots/roc.png"}


def _count_writes(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Count each figure, text file and training report the run's callbacks write (the real writes still happen)."""
    writes: Counter = Counter()
    for name in ("write_figure", "write_text"):
        original = getattr(RunOutput, name)

        def counted(self, value, artifact_file, *args, _original=original, **kwargs):
            writes[artifact_file] += 1
            return _original(self, value, artifact_file, *args, **kwargs)

        monkeypatch.setattr(RunOutput, name, counted)
    publish = importlib.import_module("tradexp.reporting.publish")  # the module (the package exports a `publish` function)
    original_report = publish.run_report

    def counted_report(*args, **kwargs):
        writes["report/run_report.html"] += 1
        return original_report(*args, **kwargs)

    monkeypatch.setattr(publish, "run_report", counted_report)
    return writes


@pytest.mark.parametrize("test_after_fit", [True, False])
def test_tradexp_fit_draws_each_plot_and_writes_the_report_once(mlflow_uri: str, monkeypatch: pytest.MonkeyPatch, test_after_fit: bool):
    """With a test after the fit, the validation plots and the fit-end report (which the test would
    redo) are skipped; without one they are the run's plots and report."""
    writes = _count_writes(monkeypatch)
    overrides = {**TINY, "tracking.test_after_fit": test_after_fit, "tracking.log_model": False}
    assert main(["fit", "--config", str(CONFIGS / "lstm.yaml"), *override_args(overrides)]) == 0
    client, run = _only_run(mlflow_uri)
    split = "test" if test_after_fit else "val"
    expected = [f.replace("predictions/test_", f"predictions/{split}_") for f in ALL_FILES] + ["report/run_report.html"]
    assert set(expected) <= set(run_artifacts(client, run.info.run_id)), sorted(set(expected) - set(run_artifacts(client, run.info.run_id)))
    assert {name: n for name, n in writes.items() if n > 1} == {}
    assert writes["plots/roc.png"] == writes["report/run_report.html"] == 1
    assert not any(name.startswith("predictions/" + ("val" if test_after_fit else "test")) for name in writes)
    assert run.info.status == "FINISHED" and "tradexp.callback_errors" not in run.data.tags


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ddp_two_processes_make_one_run_with_one_copy_of_each_artifact(mlflow_uri: str, tmp_path: Path):
    command = [
        sys.executable,
        "-m",
        "tradexp",
        "fit",
        "--config",
        str(CONFIGS / "mlp.yaml"),
        *override_args(TINY),
        "--trainer.strategy=ddp",
        "--trainer.devices=2",
        "--trainer.accelerator=cpu",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": mlflow_uri}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=540)
    assert done.returncode == 0, done.stderr[-3000:]
    client, run = _only_run(mlflow_uri)
    artifacts = run_artifacts(client, run.info.run_id)
    assert set(ALL_FILES) <= set(artifacts), sorted(set(ALL_FILES) - set(artifacts))
    assert len(artifacts) == len(set(artifacts))
    assert run.info.status == "FINISHED" and "tradexp.callback_errors" not in run.data.tags
    on_disk = [p for p in tmp_path.rglob("*") if p.name in {"roc.png", "summary.txt", "environment.json", "drift.csv"}]
    assert sorted(p.name for p in on_disk) == ["drift.csv", "environment.json", "roc.png", "summary.txt"]  # one copy each, in the store
    environment = json.loads(Path(client.download_artifacts(run.info.run_id, "environment/environment.json", str(tmp_path / "dl"))).read_text())
    assert environment["trainer"]["world_size"] == 2 and environment["trainer"]["strategy"] == "DDPStrategy"
