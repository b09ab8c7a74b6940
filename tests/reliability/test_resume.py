"""`tradexp fit ... --ckpt_path last` continues the same MLflow run with optimizer and scheduler state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tests.reliability.conftest import NO_REPORTING, the_run
from tradexp.api import override_args
from tradexp.cli import main

FIT = [
    "fit",
    "--config",
    str(CONFIGS / "mlp.yaml"),
    *override_args(TINY),
    *NO_REPORTING,
    "--tracking.test_after_fit=false",
    "--model.optimizer=adam",
    "--tracking.keep_local_checkpoints=true",
]


def _last_checkpoint(run_id: str) -> dict:
    (path,) = Path("lightning_logs").glob(f"*/{run_id}/checkpoints/last.ckpt")
    return torch.load(path, weights_only=True)


def assert_steps_never_decrease(client: MlflowClient, run_id: str, key: str) -> list[int]:
    """The steps of `key` in logging order (by timestamp); fails when a later point has a smaller step."""
    history = sorted(client.get_metric_history(run_id, key), key=lambda m: m.timestamp)
    steps = [m.step for m in history]
    assert all(a <= b for a, b in zip(steps, steps[1:])), f"{key} steps went back: {steps}"
    return steps


@pytest.mark.slow
def test_fit_with_ckpt_path_last_continues_the_same_run_and_optimizer_state(mlflow_uri):
    assert main([*FIT, "--trainer.max_epochs=2"]) == 0
    client = MlflowClient(mlflow_uri)
    run_id = the_run(client).info.run_id
    first = _last_checkpoint(run_id)
    steps_per_epoch = first["global_step"] // 2
    assert first["epoch"] == 1 and steps_per_epoch > 0

    assert main([*FIT, "--trainer.max_epochs=4", "--ckpt_path=last"]) == 0

    run = the_run(client)  # still one run: continued, not duplicated
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    assert run.data.tags["tradexp.resumed"] == "1"
    assert run.data.params["trainer.max_epochs"] == "2"  # MLflow keeps the first value ...
    assert run.data.tags["tradexp.param_changed.trainer.max_epochs"] == "2 -> 4"  # ... and the change is recorded

    epochs = sorted({int(m.value) for m in client.get_metric_history(run_id, "epoch")})
    assert epochs == [0, 1, 2, 3]
    for key in ("train/loss", "val/loss", "epoch"):
        assert_steps_never_decrease(client, run_id, key)
    train_steps = [m.step for m in client.get_metric_history(run_id, "train/loss")]
    assert len(train_steps) == 4 and len(set(train_steps)) == 4  # one train/loss per epoch, none twice

    last = _last_checkpoint(run_id)
    assert last["global_step"] == 4 * steps_per_epoch
    adam_steps = {int(state["step"]) for state in last["optimizer_states"][0]["state"].values()}
    assert adam_steps == {4 * steps_per_epoch}  # Adam's moment estimates continued, not restarted
    assert last["lr_schedulers"][0]["last_epoch"] == 4  # the cosine schedule continued too
    assert last["lr_schedulers"][0]["T_max"] == 4  # stretched to the new max_epochs, not restarted


@pytest.mark.slow
def test_a_model_value_the_checkpoint_replaces_is_named_not_silently_dropped(mlflow_uri, caplog):
    assert main([*FIT, "--trainer.max_epochs=1"]) == 0
    run_id = the_run(MlflowClient(mlflow_uri)).info.run_id
    (path,) = Path("lightning_logs").glob(f"*/{run_id}/checkpoints/last.ckpt")
    saved_lr = torch.load(path, weights_only=True)["hyper_parameters"]["lr"]

    validate = ["validate", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), *NO_REPORTING, f"--ckpt_path={path}"]
    with caplog.at_level("WARNING", logger="tradexp.lightning_cli"):
        assert main([*validate, "--model.lr=0.05", "--model.optimizer=sgd"]) == 0
    (warning,) = [r.getMessage() for r in caplog.records if "replace the config's" in r.getMessage()]
    assert f"model.lr 0.05 -> {saved_lr!r}" in warning and "model.optimizer 'sgd' -> 'adam'" in warning

    caplog.clear()
    with caplog.at_level("WARNING", logger="tradexp.lightning_cli"):
        assert main([*validate, "--model.optimizer=adam"]) == 0  # the same values: nothing to say
    assert not [r for r in caplog.records if "replace the config's" in r.getMessage()]
