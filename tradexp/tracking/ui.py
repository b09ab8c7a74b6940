"""`tradexp ui`: the MLflow UI on tradexp's store (and, with `--optuna`, optuna-dashboard on the studies),
bound to 127.0.0.1 unless asked otherwise.

    tradexp ui                      # MLflow UI on http://127.0.0.1:5000
    tradexp ui --optuna             # plus optuna-dashboard on http://127.0.0.1:8080 (pip install 'tradexp[dashboard]')
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

from tradexp.cli_args import add_tracking_uri
from tradexp.errors import ConfigError
from tradexp.tracking.store import artifact_root, resolve_tracking_uri

__all__ = ["ui_main", "mlflow_ui_command", "optuna_dashboard_command"]


def mlflow_ui_command(uri: str, host: str, port: int) -> list[str]:
    """The `mlflow ui` command line for a store (local stores get tradexp's artifact root)."""
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", host, "--port", str(port)]
    if uri.startswith("sqlite:"):
        command += ["--default-artifact-root", artifact_root().as_uri()]
    return command


def optuna_dashboard_command(storage: str, host: str, port: int) -> list[str]:
    """The optuna-dashboard command line for a study storage.

    Raises:
        ConfigError: optuna-dashboard is not installed (it is the optional extra `tradexp[dashboard]`).
    """
    beside = Path(sys.executable).with_name("optuna-dashboard")  # the console script of this environment
    script = str(beside) if beside.is_file() else shutil.which("optuna-dashboard")
    if importlib.util.find_spec("optuna_dashboard") is None or script is None:
        raise ConfigError("`tradexp ui --optuna` needs optuna-dashboard: pip install 'tradexp[dashboard]' (or pip install optuna-dashboard)")
    return [script, storage, "--host", host, "--port", str(port), "--quiet"]


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop each server and the workers it started (each runs in its own process group)."""
    for process in processes:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run(commands: list[list[str]]) -> int:
    """Start every command; when one ends (or on Ctrl-C / SIGTERM) stop the others. Returns the first exit code."""
    processes = [subprocess.Popen(command, start_new_session=True) for command in commands]
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            codes = [p.poll() for p in processes]
            ended = [c for c in codes if c is not None]
            if ended:
                return int(ended[0])
            time.sleep(0.2)
    except KeyboardInterrupt:
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        _stop(processes)


def ui_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tradexp ui", description="Open the MLflow UI on tradexp's store (and optuna-dashboard on its studies).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, this machine only); 0.0.0.0 exposes the UI to the network")
    parser.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    add_tracking_uri(parser)
    parser.add_argument("--optuna", action="store_true", help="also start optuna-dashboard on the study storage (needs tradexp[dashboard])")
    parser.add_argument("--optuna-port", type=int, default=8080, help="optuna-dashboard port (default: %(default)s)")
    parser.add_argument("--storage", default=None, help="Optuna storage URL (default: optuna.db beside mlflow.db, as `tradexp hpo` uses)")
    args = parser.parse_args(argv)
    uri = resolve_tracking_uri(args.tracking_uri)
    commands = [mlflow_ui_command(uri, args.host, args.port)]
    lines = [f"MLflow UI on http://{args.host}:{args.port}  (store {uri})"]
    if args.optuna:
        from tradexp.hpo.storage import default_storage_url
        from callbacks.redaction import strip_credentials

        storage: Optional[str] = args.storage or default_storage_url(uri)
        commands.append(optuna_dashboard_command(storage, args.host, args.optuna_port))
        lines.append(f"optuna-dashboard on http://{args.host}:{args.optuna_port}  (studies {strip_credentials(storage)})")
    print("\n".join(lines) + "\nCtrl-C to stop", flush=True)
    return _run(commands)
