"""`tradexp gc`: real sqlite store in tmp_path, runs made with the MLflow client (one real tiny fit)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.conftest import CONFIGS
from tests.organisation.conftest import FAST
from tradexp.cli import main
from tradexp.organisation.gc import parse_age, plan_gc
from tradexp.tracking.store import ensure_experiment


def _run(client: MlflowClient, experiment_id: str, status: str = "FINISHED", tags: dict | None = None, end_time: int | None = None) -> str:
    """A run with a 1000-byte checkpoint artifact and a 500-byte local `lightning_logs` folder."""
    run_id = client.create_run(experiment_id, tags=tags or {}).info.run_id
    ckpt = Path("last.ckpt")
    ckpt.write_bytes(b"x" * 1000)
    client.log_artifact(run_id, str(ckpt), "checkpoints")
    if status != "RUNNING":
        client.set_terminated(run_id, status, end_time=end_time)
    local = Path("lightning_logs", experiment_id, run_id, "checkpoints")
    local.mkdir(parents=True)
    (local / "last.ckpt").write_bytes(b"y" * 500)
    return run_id


def _artifacts(client: MlflowClient, run_id: str) -> Path:
    return Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))


def _gone(client: MlflowClient, run_id: str) -> bool:
    try:
        client.get_run(run_id)
    except MlflowException as exc:
        return exc.error_code == "RESOURCE_DOES_NOT_EXIST"
    return False


@pytest.fixture
def store(mlflow_uri: str) -> tuple[MlflowClient, str]:
    client = MlflowClient(mlflow_uri)
    return client, ensure_experiment(client, "tradexp/development/synthetic", mlflow_uri)


def test_dry_run_lists_a_deleted_run_with_its_bytes_and_paths_and_deletes_nothing(store, capsys) -> None:
    client, exp = store
    kept, deleted = _run(client, exp), _run(client, exp)
    client.delete_run(deleted)

    assert main(["gc"]) == 0

    out = capsys.readouterr().out
    assert deleted in out and kept not in out
    assert f"lightning_logs/{exp}/{deleted}" in out
    assert "would free 1.5 KB in 1 run(s)" in out and "dry run" in out
    assert client.get_run(deleted).info.lifecycle_stage == "deleted"
    assert (_artifacts(client, deleted) / "checkpoints" / "last.ckpt").is_file()
    assert Path("lightning_logs", exp, deleted).is_dir()


def test_yes_purges_a_deleted_run_from_store_artifacts_and_local_logs(store, capsys) -> None:
    client, exp = store
    kept, deleted = _run(client, exp), _run(client, exp)
    artifacts = _artifacts(client, deleted)
    client.delete_run(deleted)

    assert main(["gc", "--yes"]) == 0

    assert "freed 1.5 KB in 1 run(s)" in capsys.readouterr().out
    assert _gone(client, deleted)
    assert not artifacts.parent.exists()  # mlartifacts/<experiment>/<run_id>: no empty folder left
    assert not Path("lightning_logs", exp, deleted).exists()
    assert client.get_run(kept).info.status == "FINISHED"
    assert (_artifacts(client, kept) / "checkpoints" / "last.ckpt").is_file()
    assert Path("lightning_logs", exp, kept, "checkpoints", "last.ckpt").is_file()


def test_status_frees_failed_killed_and_pruned_runs_only_when_asked(store, capsys) -> None:
    client, exp = store
    failed, killed = _run(client, exp, "FAILED"), _run(client, exp, "KILLED")
    pruned = _run(client, exp, tags={"tradexp.trial.state": "PRUNED"})
    complete = _run(client, exp, tags={"tradexp.trial.state": "COMPLETE"})
    running = _run(client, exp, "RUNNING")

    assert plan_gc(client).candidates == []
    assert main(["gc", "--status", "failed,killed,pruned", "--yes"]) == 0

    out = capsys.readouterr().out
    assert "freed 4.5 KB in 3 run(s)" in out
    assert all(_gone(client, r) for r in (failed, killed, pruned))
    assert client.get_run(complete).info.status == "FINISHED" and client.get_run(running).info.status == "RUNNING"
    assert sorted(p.name for p in Path("lightning_logs", exp).iterdir()) == sorted([complete, running])


def test_a_registered_versions_source_run_is_never_touched(store, capsys) -> None:
    client, exp = store
    deleted_source, failed_source = _run(client, exp), _run(client, exp, "FAILED")
    client.create_registered_model("lstm-spy")
    client.create_model_version("lstm-spy", f"runs:/{deleted_source}/checkpoints", run_id=deleted_source)
    client.create_model_version("lstm-spy", f"runs:/{failed_source}/checkpoints", run_id=failed_source)
    client.delete_run(deleted_source)

    assert main(["gc", "--status", "failed"]) == 0
    assert "kept: " + deleted_source in capsys.readouterr().out
    assert main(["gc", "--status", "failed", "--yes"]) == 2

    err = capsys.readouterr().err
    assert f"refusing to free: deleted run(s) {deleted_source} (source of lstm-spy v1)" in err and "mlflow runs restore" in err
    client.restore_run(deleted_source)
    assert main(["gc", "--status", "failed", "--yes"]) == 0
    assert "freed 0 B in 0 run(s)" in capsys.readouterr().out
    for run_id in (deleted_source, failed_source):
        assert (_artifacts(client, run_id) / "checkpoints" / "last.ckpt").is_file()
        assert Path("lightning_logs", exp, run_id).is_dir()


def test_older_than_and_experiment_narrow_the_runs(store, mlflow_uri, capsys) -> None:
    client, exp = store
    other = ensure_experiment(client, "tradexp/staging/synthetic", mlflow_uri)
    old = _run(client, exp, "FAILED", end_time=int((time.time() - 40 * 86400) * 1000))
    recent, elsewhere = _run(client, exp, "FAILED"), _run(client, other, "FAILED")

    found = plan_gc(client, ["failed"], older_than=parse_age("30d"), experiment="tradexp/development/synthetic")
    assert [c.run_id for c in found.candidates] == [old]
    assert {c.run_id for c in plan_gc(client, ["failed"], experiment="tradexp/development/synthetic").candidates} == {old, recent}
    assert {c.run_id for c in plan_gc(client, ["failed"]).candidates} == {old, recent, elsewhere}
    assert parse_age("2d12h") == 2.5 * 86400
    with pytest.raises(ValueError, match="--older-than: '30 days' received; write an age such as 30d"):
        parse_age("30 days")
    assert main(["gc", "--experiment", "nope"]) == 2
    assert "--experiment: 'nope' received; no such experiment" in capsys.readouterr().err
    assert main(["gc", "--status", "finished"]) == 2
    assert "--status: finished received; a comma-separated list of failed, killed, pruned" in capsys.readouterr().err


def test_a_local_folder_whose_run_mlflow_gc_already_purged_is_freed(store, mlflow_uri, capsys) -> None:
    client, exp = store
    purged = _run(client, exp)
    client.delete_run(purged)
    from mlflow.cli import gc

    gc.main(["--backend-store-uri", mlflow_uri, "--run-ids", purged], standalone_mode=False)  # MLflow's own gc leaves lightning_logs
    assert Path("lightning_logs", exp, purged).is_dir()

    assert main(["gc", "--yes"]) == 0

    assert "freed 500 B in 1 run(s)" in capsys.readouterr().out
    assert not Path("lightning_logs", exp, purged).exists()


def test_a_deleted_fit_run_is_purged_with_its_logged_model(mlflow_uri, capsys) -> None:
    from tradexp.api import fit

    result = fit(CONFIGS / "mlp.yaml", FAST)
    client = MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    models = client.search_logged_models([run.info.experiment_id], filter_string=f"source_run_id = '{result.run_id}'")
    assert models, "the fit logs its MLflow model"
    model_dir = Path(models[0].artifact_location.removeprefix("file://"))
    assert model_dir.is_dir() and (_artifacts(client, result.run_id) / "checkpoints" / "best.ckpt").is_file()
    client.delete_run(result.run_id)

    assert main(["gc", "--yes"]) == 0

    assert _gone(client, result.run_id)
    assert not model_dir.exists() and not list(Path("lightning_logs").glob(f"*/{result.run_id}"))
    assert client.search_logged_models([run.info.experiment_id]).to_list() == []
