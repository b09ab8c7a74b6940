"""Helpers for the fault-injection suite: real `tradexp fit` processes, real signals, a real MLflow server.

Every subprocess has a timeout; the store is polled until the state a test waits for exists, never
slept on blindly.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Callable, Iterator, Optional, TypeVar

import pytest
from mlflow import MlflowClient
from mlflow.entities import ViewType

from tests.conftest import CONFIGS, ROOT

T = TypeVar("T")

# A fit on the synthetic market that stays in training until signalled: tiny data, many epochs.
LONG_FIT = [
    "--config",
    str(CONFIGS / "mlp.yaml"),
    "--data.synthetic.n_bars=600",
    "--data.window=8",
    "--data.batch_size=32",
    "--model.net.init_args.hidden_sizes=[8]",
    "--trainer.max_epochs=100000",
    "--trainer.log_every_n_steps=1",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--tracking.test_after_fit=false",
]
# Only the foundation's own callbacks (checkpoint + recorder + config), so a fit loop is fast.
NO_REPORTING = ["--trainer.callbacks=[]"]
TRACEBACK = "Traceback (most recent call last)"


def subprocess_env(**extra: str) -> dict[str, str]:
    """The test's environment plus the repo on PYTHONPATH (for `tests.reliability.faults`)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra)
    return env


def _default_sigint() -> None:  # pragma: no cover - runs in the child
    # A child of a non-interactive shell may inherit SIGINT=ignored; Python then never raises
    # KeyboardInterrupt. Restore the default so Ctrl-C is what a user at a terminal gets.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn(args: list[str], cwd: Path, env: Optional[dict[str, str]] = None, log_name: str = "proc") -> subprocess.Popen:
    """Start `python -m tradexp ARGS` (or `python ARGS` when args[0] is `-c`) with output in files under cwd."""
    command = [sys.executable, *args] if args[0] == "-c" else [sys.executable, "-m", "tradexp", *args]
    out = open(cwd / f"{log_name}.out", "w")
    err = open(cwd / f"{log_name}.err", "w")
    return subprocess.Popen(command, cwd=cwd, env=env or subprocess_env(), stdout=out, stderr=err, preexec_fn=_default_sigint)


def output(cwd: Path, log_name: str = "proc") -> tuple[str, str]:
    """(stdout, stderr) of a process started with `spawn`."""
    return (cwd / f"{log_name}.out").read_text(), (cwd / f"{log_name}.err").read_text()


def wait_until(probe: Callable[[], Optional[T]], timeout: float, what: str, proc: Optional[subprocess.Popen] = None, every: float = 0.25) -> T:
    """Poll `probe` until it returns a truthy value; fail naming `what` after `timeout` s or if `proc` ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = probe()
        except Exception:  # the store may be locked or not created yet: poll again
            value = None
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (rc={proc.returncode}) before {what}")
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def finish(proc: subprocess.Popen, timeout: float) -> int:
    """Wait for `proc`; kill it and fail when it outlives `timeout` seconds."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"process did not end within {timeout} s") from None


def all_runs(client: MlflowClient) -> list:
    """Every run of every experiment in the store (deleted ones included)."""
    ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return client.search_runs(ids, run_view_type=ViewType.ALL) if ids else []


def the_run(client: MlflowClient):
    """The single run of the store (fails when there are none or several)."""
    runs = all_runs(client)
    assert len(runs) == 1, f"expected one run, found {[(r.info.run_id, r.info.status) for r in runs]}"
    return runs[0]


def first_run_with_metric(client: MlflowClient, key: str, points: int = 1):
    """The first run whose metric `key` has at least `points` values, else None."""
    for run in all_runs(client):
        if len(client.get_metric_history(run.info.run_id, key)) >= points:
            return run
    return None


def artifact_paths(client: MlflowClient, run_id: str, path: Optional[str] = None) -> list[str]:
    """Every artifact file of a run, recursively."""
    found = []
    for item in client.list_artifacts(run_id, path):
        found += artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """A real `mlflow server` on 127.0.0.1 with a sqlite backend and artifacts under `root`."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = root, port
        self.uri = f"http://127.0.0.1:{port}"
        self.proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 90.0) -> "MlflowServer":
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.root / 'server.db'}",
            "--artifacts-destination",
            str(self.root / "server-artifacts"),
            "--workers",
            "1",
        ]
        log = open(self.root / f"server-{time.monotonic_ns()}.log", "w")
        # Own process group: stop() kills the server and its workers, nothing else.
        self.proc = subprocess.Popen(command, cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._healthy, timeout, f"mlflow server on port {self.port}", proc=self.proc, every=0.5)
        return self

    def _healthy(self) -> bool:
        with urllib.request.urlopen(self.uri + "/health", timeout=2) as response:
            return response.status == 200

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.proc = None


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[MlflowServer]:
    """A started `mlflow server` (killed at teardown, whatever the test did)."""
    root = tmp_path / "server"
    root.mkdir()
    server = MlflowServer(root, free_port())
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def fresh_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sqlite URI in tmp_path whose file does NOT exist yet (the first process must create it); cwd = tmp_path."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
