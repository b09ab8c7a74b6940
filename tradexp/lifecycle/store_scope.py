"""Point MLflow's process-wide tracking URI at a store for one block, and put everything back after.

`Model.log` and `mlflow.pyfunc.load_model("models:/...")` read the store from MLflow's global state;
`mlflow.set_tracking_uri` also writes `MLFLOW_TRACKING_URI` into the environment. This scope restores
both exactly as they were, so logging a model never redirects the caller's later MLflow calls.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import mlflow
from mlflow.tracking._tracking_service import utils as _tracking_utils

__all__ = ["tracking_uri_scope"]

_ENV = "MLFLOW_TRACKING_URI"


@contextmanager
def tracking_uri_scope(uri: str) -> Iterator[None]:
    """Use `uri` as MLflow's tracking URI inside the block."""
    env_before = os.environ.get(_ENV)
    # The explicitly set URI, not the environment's: MLflow has no public getter that tells them apart
    # (`is_tracking_uri_set` is also true for the variable alone), and restoring the variable's value
    # as an explicit setting would pin this process to that store for good.
    explicit_before = _tracking_utils._tracking_uri
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(explicit_before)  # None: back to "not set" (MLflow unsets the variable)
        if env_before is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = env_before
