"""Tracking-server faults against a real `mlflow server` on 127.0.0.1 that the tests start and kill."""

from __future__ import annotations

import json
import re
import socket
import time

import pytest
from mlflow import MlflowClient

from tests.reliability.conftest import LONG_FIT, NO_REPORTING, TRACEBACK, MlflowServer, finish, first_run_with_metric, free_port, output, spawn, wait_until
from tradexp.cli import main
from tradexp.errors import TrackingError
from tradexp.tracking.logger import TradexpLogger


def test_unreachable_server_at_start_is_one_line_naming_the_uri_before_training(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    uri = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    code = main(["fit", *LONG_FIT, *NO_REPORTING, f"--tracking.tracking_uri={uri}"])
    elapsed = time.monotonic() - started
    stdout, stderr = capfd.readouterr()

    assert code == 2
    assert elapsed < 30, f"took {elapsed:.1f} s"
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, stderr
    assert errors[0].startswith(f"tradexp: error: cannot reach the MLflow tracking server at {uri} ")
    assert TRACEBACK not in stdout + stderr
    assert "Epoch" not in stdout + stderr and not list(tmp_path.glob("lightning_logs/**/*.ckpt"))  # no training


def test_a_server_that_accepts_but_never_answers_fails_within_the_probe_timeout(mlflow_uri):
    with socket.socket() as hung:  # the kernel completes the TCP handshake; nobody ever replies
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        uri = f"http://127.0.0.1:{hung.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(TrackingError, match=f"cannot reach the MLflow tracking server at {re.escape(uri)} .*timed out"):
            TradexpLogger(experiment_name="hung", tracking_uri=uri, server_timeout=2)
        assert time.monotonic() - started < 30


@pytest.mark.slow
def test_server_dying_mid_run_spools_the_rest_and_tradexp_sync_replays_it(tmp_path, monkeypatch, mlflow_server):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    # The default callbacks (plots, trading evaluation, report) too: they also talk to the dead server.
    args = ["fit", *LONG_FIT, "--trainer.max_epochs=20", "--tracking.test_after_fit=true", f"--tracking.tracking_uri={mlflow_server.uri}", "--tracking.heartbeat_interval=2"]
    proc = spawn(args, tmp_path)
    client = MlflowClient(mlflow_server.uri)
    try:
        run = wait_until(lambda: first_run_with_metric(client, "val/loss"), 120, "a validation epoch on the server", proc)
        run_id = run.info.run_id
        mlflow_server.stop()
        killed_at = time.monotonic()
        code = finish(proc, 150)
    finally:
        if proc.poll() is None:
            proc.kill()
    took = time.monotonic() - killed_at
    stdout, stderr = output(tmp_path)
    assert took < 120, f"the fit took {took:.0f} s to end after the server died"
    assert code == 0, stderr[-4000:]  # training succeeded; callbacks that could not write warned and went on
    assert f"NOT complete on {mlflow_server.uri}" in stdout

    # The server's own store: the run is not FINISHED (it would be a lie: data is missing there).
    backend = MlflowClient(f"sqlite:///{mlflow_server.root / 'server.db'}")
    assert backend.get_run(run_id).info.status == "RUNNING"
    on_server = len(backend.get_metric_history(run_id, "val/loss"))

    spool = tmp_path / "lightning_logs" / "spool" / f"{run_id}.jsonl"
    assert spool.is_file()
    assert f"tradexp sync {spool}" in stderr or f"tradexp sync lightning_logs/spool/{run_id}.jsonl" in stderr, stderr[-3000:]
    records = [json.loads(line) for line in spool.read_text().splitlines()]
    spooled = [m for r in records if r["op"] == "log_batch" for m in r["metrics"] if m[0] == "val/loss"]
    assert spooled, "the metrics after the outage are in the spool"
    assert records[-1]["op"] == "set_terminated" and records[-1]["status"] == "FINISHED"

    # Server back on the same backend: `tradexp sync` replays the spool and ends the run honestly.
    server = MlflowServer(mlflow_server.root, mlflow_server.port).start()
    try:
        assert main(["sync", str(spool)]) == 0
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        history = client.get_metric_history(run_id, "val/loss")
        assert len(history) == on_server + len(spooled) == 20
        assert {"checkpoints/best.ckpt", "checkpoints/last.ckpt"} <= {a.path for a in client.list_artifacts(run_id, "checkpoints")}
        assert not spool.exists() and not spool.with_suffix(".files").exists()
    finally:
        server.stop()
