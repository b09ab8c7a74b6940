"""Many machines: workers share a real PostgreSQL Optuna storage and a real `mlflow server` on 127.0.0.1.

Both servers are started here in temporary folders and always stopped; the test skips when the
PostgreSQL binaries (found with `pg_config --bindir` or a glob) or the `mlflow` command are absent;
under `TRADEXP_REQUIRE_ALL=1` (CI) their absence fails instead.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import optuna
import pytest
from mlflow import MlflowClient

from tests.conftest import import_or_missing, missing, postgres_bindir
from tests.hpo.conftest import study_runs, write_hpo_config
from tradexp.hpo.storage import open_storage


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen, sig: int) -> None:
    """Stop a server started in its own session (its whole process group), then make sure."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free port of 127.0.0.1 (as the `postgres` user when root)."""
    pg_bin = postgres_bindir()
    if pg_bin is None:
        missing("PostgreSQL binaries not found (`pg_config --bindir`, /usr/lib/postgresql/*/bin, PATH); Debian package `postgresql`")
    psycopg2 = import_or_missing("psycopg2", "psycopg2 not installed (pip install -e '.[dev]')")
    as_user: dict = {}
    folder = Path(tempfile.mkdtemp(prefix="tradexp-pg-"))
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            missing("running as root and there is no `postgres` user to run PostgreSQL")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    data = folder / "data"
    subprocess.run([str(pg_bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], check=True, capture_output=True, cwd=folder, **as_user)
    port = _free_port()
    log = open(folder / "postgres.log", "w")
    server = subprocess.Popen(
        [str(pg_bin / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(folder), "-F"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        start_new_session=True,
        **as_user,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg2.connect(url).close()
                break
            except psycopg2.OperationalError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"PostgreSQL did not start: {(folder / 'postgres.log').read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        _stop(server, signal.SIGINT)  # fast shutdown
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def mlflow_server(tmp_path: Path, _migrated_store: Path) -> Iterator[str]:
    """A real `mlflow server` (sqlite backend, artifacts served) on a free port of 127.0.0.1."""
    command = shutil.which("mlflow")
    if command is None:
        missing("the `mlflow` command is not installed")
    folder = tmp_path / "mlflow-server"
    folder.mkdir()
    shutil.copyfile(_migrated_store, folder / "server.db")  # an already migrated store starts in seconds
    port = _free_port()
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [command, "server", "--backend-store-uri", f"sqlite:///{folder / 'server.db'}", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=folder,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not start: {(folder / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield uri
    finally:
        _stop(server, signal.SIGTERM)
        log.close()


@pytest.mark.slow
def test_two_machines_share_one_study_on_postgresql_and_one_parent_run_on_an_mlflow_server(tmp_path, postgres_url, mlflow_server):
    path = write_hpo_config(tmp_path, n_trials=2, study_name="shared")
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server}
    workers = []
    for machine in ("a", "b"):  # each "machine" runs the same command in its own folder
        (tmp_path / machine).mkdir()
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "tradexp", "hpo", "--config", str(path), "--storage", postgres_url, "--no-progress"],
                cwd=tmp_path / machine,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [w.communicate(timeout=400) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err[-3000:] for _, err in outputs]

    trials = optuna.load_study(study_name="shared", storage=open_storage(postgres_url)).trials
    assert [t.number for t in trials] == [0, 1, 2, 3] and {t.state.name for t in trials} == {"COMPLETE"}, [err[-3000:] for _, err in outputs]
    (parent,), children = study_runs(MlflowClient(mlflow_server), "shared")
    assert parent.info.status == "FINISHED"
    assert sorted(int(c.data.tags["tradexp.trial"]) for c in children) == [0, 1, 2, 3]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert {c.info.status for c in children} == {"FINISHED"}
    assert "Parent run: " + parent.info.run_id in outputs[0][0] and "Parent run: " + parent.info.run_id in outputs[1][0]
    assert not (tmp_path / "a" / "optuna.db").exists()  # nothing local: the study lives on the server
