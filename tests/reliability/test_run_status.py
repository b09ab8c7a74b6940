"""Honest run status: an exception is FAILED, Ctrl-C/SIGTERM KILLED (with a last checkpoint), SIGKILL reaped."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import lightning as L
import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tests.reliability.conftest import LONG_FIT, NO_REPORTING, TRACEBACK, artifact_paths, finish, first_run_with_metric, output, spawn, the_run, wait_until
from tests.reliability.test_resume import assert_steps_never_decrease
from tests.reliability.faults import FAULT_MESSAGE, StepModel
from tradexp.api import override_args
from tradexp.cli import main
from tradexp.tracking.heartbeat import HEARTBEAT_TAG
from tradexp.tracking.logger import TradexpLogger
from tradexp.tracking.reaper import HOST_TAG, PID_TAG, find_stale_runs, process_tags, reap_stale_runs


def test_exception_in_training_step_on_a_plain_trainer_is_failed_with_the_error(mlflow_uri, tmp_path):
    logger = TradexpLogger(experiment_name="faults", save_dir=str(tmp_path / "logs"))
    trainer = L.Trainer(max_epochs=3, logger=logger, log_every_n_steps=1, enable_progress_bar=False, enable_checkpointing=False)
    with pytest.raises(RuntimeError, match=FAULT_MESSAGE):
        trainer.fit(StepModel(fail_at=3))

    run = MlflowClient(mlflow_uri).get_run(logger.run_id)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None and run.info.end_time >= run.info.start_time
    assert run.data.tags["tradexp.error"].startswith(f"RuntimeError: {FAULT_MESSAGE} 3")
    assert run.data.tags["tradexp.status_reason"] == "RuntimeError"
    steps = [m.step for m in MlflowClient(mlflow_uri).get_metric_history(logger.run_id, "train/step_loss")]
    assert steps == [0, 1, 2]  # everything logged before the fault is kept


def test_exception_in_training_step_via_the_cli_is_failed_with_a_last_checkpoint(mlflow_uri):
    args = ["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), *NO_REPORTING]
    args += ["--model.net.class_path=tests.reliability.faults.FailingNet", "--model.net.init_args.fail_at=5"]
    with pytest.raises(RuntimeError, match=FAULT_MESSAGE):  # a bug, not bad input: the traceback is the useful answer
        main(args)

    client = MlflowClient(mlflow_uri)
    run = the_run(client)
    assert run.info.status == "FAILED"
    assert run.info.end_time is not None
    assert FAULT_MESSAGE in run.data.tags["tradexp.error"]
    assert "checkpoints/last.ckpt" in artifact_paths(client, run.info.run_id, "checkpoints")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "synchronous", "exit_code"), [(signal.SIGINT, "true", 1), (signal.SIGTERM, "false", 143)], ids=["sigint-sync", "sigterm-async"])
def test_signal_marks_the_run_killed_with_metrics_and_a_last_checkpoint(mlflow_uri, tmp_path, signum, synchronous, exit_code):
    # A per-step metric (the learning rate, every step) makes "nothing lost" countable.
    lr_monitor = ["--trainer.callbacks+=LearningRateMonitor", "--trainer.callbacks.logging_interval=step"]
    proc = spawn(["fit", *LONG_FIT, *NO_REPORTING, *lr_monitor, f"--tracking.synchronous={synchronous}"], tmp_path)
    client = MlflowClient(mlflow_uri)
    try:
        run = wait_until(lambda: first_run_with_metric(client, "val/loss", points=2), 120, "two validation epochs in the store", proc)
        seen_before = {key: len(client.get_metric_history(run.info.run_id, key)) for key in ("val/loss", "train/loss")}
        proc.send_signal(signum)
        sent = time.monotonic()
        code = finish(proc, 60)
    finally:
        if proc.poll() is None:
            proc.kill()
    stdout, stderr = output(tmp_path)
    assert time.monotonic() - sent < 60
    assert code == exit_code, stderr[-3000:]

    run = client.get_run(run.info.run_id)
    assert run.info.status == "KILLED"
    assert run.info.end_time is not None
    assert run.data.tags["tradexp.status_reason"] == ("KeyboardInterrupt" if signum == signal.SIGINT else "SIGTERMException")
    for key, count in seen_before.items():
        assert len(client.get_metric_history(run.info.run_id, key)) >= count

    # The checkpoint written at the interruption is on disk and in the run.
    local = list(Path("lightning_logs").glob(f"*/{run.info.run_id}/checkpoints/last.ckpt"))
    assert len(local) == 1
    assert "checkpoints/last.ckpt" in artifact_paths(client, run.info.run_id, "checkpoints")
    checkpoint = torch.load(local[0], weights_only=True)
    # Nothing lost (async flushed too): one learning-rate point per optimizer step taken, plus the one
    # logged at the start of the batch the signal interrupted (if it came before that batch's step).
    lr_points = client.get_metric_history(run.info.run_id, "lr-AdamW")
    assert checkpoint["global_step"] <= len(lr_points) <= checkpoint["global_step"] + 1, (len(lr_points), checkpoint["global_step"])
    steps = [m.step for m in lr_points]
    assert steps == sorted(steps) and len(set(steps)) == len(steps)

    assert TRACEBACK not in stderr + stdout
    if signum == signal.SIGINT:
        return
    assert "stopped by SIGTERM" in stderr

    # After the kill, `--ckpt_path last` continues the same run, and its steps only go forward.
    epochs = checkpoint["epoch"] + 2
    assert main(["fit", *LONG_FIT, *NO_REPORTING, f"--trainer.max_epochs={epochs}", "--ckpt_path=last"]) == 0
    resumed = the_run(client)
    assert resumed.info.run_id == run.info.run_id and resumed.info.status == "FINISHED"
    assert resumed.data.tags["tradexp.resumed"] == "1"
    assert resumed.data.tags["tradexp.param_changed.trainer.max_epochs"] == f"100000 -> {epochs}"
    for key in ("train/loss", "val/loss", "epoch"):
        assert_steps_never_decrease(client, run.info.run_id, key)
    assert max(m.value for m in client.get_metric_history(run.info.run_id, "epoch")) == epochs - 1


@pytest.mark.slow
def test_sigkill_leaves_running_and_the_next_fit_reaps_it_at_once(mlflow_uri, tmp_path):
    proc = spawn(["fit", *LONG_FIT, *NO_REPORTING, "--tracking.heartbeat_interval=1"], tmp_path)
    client = MlflowClient(mlflow_uri)
    try:
        run = wait_until(lambda: first_run_with_metric(client, "val/loss"), 120, "a validation epoch in the store", proc)
        assert run.data.tags[PID_TAG] == str(proc.pid) and run.data.tags[HOST_TAG] == socket.gethostname()
        # A live run is never reaped, whatever the threshold: its process is there on this host.
        assert main(["runs", "--reap", "--stale-after", "0.001"]) == 0
        assert client.get_run(run.info.run_id).info.status == "RUNNING"
        proc.send_signal(signal.SIGKILL)
        assert finish(proc, 30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    killed = client.get_run(run.info.run_id)
    assert killed.info.status == "RUNNING"  # nobody could end it
    beat = float(killed.data.tags[HEARTBEAT_TAG])
    assert abs(time.time() - beat) < 30

    # Its process is gone from this host: dead now, not once the heartbeat is 180 s old.
    experiment = killed.info.experiment_id
    assert [r.info.run_id for r in find_stale_runs(client, [experiment])] == [run.info.run_id]

    # The next fit of the same experiment reaps it at start (default threshold).
    code = main(["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), *NO_REPORTING, "--tracking.test_after_fit=false"])
    assert code == 0
    reaped = client.get_run(run.info.run_id)
    assert reaped.info.status == "FAILED"
    assert reaped.info.end_time == int(beat * 1000)  # ended at the last sign of life
    assert reaped.data.tags["tradexp.status_reason"] == f"process {proc.pid} on host {socket.gethostname()} is gone"
    assert "reaped" in reaped.data.tags["tradexp.error"]
    statuses = sorted(r.info.status for r in client.search_runs([experiment]))
    assert statuses == ["FAILED", "FINISHED"]


_OPEN_RUN_AND_WAIT = (
    "import sys, time\n"
    "from tradexp.tracking.logger import TradexpLogger\n"
    "logger = TradexpLogger(experiment_name='killed', save_dir='logs', heartbeat_interval=1)\n"
    "print(logger.run_id, flush=True)\n"
    "time.sleep(600)\n"
)


def test_tradexp_runs_reap_fails_a_sigkilled_local_run_at_once_and_never_a_live_one(mlflow_uri, tmp_path, capsys):
    client = MlflowClient(mlflow_uri)
    live, doomed = spawn(["-c", _OPEN_RUN_AND_WAIT], tmp_path, log_name="live"), spawn(["-c", _OPEN_RUN_AND_WAIT], tmp_path, log_name="doomed")
    try:
        ids = [wait_until(lambda p=p, n=n: output(tmp_path, n)[0].strip(), 120, f"the {n} run", p) for p, n in ((live, "live"), (doomed, "doomed"))]
        doomed.send_signal(signal.SIGKILL)
        assert finish(doomed, 30) == -signal.SIGKILL
        assert main(["runs", "--reap", "--stale-after", "0.001"]) == 0  # even a 1 ms heartbeat rule spares the live one
        assert f"reaped 1 stale run(s): {ids[1]}" in capsys.readouterr().out
        dead = client.get_run(ids[1])
        assert dead.info.status == "FAILED"
        assert dead.data.tags["tradexp.status_reason"] == f"process {doomed.pid} on host {socket.gethostname()} is gone"
        assert client.get_run(ids[0]).info.status == "RUNNING" and live.poll() is None
    finally:
        for proc in (live, doomed):
            if proc.poll() is None:
                proc.kill()
                proc.wait(30)


def test_runs_of_other_hosts_keep_the_heartbeat_rule(mlflow_uri):
    client = MlflowClient(mlflow_uri)
    experiment = client.create_experiment("hosts")
    now = time.time()
    elsewhere = {HOST_TAG: "another-host", PID_TAG: "1"}
    old_there = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now - 600:.0f}", **elsewhere}).info.run_id
    fresh_there = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now:.0f}", **elsewhere}).info.run_id
    me = process_tags()  # this very process: alive, however old the heartbeat says it is
    alive_here = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now - 600:.0f}", **me}).info.run_id
    assert reap_stale_runs(client, [experiment], stale_after=300) == [old_there]
    assert client.get_run(old_there).data.tags["tradexp.status_reason"].startswith("stale: no heartbeat since")
    assert [client.get_run(r).info.status for r in (fresh_there, alive_here)] == ["RUNNING", "RUNNING"]


def test_reap_stale_runs_only_touches_runs_whose_heartbeat_stopped(mlflow_uri):
    client = MlflowClient(mlflow_uri)
    experiment = client.create_experiment("reaper")
    now = time.time()
    dead = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now - 600:.0f}"}).info.run_id
    alive = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now:.0f}"}).info.run_id
    foreign = client.create_run(experiment).info.run_id  # not started by tradexp: no heartbeat, left alone
    done = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{now - 600:.0f}"}).info.run_id
    client.set_terminated(done, "FINISHED")

    assert reap_stale_runs(client, [experiment], stale_after=300) == [dead]
    assert client.get_run(dead).info.status == "FAILED"
    assert client.get_run(dead).data.tags["tradexp.status_reason"].startswith("stale: no heartbeat since")
    assert [client.get_run(r).info.status for r in (alive, foreign, done)] == ["RUNNING", "RUNNING", "FINISHED"]
    assert reap_stale_runs(client, [experiment], stale_after=300) == []  # idempotent


def test_tradexp_runs_reap_marks_dead_runs_failed(mlflow_uri, capsys):
    client = MlflowClient(mlflow_uri)
    experiment = client.create_experiment("reap-command")
    dead = client.create_run(experiment, tags={HEARTBEAT_TAG: f"{time.time() - 120:.0f}"}).info.run_id
    assert main(["runs", "--reap"]) == 0  # default threshold 180 s: not stale yet
    assert client.get_run(dead).info.status == "RUNNING"
    assert main(["runs", "--reap", "--stale-after", "60"]) == 0
    assert f"reaped 1 stale run(s): {dead}" in capsys.readouterr().out
    assert client.get_run(dead).info.status == "FAILED"


def test_ctrl_c_during_a_store_write_waits_for_the_write_to_finish():
    from tradexp.tracking.run_status import hold_ctrl_c

    finished = []
    with pytest.raises(KeyboardInterrupt):
        with hold_ctrl_c():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # a write in progress: the signal must not cut it
            finished.append(True)
    assert finished == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
