"""Where runs are stored: the tracking URI, the artifact root, experiments, and safe first opening."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Optional

from filelock import FileLock
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tradexp.tracking.server import quiet_credentialed_urls
from tradexp.tracking.store_uri import resolve_tracking_uri, sqlite_path

__all__ = ["resolve_tracking_uri", "artifact_root", "open_store", "ensure_experiment", "is_local_store", "sqlite_path", "file_lock"]

log = logging.getLogger(__name__)


def file_lock(path: Path) -> FileLock:
    """An exclusive lock between processes on `<path>.lock` (the folder is created): `with file_lock(db): ...`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_name(path.name + ".lock")))


def is_local_store(uri: str) -> bool:
    """True for stores whose artifacts tradexp places itself (sqlite, file); False for servers."""
    return uri.startswith(("sqlite:", "file:"))


def artifact_root() -> Path:
    """Local artifact root `./mlartifacts` (absolute), used for experiments created in local stores."""
    return Path(os.environ.get("TRADEXP_ARTIFACT_ROOT", "mlartifacts")).resolve()


def open_store(uri: Optional[str] = None) -> MlflowClient:
    """Return a client for the store, creating (migrating) a fresh sqlite file under a file lock.

    Several processes opening the same fresh sqlite file at once otherwise race on the schema
    migration; the lock makes the first one migrate and the others wait.
    """
    uri = resolve_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is None:
        quiet_credentialed_urls(uri)  # MLflow would print the run's link with the password
        return MlflowClient(uri)
    known = _migrated_file(db)
    if known is not None and known in _MIGRATED:  # this process saw this very file migrated already
        return MlflowClient(uri)
    with file_lock(db):
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # runs the migrations while we hold the lock
    migrated = _migrated_file(db)
    if migrated is not None:
        _MIGRATED.add(migrated)
    return client


# (path, inode) of the sqlite files `open_store` migrated or found migrated in this process: each fit,
# trial and fold opens the store, and a second lock + query per open costs ~10 ms. A file deleted
# and created again has a new inode and is checked again.
_MIGRATED: set[tuple[str, int]] = set()


def _migrated_file(db: Path) -> Optional[tuple[str, int]]:
    try:
        return (str(db.resolve()), db.stat().st_ino)
    except OSError:
        return None


def list_run_artifacts(client: MlflowClient, run: Any, path: Optional[str] = None) -> list[Any]:
    """`client.list_artifacts(run_id, path)` for a run already read (`client.get_run`).

    MLflow 3's client lists through a `runs:/` URI, which reads the run again and searches its
    logged models (~25 ms on sqlite); a run whose artifacts are local files is listed straight from
    its artifact URI instead. Other stores (a server's `mlflow-artifacts:`) go through the client.
    """
    uri = run.info.artifact_uri or ""
    if uri.startswith("file:"):
        from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository

        return LocalArtifactRepository(uri).list_artifacts(path)
    return client.list_artifacts(run.info.run_id, path)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "experiment"


def ensure_experiment(client: MlflowClient, name: str, uri: str) -> str:
    """Id of the experiment `name`, created if needed (artifacts under `./mlartifacts/<name>` locally).

    Safe when several processes create the same experiment at once.
    """
    existing = client.get_experiment_by_name(name)
    if existing is not None and existing.lifecycle_stage != "deleted":
        return existing.experiment_id
    if existing is not None:
        raise MlflowException(f"experiment `{name}` is deleted; restore it (`mlflow experiments restore`) or choose another name")
    location = (artifact_root() / _slug(name)).as_uri() if is_local_store(uri) else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id
