"""One copy of each checkpoint: the local file goes once the run's `checkpoints/` artifact holds it.

`TradexpLogger` uploads the best and last checkpoints to the run (`checkpoints/best.ckpt`,
`checkpoints/last.ckpt`) when the run ends. At the end of a fit (after the test of the best
checkpoint and the logged model) `release_local_checkpoints` removes each local file whose stored
copy has the same size, except the `last.ckpt` of a RUNNING or KILLED run (what `--ckpt_path last`
resumes from). A pruned or failed HPO trial keeps no checkpoint at all (`discard_checkpoints`): the
study never loads one. `restore_checkpoint` brings a released checkpoint back from the store to its
local path, so `tradexp fit --ckpt_path last` (or the released path) still resumes.

`tracking.keep_local_checkpoints: true` keeps every local copy.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Optional

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from tradexp.tracking.logger import TradexpLogger
from tradexp.tracking.store import list_run_artifacts

__all__ = ["release_local_checkpoints", "discard_checkpoints", "restore_checkpoint", "newest_stored_last", "RESUMABLE_STATUSES"]

log = logging.getLogger(__name__)

# A run in one of these can still be continued from its `last.ckpt`.
RESUMABLE_STATUSES = ("RUNNING", "KILLED")
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_CHECKPOINT_TAGS = ("tradexp.checkpoint.best", "tradexp.checkpoint.last")


def _logger(trainer: Any) -> Optional[TradexpLogger]:
    logger = next((lg for lg in trainer.loggers if isinstance(lg, TradexpLogger)), None)
    return logger if logger is not None and logger.run_id is not None else None


def _remove_empty(folder: Path) -> None:
    """Remove `.../<run_id>/checkpoints` when empty, then the run's folder when that is empty too."""
    for path in (folder, folder.parent):
        if not path.is_dir() or any(path.iterdir()):
            return
        path.rmdir()


def release_local_checkpoints(trainer: Any) -> list[Path]:
    """Remove the local checkpoints of the trainer's run that its `checkpoints/` artifacts hold.

    A file goes only when the stored copy has the same size; the `last.ckpt` of a RUNNING or KILLED
    run stays (resume). Nothing happens without a `TradexpLogger`, off rank zero, or with
    `keep_local_checkpoints`.

    Returns:
        The files removed.
    """
    logger = _logger(trainer)
    if logger is None or logger.keep_local_checkpoints or not trainer.is_global_zero:
        return []
    client = logger.experiment
    try:
        run = client.get_run(logger.run_id)
        resumable = run.info.status in RESUMABLE_STATUSES
        stored = {a.path: a.file_size for a in list_run_artifacts(client, run, "checkpoints")}
    except Exception as exc:  # the store is out of reach (a spooled run): the local copies are the only ones
        log.warning("kept the local checkpoints of run %s: could not check the stored copies: %s", logger.run_id, exc)
        return []
    removed = []
    for local, artifact in logger.stored_checkpoints.items():
        path = Path(local)
        if resumable and artifact == "checkpoints/last.ckpt":
            continue
        if path.is_file() and not path.is_symlink() and stored.get(artifact) == path.stat().st_size:
            path.unlink()
            removed.append(path)
    for folder in {p.parent for p in removed}:
        _remove_empty(folder)
    if removed:
        log.info("removed %d local checkpoint(s) held by run %s: %s", len(removed), logger.run_id, ", ".join(p.name for p in removed))
    return removed


def discard_checkpoints(trainer: Any) -> list[Path]:
    """Drop every checkpoint of a pruned or failed HPO trial, local files and stored artifacts.

    A trial whose run is RUNNING or KILLED (a stopped worker, to be retried) keeps them.

    Returns:
        The local files removed.
    """
    logger = _logger(trainer)
    if logger is None or logger.keep_local_checkpoints or not trainer.is_global_zero:
        return []
    client = logger.experiment
    try:
        run = client.get_run(logger.run_id)
    except Exception as exc:  # the store is out of reach: keep everything
        log.warning("kept the checkpoints of run %s: could not read the run: %s", logger.run_id, exc)
        return []
    if run.info.status in RESUMABLE_STATUSES:
        return []
    removed = []
    folders = {Path(p).parent for p in logger.stored_checkpoints}
    folders |= {Path(c.dirpath) for c in trainer.checkpoint_callbacks if getattr(c, "dirpath", None)}
    for folder in folders:
        for path in folder.glob("*.ckpt") if folder.is_dir() else ():
            path.unlink()
            removed.append(path)
        _remove_empty(folder)
    if list_run_artifacts(client, run, "checkpoints"):
        get_artifact_repository(run.info.artifact_uri).delete_artifacts("checkpoints")
    for key in _CHECKPOINT_TAGS:
        if key in run.data.tags:
            client.delete_tag(logger.run_id, key)
    return removed


def newest_stored_last(client: MlflowClient, experiment_id: str) -> Optional[tuple[str, float]]:
    """(run id, end time in seconds) of the newest ended run of the experiment with a stored `last.ckpt`."""
    runs = client.search_runs([experiment_id], filter_string="tags.`tradexp.checkpoint.last` LIKE 'checkpoints/%'", order_by=["attributes.end_time DESC"], max_results=1)
    if not runs:
        return None
    info = runs[0].info
    return info.run_id, (info.end_time or info.start_time or 0) / 1000


def restore_checkpoint(client: MlflowClient, path: Path) -> bool:
    """Download a released checkpoint back to its local path `<save_dir>/<experiment_id>/<run_id>/checkpoints/NAME`.

    `last.ckpt` comes from the run's `checkpoints/last.ckpt`; another name from the stored role whose
    `tradexp.checkpoint.<role>` tag names it. Returns False when the path is not a run's checkpoint
    path or the store does not hold it.
    """
    run_id = path.parent.parent.name
    if path.is_file() or path.parent.name != "checkpoints" or not _RUN_ID.match(run_id):
        return False
    try:
        tags = client.get_run(run_id).data.tags
    except MlflowException:  # no such run in this store
        return False
    if path.name == "last.ckpt":
        artifact = "checkpoints/last.ckpt"
    else:
        roles = [key.rsplit(".", 1)[1] for key in _CHECKPOINT_TAGS if tags.get(key, "").endswith(f"({path.name})")]
        if not roles:
            return False
        artifact = f"checkpoints/{roles[0]}.ckpt"
    if artifact not in {a.path for a in client.list_artifacts(run_id, "checkpoints")}:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    downloaded = Path(client.download_artifacts(run_id, artifact, str(path.parent.parent)))
    if downloaded.resolve() != path.resolve():
        downloaded.replace(path)
    log.info("restored %s from run %s (%s)", path, run_id, artifact)
    return True
