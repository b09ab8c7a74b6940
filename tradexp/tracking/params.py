"""Params and tags as MLflow takes them: flattened config keys, safe keys, and long values kept in full.

MLflow refuses a param value over 6000 characters and a tag value over 8000; Lightning's own logger
cuts at 250. tradexp never cuts silently: a long value is stored in full as a text artifact and the
param/tag holds its start plus a mark naming that artifact.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional

__all__ = ["flatten_config", "safe_artifact_path", "param_key", "metric_key", "fit_value", "FittedValue", "LONG_VALUE_MARK"]

LONG_VALUE_MARK = " ...[cut: full value in artifact "
_MARK_ROOM = 200  # characters left for the mark at the end of a cut value


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to dotted keys, dropping jsonargparse's `init_args` level.

    `{"model": {"net": {"class_path": "X", "init_args": {"hidden_size": 8}}}}` becomes
    `{"model.net.class_path": "X", "model.net.hidden_size": 8}`.
    """
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = prefix if key == "init_args" else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, Mapping) and value:
            flat.update(flatten_config(value, name))
        else:
            flat[name] = value
    return flat


def safe_artifact_path(path: str) -> str:
    """A relative artifact path that cannot leave the run's folder (no absolute path, no `..`).

    Raises:
        ValueError: For an absolute path or one with a `..` segment.
    """
    parts = str(path).replace("\\", "/").split("/")
    if str(path).startswith(("/", "\\")) or ".." in parts or not str(path).strip() or ":" in parts[0]:
        raise ValueError(f"artifact path `{path}` must be relative and stay inside the run (no `..`, no absolute path)")
    return "/".join(p for p in parts if p not in ("", "."))


def param_key(key: Any) -> str:
    """A param or tag key MLflow accepts (other characters become `_`)."""
    return re.sub(r"[^A-Za-z0-9_/. -]+", "_", str(key))


def metric_key(key: str) -> str:
    """A metric key MLflow accepts (other characters are dropped)."""
    return re.sub(r"[^a-zA-Z0-9_/. -]+", "", key)


def _file_name(key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", key).lstrip(".") or "value"


class FittedValue(NamedTuple):
    """A value as it is stored: `text` within MLflow's limit, and the artifact holding it in full when cut."""

    text: str
    artifact: Optional[str]


def fit_value(key: str, text: str, limit: int, folder: str) -> FittedValue:
    """`text` unchanged when it fits in `limit` characters; else its start, a mark, and the artifact
    path (`<folder>/<key>.txt`) where the caller stores the full value."""
    if len(text) <= limit:
        return FittedValue(text, None)
    artifact = f"{folder}/{_file_name(key)}.txt"
    return FittedValue(text[: limit - _MARK_ROOM] + LONG_VALUE_MARK + artifact + "]", artifact)
