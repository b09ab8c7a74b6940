"""Find runs whose process died without ending them (SIGKILL, power loss) and mark them FAILED.

Two rules, for RUNNING runs started by `TradexpLogger` (they carry a heartbeat tag):
- a run made on THIS host (same host name and, on Linux, the same process-id namespace, so a
  container sharing the host's name is not mistaken for it) is judged by its process: gone (or its
  id now taken by a process that started at another time) -> FAILED at once, "process 1234 on host
  X is gone"; alive -> never reaped, however old its heartbeat;
- a run of another host (or one whose process start time is unknown while its id is taken) is
  FAILED once its heartbeat is older than `stale_after` seconds.
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

__all__ = ["find_stale_runs", "reap_stale_runs", "process_tags", "DEFAULT_STALE_AFTER_S", "HOST_TAG", "PID_TAG", "PID_NAMESPACE_TAG", "PROCESS_START_TAG"]

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 180.0
HOST_TAG = "tradexp.host"
PID_TAG = "tradexp.pid"
PID_NAMESPACE_TAG = "tradexp.pid_namespace"
PROCESS_START_TAG = "tradexp.process_start"  # clock ticks after boot (Linux): tells a reused process id apart


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")  # e.g. `pid:[4026531836]`
    except OSError:
        return ""


def _process_start(pid: int) -> Optional[str]:
    """When process `pid` started (clock ticks after boot, `/proc/<pid>/stat` field 22), else None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[-1].split()  # after `pid (command name)`: field 3 onwards
    return fields[19] if len(fields) > 19 else None


def process_tags() -> dict[str, str]:
    """Where this process runs: `tradexp.host`, `tradexp.pid` and (Linux) `tradexp.pid_namespace`,
    `tradexp.process_start`."""
    tags = {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}
    namespace = _pid_namespace()
    if namespace:
        tags[PID_NAMESPACE_TAG] = namespace
    started = _process_start(os.getpid())
    if started:
        tags[PROCESS_START_TAG] = started
    return tags


def _process_state(pid: int, started: Optional[str]) -> Optional[bool]:
    """True: the run's process is alive; False: it is gone; None: cannot tell (id taken, start unknown)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process holds the id: judge it by its start time below
        pass
    status = Path(f"/proc/{pid}/status")
    try:
        state = next((line for line in status.read_text().splitlines() if line.startswith("State:")), "")
        if state.split(":", 1)[-1].split()[:1] == ["Z"]:  # exited, not yet waited for
            return False
    except OSError:
        pass
    now_started = _process_start(pid)
    if started and now_started:
        return now_started == started  # a different start time: the id was reused, the run's process is gone
    return None


class StaleRun(NamedTuple):
    """A RUNNING run found dead, and why."""

    run: Run
    reason: str
    error: str
    end_time_ms: int


def _local_verdict(run: Run, here: dict[str, str]) -> tuple[Optional[bool], str]:
    """(alive?, reason) for a run made on this host: True alive, False gone, None not local or unknown."""
    tags = run.data.tags
    if tags.get(HOST_TAG) != here[HOST_TAG] or tags.get(PID_NAMESPACE_TAG, "") != here.get(PID_NAMESPACE_TAG, ""):
        return None, ""
    try:
        pid = int(tags.get(PID_TAG, ""))
    except ValueError:
        return None, ""
    if pid <= 0:
        return None, ""
    return _process_state(pid, tags.get(PROCESS_START_TAG)), f"process {pid} on host {here[HOST_TAG]} is gone"


def _classify(runs: Sequence[Run], stale_after: float, now: float) -> list[StaleRun]:
    here = process_tags()
    found = []
    for run in runs:
        beat = run.data.tags.get(HEARTBEAT_TAG)
        if beat is None:  # not started by tradexp: left alone
            continue
        last = float(beat)
        alive, gone = _local_verdict(run, here)
        if alive is True:  # its process runs on this host: a late heartbeat is no reason to end it
            continue
        if alive is False:
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
