"""Read a run's artifact files: straight from a local artifact folder, else downloaded from the store."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlparse
from urllib.request import url2pathname

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["local_artifact_path", "local_artifact_root", "read_artifacts", "read_artifact"]

log = logging.getLogger(__name__)


def local_artifact_path(artifact_uri: str) -> Optional[Path]:
    """The folder a `file://` artifact location names (it may not exist yet), else None."""
    if not artifact_uri.startswith("file:"):
        return None
    return Path(url2pathname(urlparse(artifact_uri).path))


def local_artifact_root(artifact_uri: str) -> Optional[Path]:
    """The folder of a `file://` artifact location (read directly: no copy, no progress bars), else None."""
    root = local_artifact_path(artifact_uri)
    return root if root is not None and root.is_dir() else None


def read_artifacts(client: "MlflowClient", run_id: str, paths: Iterable[str], artifact_uri: Optional[str] = None, *, warn: bool = True) -> dict[str, bytes]:
    """`{path: content}` of the artifact files `paths` of a run; a file that cannot be read is left out.

    Args:
        client: Client of the run's store.
        run_id: The run.
        paths: Artifact paths inside the run (`config/config.yaml`).
        artifact_uri: The run's artifact location when the caller has it (saves one request).
        warn: Log a warning for each file that cannot be read (else at debug level: the caller
            treats a missing file as normal).
    """
    paths = list(paths)
    if artifact_uri is None:
        artifact_uri = client.get_run(run_id).info.artifact_uri
    say = log.warning if warn else log.debug
    files: dict[str, bytes] = {}
    root = local_artifact_root(artifact_uri or "")
    if root is not None:
        for path in paths:
            try:
                files[path] = (root / path).read_bytes()
            except OSError as err:
                say("run %s: could not read artifact `%s`: %s", run_id, path, err)
        return files
    from mlflow.exceptions import MlflowException  # only for artifacts that are not in a local folder

    with tempfile.TemporaryDirectory(prefix="tradexp-artifacts-") as tmp:
        for path in paths:
            try:
                files[path] = Path(client.download_artifacts(run_id, path, tmp)).read_bytes()
            except (MlflowException, OSError) as err:
                say("run %s: could not read artifact `%s`: %s", run_id, path, err)
    return files


def read_artifact(client: "MlflowClient", run_id: str, path: str, artifact_uri: Optional[str] = None) -> Optional[bytes]:
    """The content of one artifact file of a run, or None when it does not exist or cannot be read."""
    return read_artifacts(client, run_id, [path], artifact_uri, warn=False).get(path)
