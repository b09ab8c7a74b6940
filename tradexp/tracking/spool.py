"""A local spool for run data the tracking server could not take, and the replay that syncs it.

When the server stops answering mid-run, `TradexpLogger` appends every further write (metrics,
params, tags, text artifacts, files (copied next to it), the final status) to `<save_dir>/spool/<run_id>.jsonl`. At the end it
tries to replay once; if the server is still down the file stays, the run stays RUNNING on the
server (never FINISHED with gaps), and `tradexp sync <spool file>` replays it later.

The file holds what the run would have recorded (already redacted) and the tracking URI without
its password: `tradexp sync` takes the credentials from `MLFLOW_TRACKING_URI` when it names the same
server, else from `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from pathlib import Path
from typing import Any

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException

from callbacks.redaction import strip_credentials

__all__ = ["Spool", "replay_spool", "replay_uri", "is_connection_error", "sync_main"]

log = logging.getLogger(__name__)


def is_connection_error(exc: BaseException) -> bool:
    """True when `exc` means the tracking server did not answer (not a rejected request)."""
    import requests

    if isinstance(exc, (ConnectionError, TimeoutError, requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return True
    text = str(exc)
    return isinstance(exc, MlflowException) and any(
        part in text for part in ("Max retries exceeded", "Failed to establish a new connection", "Connection refused", "Read timed out", "API request to")
    )


class Spool:
    """Append-only JSONL record of writes for one run.

    Args:
        path: The spool file.
        tracking_uri: Recorded in the file (password hidden) so `tradexp sync` knows where to replay.
        run_id: The run the records belong to.
    """

    def __init__(self, path: Path, tracking_uri: str, run_id: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tracking_uri = tracking_uri
        self.run_id = run_id
        if not self.path.exists():
            self._append({"op": "header", "tracking_uri": strip_credentials(tracking_uri), "run_id": run_id})

    def _append(self, record: dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()

    def log_batch(self, metrics=(), params=(), tags=()) -> None:
        self._append(
            {
                "op": "log_batch",
                "metrics": [[m.key, m.value, m.timestamp, m.step] for m in metrics],
                "params": [[p.key, p.value] for p in params],
                "tags": [[t.key, t.value] for t in tags],
            }
        )

    def log_text(self, text: str, artifact_file: str) -> None:
        self._append({"op": "log_text", "text": text, "artifact_file": artifact_file})

    def set_terminated(self, status: str, end_time: int) -> None:
        self._append({"op": "set_terminated", "status": status, "end_time": end_time})

    def log_artifact(self, local_path: str, artifact_path: str | None = None) -> None:
        """Keep a copy of the file (its name may be a temporary link) in `<run_id>.files/` and record it."""
        folder = self.path.with_suffix(".files") / (artifact_path or "")
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / Path(local_path).name
        shutil.copyfile(local_path, copy)
        self._append({"op": "log_artifact", "local_path": str(copy), "artifact_path": artifact_path})


def replay_uri(recorded: str) -> str:
    """The URI to replay a spool into: `MLFLOW_TRACKING_URI` when it names the recorded server (it
    may carry the credentials the file does not), else the recorded URI without its credentials."""
    current = os.environ.get("MLFLOW_TRACKING_URI", "")
    if current and strip_credentials(current) == recorded:
        return current
    return re.sub(r"^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@", r"\1", recorded)


def replay_spool(path: Path, client: MlflowClient | None = None) -> dict[str, int]:
    """Replay a spool file into its run, then delete the file; returns counts of what was replayed.

    Raises:
        MlflowException / connection errors: when the server is still unreachable (the file stays).
    """
    lines = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    header = lines[0]
    client = client or MlflowClient(replay_uri(header["tracking_uri"]))
    run_id = header["run_id"]
    counts = {"metrics": 0, "params": 0, "tags": 0, "texts": 0, "files": 0, "status": 0}
    for record in lines[1:]:
        if record["op"] == "log_batch":
            metrics = [Metric(k, v, t, s) for k, v, t, s in record["metrics"]]
            params = [Param(k, v) for k, v in record["params"]]
            tags = [RunTag(k, v) for k, v in record["tags"]]
            for start in range(0, max(len(metrics), 1), 1000):
                client.log_batch(run_id, metrics=metrics[start : start + 1000], params=params if start == 0 else [], tags=tags if start == 0 else [])
            counts["metrics"] += len(metrics)
            counts["params"] += len(params)
            counts["tags"] += len(tags)
        elif record["op"] == "log_text":
            client.log_text(run_id, record["text"], record["artifact_file"])
            counts["texts"] += 1
        elif record["op"] == "log_artifact":
            client.log_artifact(run_id, record["local_path"], record["artifact_path"])
            counts["files"] += 1
        elif record["op"] == "set_terminated":
            client.set_terminated(run_id, record["status"], end_time=record["end_time"])
            counts["status"] += 1
    Path(path).unlink()
    shutil.rmtree(Path(path).with_suffix(".files"), ignore_errors=True)
    return counts


def sync_main(argv: list[str]) -> int:
    """`tradexp sync SPOOL_FILE...`: replay spooled run data into the tracking server."""
    import argparse

    parser = argparse.ArgumentParser(prog="tradexp sync", description="Replay run data spooled while the tracking server was down.")
    parser.add_argument("spools", nargs="+", help="spool files (lightning_logs/spool/<run_id>.jsonl)")
    args = parser.parse_args(argv)
    failed = 0
    for spool in args.spools:
        if not Path(spool).is_file():
            print(f"tradexp sync: {spool}: no such spool file")
            failed += 1
            continue
        try:
            counts = replay_spool(Path(spool))
        except Exception as exc:
            if not is_connection_error(exc):
                raise
            print(f"tradexp sync: {spool}: the tracking server is still unreachable ({type(exc).__name__}); the file is kept")
            failed += 1
            continue
        print(f"synced {spool}: {counts}")
    return 1 if failed else 0
