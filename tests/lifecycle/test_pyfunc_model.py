"""The model every fit logs: parity with the run's test predictions, causality, no pickle, clear errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import torch
from mlflow import MlflowClient

from tradexp.errors import DataValidationError
from tradexp.lifecycle.predict import load_signal_model


def test_logged_model_reproduces_the_run_test_predictions(fitted_run, store):
    client = MlflowClient(store)
    model = load_signal_model(f"runs:/{fitted_run.run_id}/model", store)
    signals = model.predict(pd.read_csv(fitted_run.bars_csv))  # a different shape than training: Date/Open/...
    assert os.environ["MLFLOW_TRACKING_URI"] == store  # loading from a store leaves the caller's settings as they were
    assert list(signals.columns) == ["timestamp", "pred", "position"]
    logged = pd.read_csv(client.download_artifacts(fitted_run.run_id, "predictions/test_predictions.csv", "."), parse_dates=["timestamp"])
    joined = logged.merge(signals, on="timestamp", suffixes=("_run", "_model"))
    assert len(joined) == len(logged) > 100
    assert np.abs(joined["pred_run"] - joined["pred_model"]).max() < 1e-6
    assert set(signals["position"].unique()) <= {-1.0, 0.0, 1.0}


def test_appending_later_bars_never_changes_an_earlier_row(fitted_run, store):
    model = load_signal_model(f"runs:/{fitted_run.run_id}/model", store)
    bars = fitted_run.bars.reset_index()
    short, longer = model.predict(bars.iloc[:700]), model.predict(bars.iloc[:900])
    head = longer.iloc[: len(short)].reset_index(drop=True)
    pd.testing.assert_frame_equal(short.reset_index(drop=True), head, check_exact=True)


def test_too_few_bars_names_how_many_are_needed(fitted_run, store):
    model = load_signal_model(f"runs:/{fitted_run.run_id}/model", store)
    with pytest.raises(DataValidationError, match=r"needs at least \d+ bars \(\d+ warm-up bars of the features \+ window 8\); got 20"):
        model.predict(fitted_run.bars.reset_index().iloc[:20])


def test_model_folder_holds_no_pickle_and_loads_weights_only(fitted_run, store):
    client = MlflowClient(store)
    (logged,) = [m for m in client.search_logged_models([client.get_run(fitted_run.run_id).info.experiment_id]) if m.source_run_id == fitted_run.run_id]
    folder = Path(mlflow.artifacts.download_artifacts(f"models:/{logged.model_id}", dst_path="model", tracking_uri=store))
    names = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert {"MLmodel", "model_code.py", "requirements.txt", "input_example.json", "artifacts/weights.pt", "artifacts/pipeline.json"} <= names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".cloudpickle"))]
    mlmodel = (folder / "MLmodel").read_text()
    assert "python_model.pkl" not in mlmodel and "loader_module: mlflow.pyfunc.loaders.code_model" in mlmodel
    state = torch.load(folder / "artifacts/weights.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    spec = json.loads((folder / "artifacts/pipeline.json").read_text())["pipeline"]
    assert spec["window"] == 8 and spec["task"] == "classification" and spec["net"]["name"] == "mlp"
    assert spec["trading"] == {"cost_bps": 1.0, "no_trade_band": 0.0, "long_only": False, "in_band": "flat"}
    assert len(spec["scaler"]["center"]) == len(spec["features"])
    requirements = (folder / "requirements.txt").read_text()
    assert f"torch=={torch.__version__.split('+')[0]}" in requirements and f"mlflow=={mlflow.__version__}" in requirements
    example = pd.read_json(folder / "input_example.json", orient="split")
    assert {"timestamp", "open", "close", "volume"} <= set(example.columns) and len(example) >= spec["window"]
    # linked to the run and to its test metrics
    assert logged.status.name == "READY" or str(logged.status).endswith("READY")
    assert any(m.key == "test/loss" for m in logged.metrics)


def test_a_bars_score_does_not_depend_on_where_the_passes_split(fitted_run, store):
    model = load_signal_model(f"runs:/{fitted_run.run_id}/model", store)
    pipeline = model.unwrap_python_model().pipeline
    assert pipeline.windows_per_pass == 2048  # an MLP's passes, fixed when it was logged
    bars = fitted_run.bars.reset_index()
    whole = model.predict(bars)
    pipeline.windows_per_pass = 64  # many passes, the last zero-padded, at other boundaries for each request
    short, longer = model.predict(bars.iloc[:700]), model.predict(bars.iloc[:900])
    pd.testing.assert_frame_equal(short.reset_index(drop=True), longer.iloc[: len(short)].reset_index(drop=True), check_exact=True)
    assert np.abs(longer["pred"].to_numpy() - whole["pred"].to_numpy()[: len(longer)]).max() < 1e-6


def test_windows_per_pass_follows_the_net_and_a_model_logged_without_it_keeps_256():
    from tradexp.lifecycle.pipeline import BarPipeline, windows_per_pass

    assert windows_per_pass("mlp", 16, 9) == 2048
    assert windows_per_pass("mlp", 128, 32) == 1024  # the 16 MiB buffer cap
    assert windows_per_pass("mlp", 4096, 64) == 256
    assert windows_per_pass("lstm", 16, 9) == windows_per_pass("cnn_lstm", 16, 9) == 256
    older = {"net": {"name": "mlp", "init_args": {}}, "features": ["log_return_1"], "window": 8, "horizon": 1, "task": "classification", "scaler": {}}
    assert BarPipeline.from_dict(older).windows_per_pass == 256
