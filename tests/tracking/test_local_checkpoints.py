"""One copy of each checkpoint: after a real tiny fit the local files are gone and the run holds them;
`--ckpt_path last` resumes from the store-only checkpoint."""

from __future__ import annotations

from pathlib import Path

import torch
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tradexp.api import fit, override_args
from tradexp.cli import main
from tradexp.tracking.local_checkpoints import release_local_checkpoints, restore_checkpoint

FAST = {**TINY, "trainer.callbacks": [], "tracking.log_model": False, "tracking.test_after_fit": False}
FIT = ["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(FAST), "--model.optimizer=adam"]


def _stored(client: MlflowClient, run_id: str) -> dict[str, int]:
    return {a.path: a.file_size for a in client.list_artifacts(run_id, "checkpoints")}


def test_after_a_fit_no_local_checkpoint_remains_and_the_run_holds_best_and_last(mlflow_uri) -> None:
    result = fit(CONFIGS / "mlp.yaml", {**FAST, "tracking.test_after_fit": True})

    assert not list(Path("lightning_logs").glob(f"*/{result.run_id}/**/*.ckpt"))
    stored = _stored(MlflowClient(mlflow_uri), result.run_id)
    assert set(stored) == {"checkpoints/best.ckpt", "checkpoints/last.ckpt"} and min(stored.values()) > 0
    assert result.best_checkpoint == f"runs:/{result.run_id}/checkpoints/best.ckpt"
    assert "test/loss" in result.metrics  # the test of the best checkpoint ran before the release


def test_keep_local_checkpoints_keeps_them(mlflow_uri) -> None:
    result = fit(CONFIGS / "mlp.yaml", {**FAST, "tracking.keep_local_checkpoints": True})

    local = {p.name for p in Path("lightning_logs").glob(f"*/{result.run_id}/checkpoints/*.ckpt")}
    assert "last.ckpt" in local and Path(result.best_checkpoint).name in local


def test_ckpt_path_last_resumes_from_a_store_only_checkpoint(mlflow_uri, capsys) -> None:
    assert main([*FIT, "--trainer.max_epochs=1"]) == 0
    client = MlflowClient(mlflow_uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert not list(Path("lightning_logs").glob("**/*.ckpt"))  # only the store has it now
    first = torch.load(client.download_artifacts(run.info.run_id, "checkpoints/last.ckpt", "first"), weights_only=True)["global_step"]

    assert main([*FIT, "--trainer.max_epochs=2", "--ckpt_path=last"]) == 0

    (resumed,) = client.search_runs([run.info.experiment_id])
    assert resumed.info.run_id == run.info.run_id and resumed.data.tags["tradexp.resumed"] == "1"
    assert sorted({int(m.value) for m in client.get_metric_history(run.info.run_id, "epoch")}) == [0, 1]
    path = client.download_artifacts(run.info.run_id, "checkpoints/last.ckpt", "second")
    assert torch.load(path, weights_only=True)["global_step"] == 2 * first > 0  # the second epoch continued the first
    assert not list(Path("lightning_logs").glob("**/*.ckpt"))
    assert "runs:/" + run.info.run_id + "/checkpoints/best.ckpt" in capsys.readouterr().out


def test_restore_checkpoint_brings_back_last_and_best_to_their_released_paths(mlflow_uri) -> None:
    result = fit(CONFIGS / "mlp.yaml", FAST)
    client = MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    folder = Path("lightning_logs", run.info.experiment_id, result.run_id, "checkpoints")
    best_name = run.data.tags["tradexp.checkpoint.best"].split("(")[1].rstrip(")")  # `checkpoints/best.ckpt (epoch001-step14.ckpt)`
    assert not folder.exists()

    assert restore_checkpoint(client, folder / "last.ckpt") and restore_checkpoint(client, folder / best_name)

    stored = _stored(client, result.run_id)
    assert (folder / "last.ckpt").stat().st_size == stored["checkpoints/last.ckpt"]
    assert (folder / best_name).stat().st_size == stored["checkpoints/best.ckpt"]
    assert not restore_checkpoint(client, folder / "epoch999-step1.ckpt")  # a name the run never stored
    assert not restore_checkpoint(client, Path("lightning_logs", "1", "0" * 32, "checkpoints", "last.ckpt"))  # no such run


def test_a_killed_run_keeps_the_last_checkpoint_it_resumes_from(mlflow_uri) -> None:
    from tradexp.run import build

    built = build(CONFIGS / "mlp.yaml", FAST)
    built.trainer.fit(built.model, datamodule=built.datamodule)  # `build` + fit: nothing released yet
    client = MlflowClient(mlflow_uri)
    client.set_terminated(built.run_id, "KILLED")  # as Ctrl-C / SIGTERM leaves it
    folder = Path(built.trainer.checkpoint_callback.best_model_path).parent

    removed = release_local_checkpoints(built.trainer)

    assert [p.name for p in removed] == [Path(built.trainer.checkpoint_callback.best_model_path).name]
    assert [p.name for p in folder.glob("*.ckpt")] == ["last.ckpt"]


def _fitted_checkpoint(client: MlflowClient) -> tuple[str, Path]:
    """One tiny fit keeping its local checkpoints: (run_id, its last.ckpt)."""
    assert main([*FIT, "--trainer.max_epochs=1", "--tracking.keep_local_checkpoints=true"]) == 0
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    return run.info.run_id, Path("lightning_logs", run.info.experiment_id, run.info.run_id, "checkpoints", "last.ckpt")


def test_validate_and_test_take_an_explicit_checkpoint_path(mlflow_uri) -> None:
    client = MlflowClient(mlflow_uri)
    fitted, path = _fitted_checkpoint(client)
    evaluate = ["--config", str(CONFIGS / "mlp.yaml"), *override_args(FAST), "--model.optimizer=adam", f"--ckpt_path={path}"]

    assert main(["validate", *evaluate]) == 0
    assert main(["test", *evaluate]) == 0

    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], order_by=["attributes.start_time ASC"])
    assert [r.info.run_id for r in runs][0] == fitted and len(runs) == 3
    assert "val/loss" in runs[1].data.metrics and "test/loss" in runs[2].data.metrics


def test_an_explicit_path_to_a_released_checkpoint_is_downloaded_back(mlflow_uri) -> None:
    client = MlflowClient(mlflow_uri)
    fitted, path = _fitted_checkpoint(client)
    stored = _stored(client, fitted)["checkpoints/last.ckpt"]
    for local in path.parent.glob("*.ckpt"):
        local.unlink()  # as the release at the end of a fit leaves it

    assert main(["validate", "--config", str(CONFIGS / "mlp.yaml"), *override_args(FAST), "--model.optimizer=adam", f"--ckpt_path={path}"]) == 0

    assert path.stat().st_size == stored
    (validated,) = [r for r in client.search_runs([e.experiment_id for e in client.search_experiments()]) if r.info.run_id != fitted]
    assert "val/loss" in validated.data.metrics


def test_fit_with_an_explicit_checkpoint_path_continues_its_run(mlflow_uri) -> None:
    client = MlflowClient(mlflow_uri)
    fitted, path = _fitted_checkpoint(client)

    assert main([*FIT, "--trainer.max_epochs=2", f"--ckpt_path={path}"]) == 0

    (resumed,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert resumed.info.run_id == fitted and resumed.data.tags["tradexp.resumed"] == "1"
    changed = {k.removeprefix("tradexp.param_changed.") for k in resumed.data.tags if k.startswith("tradexp.param_changed.")}
    assert changed == {"trainer.max_epochs", "tracking.keep_local_checkpoints"}  # the net's class_path reads as the config wrote it
