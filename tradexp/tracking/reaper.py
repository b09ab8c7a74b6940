"""Find runs whose process died without ending them (SIGKILL, power loss) and mark them FAILED."""

from __future__ import annotations

import datetime as _dt
import logging
import time
from typing import Optional, Sequence

from mlflow import MlflowClient
from mlflow.entities import ViewType

from tradexp.tracking.heartbeat import HEARTBEAT_TAG

__all__ = ["find_stale_runs", "reap_stale_runs", "DEFAULT_STALE_AFTER_S"]

log = logging.getLogger(__name__)

DEFAULT_STALE_AFTER_S = 180.0


def find_stale_runs(client: MlflowClient, experiment_ids: Optional[Sequence[str]] = None, stale_after: float = DEFAULT_STALE_AFTER_S, now: Optional[float] = None):
    """RUNNING tradexp runs whose last heartbeat is older than `stale_after` seconds.

    Runs without a heartbeat tag (not started by tradexp) are left alone.
    """
    now = time.time() if now is None else now
    if experiment_ids is None:
        experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiment_ids:
        return []
    stale = []
    for run in client.search_runs(list(experiment_ids), filter_string="attributes.status = 'RUNNING'", max_results=5000):
        beat = run.data.tags.get(HEARTBEAT_TAG)
        if beat is None:
            continue
        if now - float(beat) > stale_after:
            stale.append(run)
    return stale


def reap_stale_runs(client: MlflowClient, experiment_ids: Optional[Sequence[str]] = None, stale_after: float = DEFAULT_STALE_AFTER_S) -> list[str]:
    """Mark stale RUNNING runs FAILED with the reason recorded; returns their run ids.

    The end time is the last heartbeat (the last moment the process was known alive).
    """
    reaped = []
    for run in find_stale_runs(client, experiment_ids, stale_after):
        last = float(run.data.tags[HEARTBEAT_TAG])
        when = _dt.datetime.fromtimestamp(last, _dt.timezone.utc).isoformat(timespec="seconds")
        client.set_tag(run.info.run_id, "tradexp.status_reason", f"stale: no heartbeat since {when} (process killed or lost)")
        client.set_tag(run.info.run_id, "tradexp.error", f"run reaped: heartbeat older than {stale_after:.0f} s")
        client.set_terminated(run.info.run_id, "FAILED", end_time=int(last * 1000))
        reaped.append(run.info.run_id)
        log.warning("marked stale run %s FAILED (last heartbeat %s)", run.info.run_id, when)
    return reaped
