"""`tradexp ui`: the MLflow UI on tradexp's store, bound to 127.0.0.1 unless asked otherwise."""

from __future__ import annotations

import argparse
import subprocess
import sys

from tradexp.tracking.store import artifact_root, resolve_tracking_uri

__all__ = ["ui_main"]


def ui_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="tradexp ui", description="Open the MLflow UI on tradexp's store.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: %(default)s, this machine only); 0.0.0.0 exposes the UI to the network")
    parser.add_argument("--port", type=int, default=5000, help="port (default: %(default)s)")
    parser.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///mlflow.db")
    args = parser.parse_args(argv)
    uri = resolve_tracking_uri(args.tracking_uri)
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", args.host, "--port", str(args.port)]
    if uri.startswith("sqlite:"):
        command += ["--default-artifact-root", artifact_root().as_uri()]
    print(f"MLflow UI on http://{args.host}:{args.port}  (store {uri}); Ctrl-C to stop")
    return subprocess.call(command)
