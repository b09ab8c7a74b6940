"""A real `mlflow models serve` of `models:/NAME@champion` on 127.0.0.1, and a plain-process load."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from tradexp.cli import main
from tradexp.lifecycle.registry import register

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, process: subprocess.Popen, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {process.stderr.read()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError("server did not answer /ping in time")


def test_served_champion_answers_like_tradexp_predict(fitted_run, store, tmp_path):
    register(fitted_run.run_id, "spy-mlp", alias="champion", force=True, reason="serving test")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": store}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/spy-mlp@champion", "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    plain = subprocess.Popen(  # meanwhile: the bot's view, a plain Python process with no CLI and no config
        [
            sys.executable,
            "-c",
            "import mlflow, pandas as pd, sys; m = mlflow.pyfunc.load_model('models:/spy-mlp@champion'); "
            f"m.predict(pd.read_csv(r'{fitted_run.bars_csv}')).to_csv(sys.stdout, index=False)",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        bars = pd.read_csv(fitted_run.bars_csv).iloc[-300:]
        bars.to_csv(tmp_path / "new.csv", index=False)
        assert main(["predict", "--model", "models:/spy-mlp@champion", "--data", str(tmp_path / "new.csv"), "-o", str(tmp_path / "signals.csv"), "--no-record"]) == 0
        expected = pd.read_csv(tmp_path / "signals.csv", parse_dates=["timestamp"])
        _wait_ready(port, server)
        body = json.dumps({"dataframe_split": json.loads(bars.to_json(orient="split", index=False))}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            served = pd.DataFrame(json.loads(answer.read())["predictions"])
        served["timestamp"] = pd.to_datetime(served["timestamp"])
        assert list(served.columns) == ["timestamp", "pred", "position"] and len(served) == len(expected)
        assert (served["timestamp"].to_numpy() == expected["timestamp"].to_numpy()).all()
        assert np.abs(served["pred"].to_numpy() - expected["pred"].to_numpy()).max() < 1e-6
        assert (served["position"].to_numpy() == expected["position"].to_numpy()).all()
        out, err = plain.communicate(timeout=180)
        assert plain.returncode == 0, err[-2000:]
        whole = pd.read_csv(__import__("io").StringIO(out), parse_dates=["timestamp"])
        assert len(whole) > 1000 and whole["timestamp"].iloc[-1] == expected["timestamp"].iloc[-1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if plain.poll() is None:
            plain.kill()


def test_served_universe_model_answers_per_symbol(fitted_universe, universe_store, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": universe_store}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", f"runs:/{fitted_universe.run_id}/model", "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        bars = fitted_universe.bars.groupby("symbol").tail(150)
        bars.to_csv(tmp_path / "long.csv", index=False)
        assert main(["predict", "--model", fitted_universe.run_id, "--data", str(tmp_path / "long.csv"), "-o", str(tmp_path / "signals.csv"), "--no-record"]) == 0
        expected = pd.read_csv(tmp_path / "signals.csv", parse_dates=["timestamp"])
        _wait_ready(port, server)
        frame = bars.assign(timestamp=bars["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
        body = json.dumps({"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as answer:
            served = pd.DataFrame(json.loads(answer.read())["predictions"])
        served["timestamp"] = pd.to_datetime(served["timestamp"])
        assert list(served.columns) == ["symbol", "timestamp", "pred", "position"] and len(served) == len(expected) > 0
        assert (served["symbol"].to_numpy() == expected["symbol"].to_numpy()).all()
        assert np.abs(served["pred"].to_numpy() - expected["pred"].to_numpy()).max() < 1e-6
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
