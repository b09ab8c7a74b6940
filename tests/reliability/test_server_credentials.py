"""A tracking URI with credentials: the fit talks to the server as MLflow's client does and shows no password.

A plain `mlflow server` (without the basic-auth app) ignores the credentials, so the fit works as it
does for the plain MLflow client; what is checked is that tradexp's start-up probe gets through and
that no byte the fit leaves anywhere (server database, artifact root, server log, `lightning_logs/`,
console) holds the password or a secret planted in a tag.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient

from tests.conftest import CONFIGS, TINY
from tests.reliability.conftest import NO_REPORTING, finish, output, spawn, subprocess_env
from tradexp.api import override_args
from tradexp.errors import TrackingError
from tradexp.tracking.logger import TradexpLogger

PASSWORD = "pw-in-uri-7471"
TAG_SECRET = "sk-tag-in-config-3030"


def _holding(folder: Path, secrets: tuple[str, ...]) -> list[str]:
    return [f"{p.relative_to(folder)}: {s}" for p in folder.rglob("*") if p.is_file() for s in secrets if s.encode() in p.read_bytes()]


def test_the_probe_sends_the_uri_credentials_and_hides_them_when_the_server_is_down(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = f"http://alice:{PASSWORD}@127.0.0.1:9"  # nothing listens on port 9
    with pytest.raises(TrackingError, match=r"cannot reach the MLflow tracking server at http://alice:\*\*\*@127\.0\.0\.1:9 \(.*refused") as raised:
        TradexpLogger(experiment_name="creds", tracking_uri=uri, server_timeout=2)
    assert PASSWORD not in str(raised.value)


@pytest.mark.slow
def test_a_fit_with_credentials_in_the_uri_succeeds_and_records_no_secret(tmp_path, mlflow_server):
    host = mlflow_server.uri.removeprefix("http://")
    uri = f"http://alice:{PASSWORD}@{host}"
    work = tmp_path / "work"
    work.mkdir()
    args = ["fit", "--config", str(CONFIGS / "mlp.yaml"), *override_args(TINY), *NO_REPORTING]
    args += ["--trainer.callbacks=[{class_path: callbacks.EnvironmentCapture}, {class_path: tradexp.reporting.RunReport}]"]
    args += [f"--tracking.tags={{api_token: {TAG_SECRET}, team: quant}}"]
    proc = spawn(args, work, env=subprocess_env(MLFLOW_TRACKING_URI=uri))
    code = finish(proc, 300)
    stdout, stderr = output(work)
    assert code == 0, stderr[-4000:]
    assert f"alice:***@{host}" in stdout  # the summary names the store, password hidden

    secrets = (PASSWORD, TAG_SECRET)
    assert not [s for s in secrets if s in stdout + stderr]
    assert not _holding(mlflow_server.root, secrets)  # server.db, server-artifacts/, the server's log
    assert not _holding(work, secrets)  # lightning_logs/ (checkpoints), anything else the fit wrote
    client = MlflowClient(mlflow_server.uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert run.info.status == "FINISHED"
    assert run.data.tags["api_token"] == "<redacted>" and run.data.tags["team"] == "quant"
    assert "report/run_report.html" in {a.path for a in client.list_artifacts(run.info.run_id, "report")}
    assert "environment/environment.json" in {a.path for a in client.list_artifacts(run.info.run_id, "environment")}
