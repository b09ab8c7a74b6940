"""What changed between two configs, given as run ids (their stored config) or resolved config dicts."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from tradexp.config.history import ConfigChange, diff_configs as _diff, run_config
from tradexp.tracking.store import open_store

__all__ = ["diff_configs"]


def diff_configs(run_a: Union[str, Mapping[str, Any]], run_b: Union[str, Mapping[str, Any]], tracking_uri: Optional[str] = None) -> list[ConfigChange]:
    """The changes from `run_a` to `run_b`, like `tradexp config diff`.

    Args:
        run_a: A run id or a resolved config dict.
        run_b: A run id or a resolved config dict.
        tracking_uri: Store of the runs (default `MLFLOW_TRACKING_URI`, else `./mlflow.db`).

    Returns:
        A list of `ConfigChange(path, kind, before, after)`; kind is changed/added/removed.
    """
    client = None
    sides = []
    for side in (run_a, run_b):
        if isinstance(side, Mapping):
            sides.append(side)
        else:
            client = client or open_store(tracking_uri)
            sides.append(run_config(client, side))
    return _diff(sides[0], sides[1])
