"""Find runs whose process died without ending them (SIGKILL, power loss) and mark them FAILED.

Two rules, for RUNNING runs started by `TradexpLogger` (they carry a heartbeat tag):
- a run made on THIS host (same host name and, on Linux, the same process-id namespace, so a
  container sharing the host's name is not mistaken for it) whose process no longer exists is
  FAILED at once: "process 1234 on host X is gone";
- any other run (another host, or a live process id) is FAILED only once its heartbeat is older than
  `stale_after` seconds. A live process is never reaped by the first rule; a process id reused by
  an unrelated process only delays the reaping to the heartbeat rule.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import socket
import time
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

from mlflow import MlflowClient
from mlflow.entities import Run, ViewType

from tradexp.tracking.heartbeat import HEARTBEAT_TAG

__all__ = [
    "find_stale_runs",
    "reap_stale_runs",
    "process_tags",
    "DEFAULT_STALE_AFTER_S",
    "HOST_TAG",
    "PID_TAG",
    "PID_NAMESPACE_TAG",
]

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 180.0
HOST_TAG = "tradexp.host"
PID_TAG = "tradexp.pid"
PID_NAMESPACE_TAG = "tradexp.pid_namespace"


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # e.g. `pid:[4026531836]`
    except OSError:
        return ""


def process_tags() -> dict[str, str]:
    """Where this process runs: `tradexp.host`, `tradexp.pid` and (Linux) `tradexp.pid_namespace`."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    namespace = _pid_namespace()
    if namespace:
        tags[PID_NAMESPACE_TAG] = namespace
    return tags


def _process_exists(pid: int) -> bool:
    """True while `pid` is a process of this host that has not exited (a zombie has exited)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        state = next((line for line in status.read_text().splitlines() if line.startswith("State:")), "")
    except OSError:
        return True
    return "Z" not in state.split(":", 1)[-1].split()[:1]


class StaleRun(NamedTuple):
    """A RUNNING run found dead, and why."""

    run: Run
    reason: str
    error: str
    end_time_ms: int


def _gone_here(run: Run, here: dict[str, str]) -> Optional[str]:
    """The reason when `run` was made on this host by a process that no longer exists, else None."""
    tags = run.data.tags
    if tags.get(HOST_TAG) != here[HOST_TAG] or tags.get(PID_NAMESPACE_TAG, "") != here.get(PID_NAMESPACE_TAG, ""):
        return None
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return None
    if pid <= 0 or _process_exists(pid):
        return None
    return f"process {pid} on host {here[HOST_TAG]} is gone"


def _classify(runs: Sequence[Run], stale_after: float, now: float) -> list[StaleRun]:
    here = process_tags()
    found = []
    for run in runs:
        beat = run.data.tags.get(HEARTBEAT_TAG)
        if beat is None:  # not started by tradexp: left alone
            continue
        last = float(beat)
        gone = _gone_here(run, here)
        if gone is not None:
            found.append(StaleRun(run, gone, f"run reaped: {gone}", int(last * 1000)))
        elif now - last > stale_after:
            when = _dt.datetime.fromtimestamp(last, _dt.timezone.utc).isoformat(timespec="seconds")
            found.append(StaleRun(run, f"stale: no heartbeat since {when} (process killed or lost)", f"run reaped: heartbeat older than {stale_after:.0f} s", int(last * 1000)))
    return found


def _running(client: MlflowClient, experiment_ids: Optional[Sequence[str]]) -> list[Run]:
    if experiment_ids is None:
        experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiment_ids:
        return []
    return list(client.search_runs(list(experiment_ids), filter_string="attributes.status = 'RUNNING'", max_results=5000))


def find_stale_runs(client: MlflowClient, experiment_ids: Optional[Sequence[str]] = None, stale_after: float = DEFAULT_STALE_AFTER_S, now: Optional[float] = None) -> list[Run]:
    """RUNNING tradexp runs that are dead: their process is gone from this host, or their last
    heartbeat is older than `stale_after` seconds. Runs without a heartbeat tag are left alone."""
    now = time.time() if now is None else now
    return [stale.run for stale in _classify(_running(client, experiment_ids), stale_after, now)]


def reap_stale_runs(client: MlflowClient, experiment_ids: Optional[Sequence[str]] = None, stale_after: float = DEFAULT_STALE_AFTER_S) -> list[str]:
    """Mark dead RUNNING runs FAILED with the reason recorded (`tradexp.status_reason`); returns their ids.

    The end time is the last heartbeat (the last moment the process was known alive).
    """
    reaped = []
    for stale in _classify(_running(client, experiment_ids), stale_after, time.time()):
        run_id = stale.run.info.run_id
        client.set_tag(run_id, "tradexp.status_reason", stale.reason)
        client.set_tag(run_id, "tradexp.error", stale.error)
        client.set_terminated(run_id, "FAILED", end_time=stale.end_time_ms)
        reaped.append(run_id)
        log.warning("marked dead run %s FAILED (%s)", run_id, stale.reason)
    return reaped
