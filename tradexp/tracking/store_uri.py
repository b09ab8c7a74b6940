"""Which store a URI names: the tracking URI made absolute, the file of a sqlite URL (no MLflow import)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

__all__ = ["resolve_tracking_uri", "sqlite_path"]


def resolve_tracking_uri(uri: Optional[str] = None) -> str:
    """The tracking URI: `uri`, else `MLFLOW_TRACKING_URI`, else `sqlite:///<cwd>/mlflow.db`.

    Read when called, never at import. A plain path or a relative sqlite URI is made absolute so
    that worker processes started elsewhere open the same store.
    """
    chosen = uri or os.environ.get("MLFLOW_TRACKING_URI") or "sqlite:///mlflow.db"
    db = sqlite_path(chosen)
    if db is not None and not db.is_absolute():
        chosen = chosen.replace(f"///{db}", f"///{db.resolve()}", 1)
    elif "://" not in chosen:
        raise ValueError(f"tracking URI `{chosen}` has no scheme; use `sqlite:///path/mlflow.db`, `http://host:5000` or `postgresql://...`")
    return chosen


def sqlite_path(uri: str) -> Optional[Path]:
    """The database file of a sqlite URL (MLflow or Optuna store), else None.

    `sqlite:///rel.db` -> `rel.db`, `sqlite:////abs/x.db` -> `/abs/x.db`, a driver (`sqlite+pysqlite`)
    and a query (`?timeout=60`) allowed; None for another scheme and for an in-memory database.
    """
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme.split("+", 1)[0] != "sqlite" or not rest.startswith("/"):
        return None
    database = rest[1:].split("?", 1)[0]
    if not database or database == ":memory:":
        return None
    return Path(database)
