"""Where runs are stored: the tracking URI, the artifact root, experiments, and safe first opening."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
from pathlib import Path
from typing import Iterator, Optional

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

__all__ = ["resolve_tracking_uri", "artifact_root", "open_store", "ensure_experiment", "is_local_store", "sqlite_path"]

log = logging.getLogger(__name__)


def resolve_tracking_uri(uri: Optional[str] = None) -> str:
    """The tracking URI: `uri`, else `MLFLOW_TRACKING_URI`, else `sqlite:///<cwd>/mlflow.db`.

    Read when called, never at import. A plain path or a relative sqlite URI is made absolute so
    that worker processes started elsewhere open the same store.
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    if chosen.startswith("sqlite:///") and not chosen.startswith("sqlite:////"):
        chosen = "sqlite:///" + str(Path(chosen[len("sqlite:///") :]).resolve())
    elif "://" not in chosen:
        raise ValueError(
            f"tracking URI `{chosen}` has no scheme; use `sqlite:///path/mlflow.db`, `http://host:5000` or `postgresql://...`"
        )
    return chosen


def sqlite_path(uri: str) -> Optional[Path]:
    """The database file of a `sqlite:///` URI, else None."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def is_local_store(uri: str) -> bool:
    """True for stores whose artifacts tradexp places itself (sqlite, file); False for servers."""
    return uri.startswith(("sqlite:", "file:"))


def artifact_root() -> Path:
    """Local artifact root `./mlartifacts` (absolute), used for experiments created in local stores."""
    return Path(os.environ.get("TRADEXP_ARTIFACT_ROOT", "mlartifacts")).resolve()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_store(uri: Optional[str] = None) -> MlflowClient:
    """Return a client for the store, creating (migrating) a fresh sqlite file under a file lock.

    Several processes opening the same fresh sqlite file at once otherwise race on the schema
    migration; the lock makes the first one migrate and the others wait.
    """
    uri = resolve_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is None:
        return MlflowClient(uri)
    with _file_lock(db.with_name(db.name + ".lock")):
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # runs the migrations while we hold the lock
    return client


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
        raise MlflowException(
            f"experiment `{name}` is deleted; restore it (`mlflow experiments restore`) or choose another name"
        )
    location = (artifact_root() / _slug(name)).as_uri() if is_local_store(uri) else None
    try:
        return client.create_experiment(name, artifact_location=location)
    except MlflowException:
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return again.experiment_id
