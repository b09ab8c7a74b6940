"""Configuration history: the resolved config every run stores, read back and compared.

Each run made by `tradexp fit` stores its fully resolved config as `config/config.yaml`. This
module reads it back (`run_config`) and tells what changed between two configs (`diff_configs`):
nested keys as dotted paths, lists element by element when they keep their length.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Mapping

import yaml

from callbacks.redaction import strip_credentials
from tradexp.errors import TrackingError
from tradexp.tracking.artifacts import read_artifact
from tradexp.tracking.sqlite_runs import SqliteRuns

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["ConfigChange", "diff_configs", "run_config", "get_run", "CONFIG_ARTIFACT"]

CONFIG_ARTIFACT = "config/config.yaml"
_MISSING = object()


@dataclass(frozen=True)
class ConfigChange:
    """One difference between two configs.

    Attributes:
        path: Dotted key, list items as `[i]`: `model.net.init_args.hidden_size`, `data.features[2]`.
        kind: `changed`, `added` (only in the second) or `removed` (only in the first).
        before: Value in the first config (None when added).
        after: Value in the second config (None when removed).
    """

    path: str
    kind: Literal["changed", "added", "removed"]
    before: Any = None
    after: Any = None


def _walk(a: Any, b: Any, path: str, out: list[ConfigChange]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in list(a) + [k for k in b if k not in a]:
            child = f"{path}.{key}" if path else str(key)
            _walk(a.get(key, _MISSING), b.get(key, _MISSING), child, out)
    elif a is _MISSING:
        out.append(ConfigChange(path, "added", None, b))
    elif b is _MISSING:
        out.append(ConfigChange(path, "removed", a, None))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for position, (item_a, item_b) in enumerate(zip(a, b)):
            _walk(item_a, item_b, f"{path}[{position}]", out)
    elif a != b or type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        out.append(ConfigChange(path, "changed", a, b))


def diff_configs(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[ConfigChange]:
    """What changed from `first` to `second`, in the order keys appear in the configs.

    Args:
        first: A resolved config (nested dict), e.g. from `run_config`.
        second: Another one.

    Returns:
        One ConfigChange per changed, added or removed leaf (a whole subtree when only one side has it).
    """
    changes: list[ConfigChange] = []
    _walk(first, second, "", changes)
    return changes


def get_run(client: "MlflowClient | SqliteRuns", run_id: str) -> Any:
    """The MLflow run `run_id`, or a TrackingError naming the store and how to find run ids.

    Args:
        client: A client of the store, or the `SqliteRuns` reader of a local sqlite store.
        run_id: The run.
    """

    def missing() -> TrackingError:
        return TrackingError(f"run `{run_id}` is not in the store {strip_credentials(client.tracking_uri)}; `tradexp runs` lists the runs there (or set MLFLOW_TRACKING_URI)")

    if isinstance(client, SqliteRuns):
        run = client.get_run(run_id)
        if run is None:
            raise missing()
        return run
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            raise missing() from None
        raise


def run_config(client: "MlflowClient | SqliteRuns", run_id: str) -> dict[str, Any]:
    """The resolved config a run stored as `config/config.yaml` (`client`: as for `get_run`).

    Raises:
        TrackingError: The run does not exist or has no stored config.
    """
    run = get_run(client, run_id)
    text = read_artifact(client, run_id, CONFIG_ARTIFACT, run.info.artifact_uri)
    if text is None:
        raise TrackingError(f"run `{run_id}` has no `{CONFIG_ARTIFACT}`; only runs made by `tradexp fit` (or the tradexp API) store their config")
    return yaml.safe_load(text.decode()) or {}
